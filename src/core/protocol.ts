/**
 * The sweep protocol: versioned JSON lines, one event per line, from the engine (child process) to any front end.
 * Documented in docs/protocol.md; JSON Schema in schemas/protocol.schema.json.
 * Pure: no Node, no vscode.
 */
import type { Verified } from './verify';

export const PROTOCOL_VERSION = 2;
/** Versions this reader understands: 1 (tfjs engine only, no `engine`, no `report`) and 2. */
export const SUPPORTED_PROTOCOLS: readonly number[] = [1, 2];

/** A loss value on the wire: a JSON number, or one of these strings (JSON has no NaN/Infinity); null means NaN. */
export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity' | null;

export type EndReason = 'completed' | 'diverged' | 'non-finite' | 'cancelled';

/** The sweep settings an engine actually uses (every engine sends them in its hello). */
export interface EngineSettings {
  startLr: number;
  endLr: number;
  numIter: number;
  mode: 'exponential' | 'linear';
  stopFactor: number;
  smoothing: number;
}

/** The tfjs engine's summary of a training config (its hello's `config`, beside the settings). */
export interface ConfigSummary extends EngineSettings {
  configPath: string;
  model: string;
  parameters: number;
  dataset: string;
  samples: number;
  validationSamples: number;
  loss: string;
  optimizer: string;
  batchSize: number;
  seed: number;
}

/** One optimizer the script built, with its param groups' LRs as constructed (the values the script was given). */
export interface ScriptOptimizer {
  class: string;
  module: string;
  groups: { lr: number | null; params: number; maxLr?: number }[];
}

/** The script engine's summary: what ran and with what. */
export interface ScriptSummary {
  python: string;
  argv: string[];
  module?: string | null;
  cwd: string;
  torch?: string | null;
  device: string;
  optimizers: ScriptOptimizer[];
  /** The script's argparse options as parsed. */
  options: { option: string; dest: string; default: unknown; value: unknown }[];
  /** Workspace files the script read before its first step (relative to the workspace folder): where an LR may come from. */
  filesRead: string[];
  /** Under a launcher (torchrun, srun): every rank swept, each step's loss is the mean over the ranks. */
  distributed?: { worldSize: number; backend: string | null; launcher: string | null; perRankBatch?: number; effectiveBatch?: number };
}

export type EngineName = 'tfjs' | 'torch';

/** engine -> front end, first line: who is speaking and what will be run. */
export interface HelloEvent {
  type: 'hello';
  protocol: number;
  /** Which engine: `tfjs` (a training config) or `torch` (the user's script). Absent in protocol 1: tfjs. */
  engine: EngineName | string;
  backend: string;
  backendReason: string;
  warnings: string[];
  /** The settings in use (every engine of ours sends all of them), and for the tfjs engine the config summary. */
  config: Partial<ConfigSummary>;
  /** The script engine's summary. */
  script?: ScriptSummary;
  /** A verify run (one candidate training, not a sweep): the max LR, the steps and the seed offset it trains with. */
  verify?: { lr: number; steps: number; seed: number };
}

/** engine -> front end, once per optimizer step. */
export interface PointEvent {
  type: 'point';
  iteration: number;
  lr: number;
  loss: number;
  valLoss?: number;
}

/** engine -> front end, last line of a sweep that ran. */
export interface EndEvent {
  type: 'end';
  reason: EndReason;
  points: number;
  seconds?: number;
  /** Script engine: GradScaler steps that skipped the optimizer step (inf/NaN gradients); not points. */
  skipped?: number;
}

/** engine -> front end, last line of a sweep that could not run or crashed. */
export interface ErrorEvent {
  type: 'error';
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** A machine-readable kind, e.g. `ended-early`, `no-step`, `no-loss`, `script-failed`, `no-torch`, `distributed`. */
  code?: string;
  /** Distributed runs: the rank that failed. */
  rank?: number;
}

/** engine -> front end, after the end (script engine): what was kept from touching the user's folder. */
export interface ReportEvent {
  type: 'report';
  /** Calls that were not allowed to run: `torch.save` to a path, `torch.load` of a workspace file. */
  blocked: { what: string; path: string }[];
  /** Files the script changed in the workspace and how each was put back (`restored`, `removed`, `recreated`). */
  restored: { path: string; action: string }[];
  /** Paths written outside the workspace: not undone. */
  outside: string[];
  notes: string[];
}

/**
 * runner -> front end, before the engine speaks: where a job that a cluster scheduler runs (Slurm's sbatch) is.
 * Not written by an engine. `pending`: queued (the first-step time limit waits); `running`: started (it starts).
 */
export interface StatusEvent {
  type: 'status';
  state: 'pending' | 'running' | string;
  /** The scheduler's job id. */
  job?: string;
  /** The scheduler's reason for the state, e.g. Slurm's `Resources`, `Priority`. */
  reason?: string;
  /** One line for people: "job 12 is waiting for resources". */
  message: string;
}

/**
 * engine -> front end, in a verify run (one short one-cycle training at max LR `lr`), before its end: the held-out
 * score. Its `point` events before it are the training's own steps (progress), not a range test.
 */
export interface CandidateEvent {
  type: 'candidate';
  lr: number;
  seed: number;
  steps: number;
  /** Held-out loss at the end of the training; +Infinity (`"Infinity"` on the wire) when it diverged. */
  loss: number;
  /** Mean training loss over the last 10% of its steps. */
  trainLoss?: number;
  diverged: boolean;
  /** `validation` (the config's own split), `held-out` (data the engine kept out of training), `training` (none). */
  signal: string;
  rows?: number;
  batches?: number;
  seconds?: number;
}

/** front end (the CLI's --json), after the sweep's events: the measured best of the candidates (core/verify.ts). */
export interface VerifiedEvent extends Verified {
  type: 'verified';
}

export type SweepEvent = HelloEvent | PointEvent | EndEvent | ErrorEvent | ReportEvent | StatusEvent | CandidateEvent | VerifiedEvent;

export type ParseResult = { ok: true; event: SweepEvent } | { ok: false; error: string };

const END_REASONS: readonly EndReason[] = ['completed', 'diverged', 'non-finite', 'cancelled'];

/** Encode a number so that non-finite values survive JSON. */
export function toWire(x: number): WireNumber {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? 'Infinity' : '-Infinity';
}

/** Decode a wire number; null, "NaN", "Infinity", "-Infinity" are accepted; anything else is undefined. */
export function fromWire(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null || v === 'NaN' || v === 'nan') return NaN;
  if (v === 'Infinity' || v === 'inf' || v === '+Infinity') return Infinity;
  if (v === '-Infinity' || v === '-inf') return -Infinity;
  return undefined;
}

/** Serialise an event as one line (no trailing newline). */
export function formatEvent(e: SweepEvent): string {
  if (e.type === 'point') {
    const o: Record<string, unknown> = { type: 'point', iteration: e.iteration, lr: e.lr, loss: toWire(e.loss) };
    if (e.valLoss !== undefined) o.valLoss = toWire(e.valLoss);
    return JSON.stringify(o);
  }
  if (e.type === 'candidate') {
    return JSON.stringify({ ...e, loss: toWire(e.loss), ...(e.trainLoss !== undefined ? { trainLoss: toWire(e.trainLoss) } : {}) });
  }
  if (e.type === 'verified') {
    return JSON.stringify({ ...e, candidates: e.candidates.map((c) => ({ ...c, losses: c.losses.map(toWire), loss: toWire(c.loss), spread: toWire(c.spread) })) });
  }
  return JSON.stringify(e);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Parse one line of the protocol. Never throws: a malformed line gives { ok: false, error } with a message that says
 * what was wrong and what was expected.
 */
export function parseEventLine(line: string): ParseResult {
  const text = line.trim();
  if (text === '') return { ok: false, error: 'empty line (expected one JSON object per line)' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message}): ${clip(text)}` };
  }
  if (!isObj(raw)) return { ok: false, error: `expected a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}: ${clip(text)}` };
  const bad = (what: string): ParseResult => ({ ok: false, error: `${String(raw && (raw as { type?: unknown }).type)} event: ${what}: ${clip(text)}` });
  switch (raw.type) {
    case 'hello': {
      if (typeof raw.protocol !== 'number') return bad('"protocol" must be a number');
      if (!SUPPORTED_PROTOCOLS.includes(raw.protocol)) return bad(`protocol version ${raw.protocol} is not supported (this reader speaks ${SUPPORTED_PROTOCOLS.join(' and ')})`);
      if (typeof raw.backend !== 'string') return bad('"backend" must be a string');
      if (!isObj(raw.config)) return bad('"config" must be an object');
      if (raw.engine !== undefined && typeof raw.engine !== 'string') return bad('"engine" must be a string');
      const c = raw.config;
      for (const k of ['startLr', 'endLr', 'numIter', 'stopFactor', 'smoothing'] as const) {
        if (c[k] !== undefined && (typeof c[k] !== 'number' || !Number.isFinite(c[k]))) return bad(`"config.${k}" must be a finite number`);
      }
      if (c.mode !== undefined && c.mode !== 'exponential' && c.mode !== 'linear') return bad('"config.mode" must be "exponential" or "linear"');
      if (raw.script !== undefined && !isObj(raw.script)) return bad('"script" must be an object');
      const warnings = Array.isArray(raw.warnings) ? raw.warnings.filter((w): w is string => typeof w === 'string') : [];
      const event: HelloEvent = {
        type: 'hello', protocol: raw.protocol, engine: typeof raw.engine === 'string' ? raw.engine : 'tfjs', backend: raw.backend,
        backendReason: typeof raw.backendReason === 'string' ? raw.backendReason : '', warnings,
        config: c as Partial<ConfigSummary>,
      };
      if (isObj(raw.script)) event.script = normalizeScript(raw.script);
      if (raw.verify !== undefined) {
        const v = raw.verify;
        if (!isObj(v) || !(typeof v.lr === 'number' && v.lr > 0) || !isNonNegInt(v.steps) || !isNonNegInt(v.seed)) {
          return bad('"verify" must be {"lr": a positive number, "steps": an integer, "seed": an integer}');
        }
        event.verify = { lr: v.lr, steps: v.steps, seed: v.seed };
      }
      return { ok: true, event };
    }
    case 'point': {
      if (!isNonNegInt(raw.iteration)) return bad('"iteration" must be a non-negative integer');
      if (typeof raw.lr !== 'number' || !(raw.lr > 0)) return bad('"lr" must be a positive number');
      const loss = fromWire(raw.loss);
      if (loss === undefined) return bad('"loss" must be a number, null, "NaN", "Infinity" or "-Infinity"');
      const event: PointEvent = { type: 'point', iteration: raw.iteration, lr: raw.lr, loss };
      if (raw.valLoss !== undefined) {
        const v = fromWire(raw.valLoss);
        if (v === undefined) return bad('"valLoss" must be a number, null, "NaN", "Infinity" or "-Infinity"');
        event.valLoss = v;
      }
      return { ok: true, event };
    }
    case 'end': {
      if (!END_REASONS.includes(raw.reason as EndReason)) return bad(`"reason" must be one of ${END_REASONS.join(', ')}`);
      if (!isNonNegInt(raw.points)) return bad('"points" must be a non-negative integer');
      const event: EndEvent = { type: 'end', reason: raw.reason as EndReason, points: raw.points };
      if (typeof raw.seconds === 'number') event.seconds = raw.seconds;
      if (isNonNegInt(raw.skipped)) event.skipped = raw.skipped;
      return { ok: true, event };
    }
    case 'error': {
      if (typeof raw.message !== 'string') return bad('"message" must be a string');
      const event: ErrorEvent = { type: 'error', message: raw.message };
      if (typeof raw.file === 'string') event.file = raw.file;
      if (isNonNegInt(raw.line)) event.line = raw.line;
      if (isNonNegInt(raw.column)) event.column = raw.column;
      if (typeof raw.code === 'string') event.code = raw.code;
      if (isNonNegInt(raw.rank)) event.rank = raw.rank;
      return { ok: true, event };
    }
    case 'report': {
      const list = <T>(v: unknown, ok: (x: unknown) => x is T): T[] => (Array.isArray(v) ? v.filter(ok) : []);
      const entry = (a: string, b: string) => (x: unknown): x is Record<string, string> => isObj(x) && typeof x[a] === 'string' && typeof x[b] === 'string';
      return {
        ok: true,
        event: {
          type: 'report',
          blocked: list(raw.blocked, entry('what', 'path')).map((x) => ({ what: x.what, path: x.path })),
          restored: list(raw.restored, entry('path', 'action')).map((x) => ({ path: x.path, action: x.action })),
          outside: list(raw.outside, (x): x is string => typeof x === 'string'),
          notes: list(raw.notes, (x): x is string => typeof x === 'string'),
        },
      };
    }
    case 'status': {
      if (typeof raw.state !== 'string') return bad('"state" must be a string');
      const event: StatusEvent = {
        type: 'status', state: raw.state, ...(typeof raw.job === 'string' ? { job: raw.job } : {}),
        ...(typeof raw.reason === 'string' ? { reason: raw.reason } : {}), message: typeof raw.message === 'string' ? raw.message : raw.state,
      };
      return { ok: true, event };
    }
    case 'candidate': {
      if (typeof raw.lr !== 'number' || !(raw.lr > 0)) return bad('"lr" must be a positive number');
      if (!isNonNegInt(raw.seed)) return bad('"seed" must be a non-negative integer');
      if (!isNonNegInt(raw.steps)) return bad('"steps" must be a non-negative integer');
      const loss = fromWire(raw.loss);
      if (loss === undefined) return bad('"loss" must be a number, null, "NaN", "Infinity" or "-Infinity"');
      if (typeof raw.diverged !== 'boolean') return bad('"diverged" must be true or false');
      if (typeof raw.signal !== 'string') return bad('"signal" must be a string (validation, held-out or training)');
      const trainLoss = fromWire(raw.trainLoss);
      const event: CandidateEvent = {
        type: 'candidate', lr: raw.lr, seed: raw.seed, steps: raw.steps, loss, diverged: raw.diverged, signal: raw.signal,
        ...(trainLoss !== undefined ? { trainLoss } : {}),
        ...(isNonNegInt(raw.rows) ? { rows: raw.rows } : {}), ...(isNonNegInt(raw.batches) ? { batches: raw.batches } : {}),
        ...(typeof raw.seconds === 'number' ? { seconds: raw.seconds } : {}),
      };
      return { ok: true, event };
    }
    case 'verified': {
      if (typeof raw.lr !== 'number' || !(raw.lr > 0)) return bad('"lr" must be a positive number');
      if (!Array.isArray(raw.candidates)) return bad('"candidates" must be an array');
      const candidates: VerifiedEvent['candidates'] = [];
      for (const c of raw.candidates) {
        if (!isObj(c) || typeof c.lr !== 'number' || !Array.isArray(c.losses)) return bad('each candidate must have "lr" and "losses"');
        const losses = c.losses.map(fromWire);
        if (losses.some((x) => x === undefined)) return bad('"losses" must hold numbers');
        candidates.push({
          lr: c.lr, losses: losses as number[], loss: fromWire(c.loss) ?? NaN, spread: fromWire(c.spread) ?? 0, diverged: c.diverged === true,
        });
      }
      const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
      const event: VerifiedEvent = {
        type: 'verified', lr: raw.lr, center: num(raw.center, raw.lr), candidates,
        ...(raw.atEdge === 'low' || raw.atEdge === 'high' ? { atEdge: raw.atEdge } : {}),
        steps: num(raw.steps, 0), seeds: num(raw.seeds, 1), signal: typeof raw.signal === 'string' ? raw.signal : '',
        totalSteps: num(raw.totalSteps, 0), partial: raw.partial === true, explanation: typeof raw.explanation === 'string' ? raw.explanation : '',
      };
      return { ok: true, event };
    }
    default:
      return { ok: false, error: `unknown event type ${JSON.stringify(raw.type)} (expected hello, point, end, error, report, status, candidate or verified): ${clip(text)}` };
  }
}

function normalizeScript(s: Record<string, unknown>): ScriptSummary {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const arr = (v: unknown) => (Array.isArray(v) ? v : []);
  return {
    python: str(s.python), argv: arr(s.argv).filter((a): a is string => typeof a === 'string'),
    module: typeof s.module === 'string' ? s.module : null, cwd: str(s.cwd), torch: typeof s.torch === 'string' ? s.torch : null,
    device: str(s.device) || 'cpu',
    optimizers: arr(s.optimizers).filter(isObj).map((o) => ({
      class: str(o.class), module: str(o.module),
      groups: arr(o.groups).filter(isObj).map((g) => ({
        lr: typeof g.lr === 'number' ? g.lr : null, params: typeof g.params === 'number' ? g.params : 0,
        ...(typeof g.maxLr === 'number' ? { maxLr: g.maxLr } : {}),
      })),
    })),
    options: arr(s.options).filter(isObj).map((o) => ({ option: str(o.option), dest: str(o.dest), default: o.default, value: o.value })),
    filesRead: arr(s.filesRead).filter((f): f is string => typeof f === 'string'),
    ...(isObj(s.distributed) && typeof s.distributed.worldSize === 'number' ? {
      distributed: {
        worldSize: s.distributed.worldSize, backend: typeof s.distributed.backend === 'string' ? s.distributed.backend : null,
        launcher: typeof s.distributed.launcher === 'string' ? s.distributed.launcher : null,
        ...(typeof s.distributed.perRankBatch === 'number' ? { perRankBatch: s.distributed.perRankBatch } : {}),
        ...(typeof s.distributed.effectiveBatch === 'number' ? { effectiveBatch: s.distributed.effectiveBatch } : {}),
      },
    } : {}),
  };
}

function clip(s: string): string {
  return s.length > 120 ? s.slice(0, 117) + '...' : s;
}

/** Accumulates the chunks of a byte stream into whole lines (for front ends that do not use readline). */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/\r?\n/);
    this.rest = parts.pop() ?? '';
    return parts;
  }
  flush(): string[] {
    const r = this.rest;
    this.rest = '';
    return r.trim() ? [r] : [];
  }
}
