/**
 * Messages between the extension host and the webview: typed descriptors with a method name, a payload type, a type
 * guard and the direction. The host owns the state; the webview renders what it is sent. Pure.
 */
import type { SuggestionName } from './analysis';
import type { MarkRow, PointRow, TangentRow } from './chartSpec';

export interface SuggestionView {
  name: SuggestionName;
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
  /** Opaque to the webview: it keeps this with vscode.setState so that a reload can restore the panel. */
  persist?: unknown;
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
export const PickMessage = message<'pick', { lr: number; source: 'plot' | 'suggestion'; name?: SuggestionName }>('pick');
/** Stop the running sweep. */
export const StopMessage = message<'stop', Record<string, never>>('stop');
/** Run the sweep again on the same config (`repeats` times with different seeds, for "Repeat ×3"). */
export const RerunMessage = message<'rerun', { repeats?: number }>('rerun');
/** Save the plot (svg/png, rendered by the webview) or the curve (csv/json, from the host's state). */
export const ExportMessage = message<'export', { format: 'svg' | 'png' | 'csv' | 'json'; data?: string }>('export');
