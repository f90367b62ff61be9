/**
 * Messages between the extension host and the webview: typed descriptors with a method name, a payload type, a type
 * guard and the direction. The host owns the state; the webview renders what it is sent. Pure.
 */
import type { SuggestionName } from './analysis';
import type { MarkRow, PointRow, TangentRow } from './chartSpec';

/** What can be picked or marked: a suggestion read off the curve, or the LR Verify measured. */
export type PickName = SuggestionName | 'verified';

export interface SuggestionView {
  name: PickName;
  label: string;
  lr?: number;
  /** LR as it would be written (rounded). */
  text?: string;
  explanation: string;
  recommended: boolean;
  /** Spread across repeated sweeps, e.g. "runs 2.1e-3 … 4.5e-3". */
  spread?: string;
}

export interface SweepView {
  /** Shown above the chart: config name, model and data. */
  title: string;
  subtitle: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  statusText: string;
  rows: PointRow[];
  marks: MarkRow[];
  tangent: TangentRow[];
  yDomain?: [number, number];
  /** The sweep's LR range: the x axis is fixed to it so that the live curve grows into a stable frame. */
  xDomain?: [number, number];
  showValidation: boolean;
  /** Repeated sweeps: rows carry lo/hi, the band the runs' smoothed losses span. */
  showBand?: boolean;
  suggestions: SuggestionView[];
  /** Where a picked LR will be written, e.g. "train.py (lr literal)". */
  target: string;
  digits: number;
  /** Verify: what it will cost (shown before it runs), its progress, and its result. */
  verify?: VerifyView;
  /** Opaque to the webview: it keeps this with vscode.setState so that a reload can restore the panel. */
  persist?: unknown;
}

/** One candidate in the panel's small chart: held-out loss against max LR, with the seeds' spread. */
export interface VerifyRow {
  lr: number;
  loss: number | null;
  lo: number | null;
  hi: number | null;
  best: boolean;
  diverged: boolean;
  label: string;
}

export interface VerifyView {
  /** `ready`: can run (the budget shows); `running`, `done`, `failed`, `cancelled`. */
  status: 'ready' | 'running' | 'done' | 'failed' | 'cancelled';
  /** "5 to 8 trainings of 250 steps: …" */
  budget: string;
  /** Progress while running, the one-sentence result when done, or why it failed. */
  text: string;
  rows: VerifyRow[];
  /** The verified LR (done, or the best so far of a cancelled run). */
  lr?: number;
  lrText?: string;
}

interface Descriptor<M extends string, P> {
  readonly method: M;
  /** Type guard for an incoming message. */
  is(m: unknown): m is { method: M; params: P };
  /** Build an outgoing message. */
  make(params: P): { method: M; params: P };
}

function message<M extends string, P>(method: M): Descriptor<M, P> {
  return {
    method,
    is: (m: unknown): m is { method: M; params: P } => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === method,
    make: (params: P) => ({ method, params }),
  };
}

// host -> webview
/** The whole state: sent on `ready` and when a sweep starts or ends. */
export const SnapshotMessage = message<'snapshot', SweepView>('snapshot');
/** New live points (batched, about every 100 ms). */
export const PointsMessage = message<'points', { rows: PointRow[]; statusText: string; showValidation: boolean }>('points');
/** The LR the user picked was written (or not). */
export const PickResultMessage = message<'pickResult', { ok: boolean; text: string }>('pickResult');

// webview -> host
/** The webview's listeners are attached; send the snapshot. */
export const ReadyMessage = message<'ready', Record<string, never>>('ready');
/** The user clicked the plot or a suggestion. */
export const PickMessage = message<'pick', { lr: number; source: 'plot' | 'suggestion'; name?: PickName }>('pick');
/** Verify the LR: train the candidates around the recommendation (core/verify.ts). */
export const VerifyMessage = message<'verify', Record<string, never>>('verify');
/** Stop the running sweep. */
export const StopMessage = message<'stop', Record<string, never>>('stop');
/** Run the sweep again on the same config (`repeats` times with different seeds, for "Repeat ×3"). */
export const RerunMessage = message<'rerun', { repeats?: number }>('rerun');
/** Save the plot (svg/png, rendered by the webview) or the curve (csv/json, from the host's state). */
export const ExportMessage = message<'export', { format: 'svg' | 'png' | 'csv' | 'json'; data?: string }>('export');
