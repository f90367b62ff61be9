/** `lr-finder suggest CURVE.json`: fastai's suggestions (and ours) for a curve recorded by any framework. */
import { FASTAI_METHODS } from '../core/suggestions';
import { findNodeAtLocation, parse as parseJsonc, parseTree, type ParseError } from 'jsonc-parser';
import { analyzeCurve, isSuggestion, type Analysis } from '../core/analysis';
import { fromWire } from '../core/protocol';
import { parseArgs, UsageError } from './args';
import { plotCurve, suggestionTable } from './terminal';
import { LocatedError } from '../core/errors';
import { didYouMean, LR_MAX, LR_MIN, LR_RANGE } from '../engines/tfjs/config';
import { readTextFile, type TextFileKind } from '../engines/tfjs/load';

export interface Curve {
  lrs: number[];
  losses: number[];
  settings: Parameters<typeof analyzeCurve>[2];
}

export const CURVE_FILE: TextFileKind = {
  what: 'curve', expected: 'a JSON curve {"lrs": [...], "losses": [...]}', maxBytes: 512 * 1024 * 1024,
};

const CONFIG_KEYS = ['num_it', 'num_iter', 'start_lr', 'end_lr', 'mode', 'step_mode', 'beta', 'stop_div_factor', 'stop_div'];
/** Positions are looked up (a JSON tree is built) only for an error, and only in files up to this size. */
const LOCATE_MAX = 64 * 1024 * 1024;

const show = (v: unknown) => {
  if (Array.isArray(v)) return 'a list';
  if (v && typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

/**
 * Read {"lrs": [...], "losses": [...], "config"?: {num_it, start_lr, end_lr, mode, beta?, stop_div_factor?}}.
 * torch-lr-finder's `history` ({"lr": [...], "loss": [...]}) is read too. Validated as a config is: every problem is
 * one LocatedError naming the key or index (and its line:column) and what was expected.
 */
export function parseCurve(text: string, file: string): Curve {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  /** 1-based line and column of a JSON path, or of an offset; undefined when the file is too large to look. */
  const position = (where: (string | number)[] | number): { line: number; column: number } | undefined => {
    let offset: number;
    if (typeof where === 'number') offset = where;
    else {
      if (src.length > LOCATE_MAX) return undefined;
      let node;
      try { node = findNodeAtLocation(parseTree(src) ?? { type: 'null', offset: 0, length: 0 } as never, where); } catch { return undefined; }
      if (!node) return undefined;
      offset = node.offset;
    }
    const before = src.slice(0, offset);
    const line = before.split('\n').length;
    return { line, column: offset - before.lastIndexOf('\n') };
  };
  const fail = (where: (string | number)[] | number | undefined, message: string): never => {
    const at = where === undefined ? undefined : position(where);
    throw at ? new LocatedError(`${file}:${at.line}:${at.column}: ${message}`, file, at.line, at.column) : new LocatedError(`${file}: ${message}`, file);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(src);
  } catch (e) {
    const errors: ParseError[] = [];
    try { parseJsonc(src, errors, { disallowComments: true, allowTrailingComma: false }); } catch { /* too deep to locate */ }
    fail(errors.length ? errors[0].offset : undefined, `not valid JSON (${(e as Error).message.slice(0, 120)}); expected {"lrs": [...], "losses": [...]}`);
  }
  const o = { ...(raw as Record<string, unknown>) };
  const history = o && typeof o === 'object' && o.lrs === undefined && o.losses === undefined && Array.isArray(o.lr) && Array.isArray(o.loss);
  if (history) {
    o.lrs = o.lr;
    o.losses = o.loss;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !Array.isArray(o.lrs) || !Array.isArray(o.losses)) {
    throw new LocatedError(`${file}: expected an object {"lrs": [...], "losses": [...]} (or torch-lr-finder's {"lr": [...], "loss": [...]})`, file);
  }
  const lrKey = history ? 'lr' : 'lrs', lossKey = history ? 'loss' : 'losses';
  const rawLrs = o.lrs as unknown[], rawLosses = o.losses as unknown[];
  if (rawLrs.length !== rawLosses.length) {
    fail([lossKey], `"${lrKey}" has ${rawLrs.length} values but "${lossKey}" has ${rawLosses.length}; expected the same length`);
  }
  if (rawLrs.length < 2) {
    fail([lrKey], `"${lrKey}" and "${lossKey}" ${rawLrs.length ? 'hold 1 point' : 'are empty'}; expected a curve of at least 2 points`);
  }

  // LRs: finite, within the LR range, strictly increasing (one per step of the range test).
  const lrs = new Array<number>(rawLrs.length);
  let badLr = -1, badLrWhy = '', badLrs = 0;
  for (let i = 0; i < rawLrs.length; i++) {
    const v = rawLrs[i];
    let why = '';
    if (typeof v !== 'number') why = `is ${show(v)}; expected a number (an LR)`;
    else if (!(v >= LR_MIN && v <= LR_MAX)) why = `is ${v}; expected an LR ${LR_RANGE}`;
    else if (i > 0 && typeof rawLrs[i - 1] === 'number' && !(v > (rawLrs[i - 1] as number))) {
      why = `is ${v}, not above ${lrKey}[${i - 1}] (${rawLrs[i - 1]}); expected increasing LRs, one per step of the range test`;
    }
    if (why) { badLrs++; if (badLr < 0) { badLr = i; badLrWhy = why; } }
    lrs[i] = v as number;
  }
  if (badLr >= 0) fail([lrKey, badLr], `${lrKey}[${badLr}] ${badLrWhy}${badLrs > 1 ? ` (${badLrs} of the ${rawLrs.length} LRs are wrong)` : ''}`);

  const losses = new Array<number>(rawLosses.length);
  let badLoss = -1, badLosses = 0;
  for (let i = 0; i < rawLosses.length; i++) {
    const x = fromWire(rawLosses[i]);
    if (x === undefined) { badLosses++; if (badLoss < 0) badLoss = i; } else losses[i] = x;
  }
  if (badLoss >= 0) {
    fail([lossKey, badLoss], `${lossKey}[${badLoss}] is ${show(rawLosses[badLoss])}; expected a number, null, "NaN" or "Infinity"${badLosses > 1 ? ` (${badLosses} of the ${rawLosses.length} losses are wrong)` : ''}`);
  }

  // config: known keys only, each checked like the training config's sweep settings.
  if (o.config !== undefined && (o.config === null || typeof o.config !== 'object' || Array.isArray(o.config))) {
    fail(['config'], `config is ${show(o.config)}; expected an object {"num_it", "start_lr", "end_lr", "mode", "beta", "stop_div_factor"}`);
  }
  const c = (o.config ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (CONFIG_KEYS.includes(k)) continue;
    const hint = ({ smoothing: 'beta', stop_factor: 'stop_div_factor', startLr: 'start_lr', endLr: 'end_lr', numIter: 'num_it' } as Record<string, string>)[k] ?? didYouMean(k, CONFIG_KEYS);
    fail(['config', k], `unknown key "config.${k.slice(0, 40)}"${hint ? `; did you mean "${hint}"?` : '.'} Expected one of: ${CONFIG_KEYS.join(', ')}`);
  }
  const num = (k: string, ok: (x: number) => boolean, expected: string): number | undefined => {
    const v = c[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !ok(v)) fail(['config', k], `config.${k} is ${show(v)}; expected ${expected}`);
    return v as number;
  };
  const intIn = (lo: number, hi: number) => (x: number) => Number.isInteger(x) && x >= lo && x <= hi;
  const lrIn = (x: number) => x >= LR_MIN && x <= LR_MAX;
  const numIt = num('num_it', intIn(1, 1e9), 'a whole number of steps from 1 to 1e9');
  const numIterKey = num('num_iter', intIn(1, 1e9), 'a whole number of steps from 1 to 1e9');
  const startLr = num('start_lr', lrIn, `an LR ${LR_RANGE}`);
  const endLr = num('end_lr', lrIn, `an LR ${LR_RANGE}`);
  const beta = num('beta', (x) => x >= 0 && x < 1, 'a number from 0 to below 1 (the smoothing of the loss; 0: none)');
  const stopFactor = num('stop_div_factor', (x) => x > 1 && x <= 1e30, 'a number above 1 (stop when the smoothed loss exceeds it times the best)');
  let stopDiv: number | undefined;
  if (c.stop_div !== undefined) {
    if (typeof c.stop_div === 'boolean') stopDiv = c.stop_div ? 4 : Infinity;
    else stopDiv = num('stop_div', (x) => x > 1 && x <= 1e30, 'true, false or a number above 1');
  }
  let mode: 'linear' | 'exponential' = 'exponential';
  for (const k of ['mode', 'step_mode']) {
    const v = c[k];
    if (v === undefined) continue;
    if (v === 'linear' || v === 'lin') mode = 'linear';
    else if (v !== 'exponential' && v !== 'exp') fail(['config', k], `config.${k} is ${show(v)}; expected "exponential" or "linear"`);
  }
  const start = startLr ?? lrs[0], end = endLr ?? lrs[lrs.length - 1];
  if (!(end > start)) fail(['config', endLr !== undefined ? 'end_lr' : 'start_lr'], `config.end_lr (${end}) must be greater than config.start_lr (${start})`);
  const numIter = numIt ?? numIterKey ?? Math.max(100, lrs.length);
  const stop = stopFactor ?? stopDiv;
  return {
    lrs, losses,
    settings: {
      numIter, mode,
      startLr: start, endLr: end,
      ...(beta !== undefined ? { smoothing: beta } : {}),
      ...(stop !== undefined ? { stopFactor: stop } : {}),
    },
  };
}

// fastai's four and the steepest slope as {lr, index}; the recommendation and the minimum point have their own shapes.
const JSON_METHODS = [...FASTAI_METHODS, 'steepest'] as const;

export function suggestionsJson(a: Analysis) {
  const suggestions: Record<string, { lr: number; index: number } | null> = {};
  const reasons: Record<string, string> = {};
  for (const m of JSON_METHODS) {
    const s = a.suggestions[m];
    suggestions[m] = isSuggestion(s) ? { lr: s.lr, index: s.index } : null;
    if (!isSuggestion(s)) reasons[m] = s.reason;
  }
  const rec = a.suggestions.recommended;
  if (isSuggestion(rec)) suggestions.recommended = { lr: rec.lr, index: rec.index, method: rec.method ?? '', explanation: rec.explanation } as never;
  else { suggestions.recommended = null; reasons.recommended = rec.reason; }
  const mp = a.suggestions.minimumPoint;
  return {
    suggestions,
    reasons,
    minimumPoint: isSuggestion(mp) ? { lr: mp.lr, index: mp.index } : null,
    stop: a.stop,
    smoothed: a.smoothed.map((v) => (Number.isFinite(v) ? v : null)),
  };
}

export async function suggestCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ['--json']);
  if (p.positionals.length !== 1) throw new UsageError('suggest needs exactly one CURVE.json file');
  const file = p.positionals[0];
  const curve = parseCurve(readTextFile(file, CURVE_FILE), file);
  const a = analyzeCurve(curve.lrs, curve.losses, curve.settings);
  if (p.flags.has('--json')) out(JSON.stringify(suggestionsJson(a)));
  else {
    out(plotCurve(curve.lrs, a));
    out('');
    out(suggestionTable(curve.lrs, a));
  }
  return 0;
}
