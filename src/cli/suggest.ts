/** `lr-finder suggest CURVE.json`: fastai's suggestions (and ours) for a curve recorded by any framework. */
import { FASTAI_METHODS } from '../core/suggestions';
import * as fs from 'fs';
import { analyzeCurve, isSuggestion, type Analysis } from '../core/analysis';
import { fromWire } from '../core/protocol';
import { parseArgs, UsageError } from './args';
import { plotCurve, suggestionTable } from './terminal';
import { LocatedError } from '../core/errors';

export interface Curve {
  lrs: number[];
  losses: number[];
  settings: Parameters<typeof analyzeCurve>[2];
}

/**
 * Read {"lrs": [...], "losses": [...], "config"?: {num_it, start_lr, end_lr, mode, beta?, stop_div_factor?}}.
 * torch-lr-finder's `history` ({"lr": [...], "loss": [...]}) is read too.
 */
export function parseCurve(text: string, file: string): Curve {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { throw new LocatedError(`${file}: not valid JSON (${(e as Error).message})`, file); }
  const o = { ...(raw as Record<string, unknown>) };
  if (o && typeof o === 'object' && o.lrs === undefined && o.losses === undefined && Array.isArray(o.lr) && Array.isArray(o.loss)) {
    o.lrs = o.lr;
    o.losses = o.loss;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !Array.isArray(o.lrs) || !Array.isArray(o.losses)) {
    throw new LocatedError(`${file}: expected an object {"lrs": [...], "losses": [...]} (or torch-lr-finder's {"lr": [...], "loss": [...]})`, file);
  }
  const num = (key: string, arr: unknown[]) => arr.map((v, i) => {
    const x = fromWire(v);
    if (x === undefined) throw new LocatedError(`${file}: ${key}[${i}] is ${JSON.stringify(v)}; expected a number, null, "NaN" or "Infinity"`, file);
    return x;
  });
  const lrs = num('lrs', o.lrs), losses = num('losses', o.losses);
  if (lrs.length !== losses.length) throw new LocatedError(`${file}: "lrs" has ${lrs.length} values but "losses" has ${losses.length}; expected the same length`, file);
  lrs.forEach((lr, i) => { if (!(lr > 0) || !Number.isFinite(lr)) throw new LocatedError(`${file}: lrs[${i}] is ${lr}; expected a positive finite number`, file); });
  const c = (o.config ?? {}) as Record<string, unknown>;
  const n = (k: string) => (typeof c[k] === 'number' ? (c[k] as number) : undefined);
  const mode = c.mode === 'linear' || c.step_mode === 'linear' ? 'linear' : 'exponential';
  const numIter = n('num_it') ?? n('num_iter') ?? Math.max(100, lrs.length);
  return {
    lrs, losses,
    settings: {
      numIter, mode,
      startLr: n('start_lr') ?? lrs[0], endLr: n('end_lr') ?? lrs[lrs.length - 1],
      ...(n('beta') !== undefined ? { smoothing: n('beta') } : {}),
      ...(n('stop_div_factor') !== undefined ? { stopFactor: n('stop_div_factor') } : {}),
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
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw new LocatedError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`, file); }
  const curve = parseCurve(text, file);
  const a = analyzeCurve(curve.lrs, curve.losses, curve.settings);
  if (p.flags.has('--json')) out(JSON.stringify(suggestionsJson(a)));
  else {
    out(plotCurve(curve.lrs, a));
    out('');
    out(suggestionTable(curve.lrs, a));
  }
  return 0;
}
