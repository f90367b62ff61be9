/**
 * The sweep protocol: versioned JSON lines, one event per line, from the engine (child process) to any front end.
 * Documented in docs/protocol.md; JSON Schema in schemas/protocol.schema.json.
 * Pure: no Node, no vscode.
 */

export const PROTOCOL_VERSION = 1;

/** A loss value on the wire: a JSON number, or one of these strings (JSON has no NaN/Infinity); null means NaN. */
export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity' | null;

export type EndReason = 'completed' | 'diverged' | 'non-finite' | 'cancelled';

export interface ConfigSummary {
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
  startLr: number;
  endLr: number;
  numIter: number;
  mode: 'exponential' | 'linear';
  stopFactor: number;
  smoothing: number;
}

/** engine -> front end, first line: who is speaking and what will be run. */
export interface HelloEvent {
  type: 'hello';
  protocol: number;
  backend: string;
  backendReason: string;
  warnings: string[];
  config: ConfigSummary;
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
}

/** engine -> front end, last line of a sweep that could not run or crashed. */
export interface ErrorEvent {
  type: 'error';
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export type SweepEvent = HelloEvent | PointEvent | EndEvent | ErrorEvent;

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
      if (raw.protocol !== PROTOCOL_VERSION) return bad(`protocol version ${raw.protocol} is not supported (this reader speaks ${PROTOCOL_VERSION})`);
      if (typeof raw.backend !== 'string') return bad('"backend" must be a string');
      if (!isObj(raw.config)) return bad('"config" must be an object');
      const warnings = Array.isArray(raw.warnings) ? raw.warnings.filter((w): w is string => typeof w === 'string') : [];
      return {
        ok: true,
        event: {
          type: 'hello', protocol: raw.protocol, backend: raw.backend,
          backendReason: typeof raw.backendReason === 'string' ? raw.backendReason : '', warnings,
          config: raw.config as unknown as ConfigSummary,
        },
      };
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
      return { ok: true, event };
    }
    case 'error': {
      if (typeof raw.message !== 'string') return bad('"message" must be a string');
      const event: ErrorEvent = { type: 'error', message: raw.message };
      if (typeof raw.file === 'string') event.file = raw.file;
      if (isNonNegInt(raw.line)) event.line = raw.line;
      if (isNonNegInt(raw.column)) event.column = raw.column;
      return { ok: true, event };
    }
    default:
      return { ok: false, error: `unknown event type ${JSON.stringify(raw.type)} (expected hello, point, end or error): ${clip(text)}` };
  }
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
