/**
 * Scoring of the benchmark, pure: suggestions from the recorded curves, regret of an LR against the trained grid, and
 * the per-method summaries.
 *
 * Regret of an LR = (validation loss at that LR, linearly interpolated in log10 LR over the grid's seed-mean losses)
 * / (best seed-mean loss of the grid) - 1. LRs outside the grid take the value at the nearer end of the grid.
 */
import { analyzeCurve, isSuggestion, type SweepSettings } from '../../src/core/analysis';
import { recommend } from '../../src/core/recommend';
import { medianLr, suggestionsFromRuns } from '../../src/core/repeats';
import type { Protocol } from './schedule';

export const METHODS = ['valley', 'slide', 'minimum', 'steep', 'steepest', 'recommended'] as const;
export type Method = typeof METHODS[number];
export const FASTAI = ['valley', 'slide', 'minimum', 'steep'] as const;

export interface CurveRecord {
  seed: number;
  lrs: number[];
  losses: number[];
  reason: string;
  seconds: number;
}

export interface GridRecord {
  lrs: number[];
  seeds: number[];
  /** score[lrIndex][seedIndex]: validation loss, or the prior's loss for a diverged run. */
  scores: number[][];
  /** Raw final validation losses (NaN = diverged), same layout. */
  valLosses: (number | null)[][];
  diverged: boolean[][];
  seconds: number;
}

export interface TaskRecord {
  name: string;
  description: string;
  holdout: boolean;
  loss: string;
  optimizer: string;
  batchSize: number;
  epochs: number;
  steps: number;
  trainRows: number;
  validationRows: number;
  prior: number;
  sweep: SweepSettings;
  /** Range tests; curves[0] uses the config's own seed (the primary curve). */
  curves: CurveRecord[];
  grids: Partial<Record<Protocol, GridRecord>>;
}

/** Mean over seeds per grid LR. */
export function gridMean(g: GridRecord): number[] {
  return g.scores.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
}

/** Linear interpolation in log10(lr), clamped to the ends of the grid. */
export function interpolateLog(grid: readonly number[], values: readonly number[], lr: number): number {
  const x = Math.log10(lr);
  const xs = grid.map((v) => Math.log10(v));
  if (!(x > xs[0])) return values[0];
  if (x >= xs[xs.length - 1]) return values[values.length - 1];
  let i = 0;
  while (xs[i + 1] < x) i++;
  const f = (x - xs[i]) / (xs[i + 1] - xs[i]);
  return values[i] + f * (values[i + 1] - values[i]);
}

export function regretAt(g: GridRecord, lr: number | undefined): number {
  if (lr === undefined || !Number.isFinite(lr) || lr <= 0) return NaN;
  const mean = gridMean(g);
  const best = Math.min(...mean);
  return interpolateLog(g.lrs, mean, lr) / best - 1;
}

export type Picks = Record<Method, number | undefined>;

/** Every method's LR on one recorded curve (undefined when it gives no suggestion). */
export function picksFor(curve: CurveRecord, sweep: SweepSettings): Picks {
  const a = analyzeCurve(curve.lrs, curve.losses, sweep);
  const lr = (s: unknown) => (isSuggestion(s as never) ? (s as { lr: number }).lr : undefined);
  const rec = recommend(curve.lrs, curve.losses, a);
  return {
    valley: lr(a.suggestions.valley), slide: lr(a.suggestions.slide), minimum: lr(a.suggestions.minimum),
    steep: lr(a.suggestions.steep), steepest: lr(a.suggestions.steepest), recommended: 'lr' in rec ? rec.lr : undefined,
  };
}

/** Median in log space of the available picks (the middle one of three). */
export const medianPick = medianLr;

export interface TaskScore {
  name: string;
  holdout: boolean;
  bestLr: Partial<Record<Protocol, number>>;
  bestLoss: Partial<Record<Protocol, number>>;
  /** Picks on the primary curve. */
  picks: Picks;
  /** Picks on every curve. */
  picksPerCurve: Picks[];
  /** K = 3: median of the per-curve picks (the recommendation also via recommendFromRuns). */
  picksK: Picks;
  /** regret[protocol][method]: on the primary curve. */
  regret: Partial<Record<Protocol, Record<Method, number>>>;
  /** Mean over the curves of the single-curve regret. */
  regretMeanK1: Partial<Record<Protocol, Record<Method, number>>>;
  /** Regret of the K = 3 picks. */
  regretK: Partial<Record<Protocol, Record<Method, number>>>;
}

function byMethod(f: (m: Method) => number): Record<Method, number> {
  return Object.fromEntries(METHODS.map((m) => [m, f(m)])) as Record<Method, number>;
}

export function scoreTask(t: TaskRecord): TaskScore {
  const picksPerCurve = t.curves.map((c) => picksFor(c, t.sweep));
  const picks = picksPerCurve[0];
  // K = 3: exactly what the panel's Repeat ×3 shows (core/repeats.ts suggestionsFromRuns).
  let picksK = Object.fromEntries(METHODS.map((m) => [m, medianPick(picksPerCurve.map((p) => p[m]))])) as Picks;
  if (t.curves.length > 1) {
    const runs = t.curves.map((c) => c.lrs.map((lr, i) => ({ type: 'point' as const, iteration: i, lr, loss: c.losses[i] })));
    const s = suggestionsFromRuns(runs, t.sweep, t.curves[0].lrs);
    picksK = Object.fromEntries(METHODS.map((m) => [m, 'lr' in s[m] ? (s[m] as { lr: number }).lr : undefined])) as Picks;
  }
  const out: TaskScore = {
    name: t.name, holdout: t.holdout, bestLr: {}, bestLoss: {}, picks, picksPerCurve, picksK,
    regret: {}, regretMeanK1: {}, regretK: {},
  };
  for (const [p, g] of Object.entries(t.grids) as [Protocol, GridRecord][]) {
    const mean = gridMean(g);
    const bi = mean.indexOf(Math.min(...mean));
    out.bestLr[p] = g.lrs[bi];
    out.bestLoss[p] = mean[bi];
    out.regret[p] = byMethod((m) => regretAt(g, picks[m]));
    out.regretMeanK1[p] = byMethod((m) => {
      const rs = picksPerCurve.map((pc) => regretAt(g, pc[m]));
      return rs.some((r) => !Number.isFinite(r)) ? NaN : rs.reduce((a, b) => a + b, 0) / rs.length;
    });
    out.regretK[p] = byMethod((m) => regretAt(g, picksK[m]));
  }
  return out;
}

export interface Summary {
  n: number;
  median: number;
  worst: number;
  within10: number;
  missing: number;
}

/** Median, worst and count within 10% of best over tasks; a missing suggestion counts as an infinite regret. */
export function summarize(regrets: number[]): Summary {
  const v = regrets.map((r) => (Number.isFinite(r) ? r : Infinity)).sort((a, b) => a - b);
  const n = v.length;
  const median = n ? (n % 2 ? v[n >> 1] : (v[n / 2 - 1] + v[n / 2]) / 2) : NaN;
  return { n, median, worst: n ? v[n - 1] : NaN, within10: v.filter((r) => r <= 0.1).length, missing: regrets.filter((r) => !Number.isFinite(r)).length };
}

export type Variant = 'single' | 'meanK1' | 'K3';

export function summaryTable(scores: TaskScore[], protocol: Protocol, variant: Variant = 'single'): Record<Method, Summary> {
  const pick = (s: TaskScore) => (variant === 'single' ? s.regret : variant === 'meanK1' ? s.regretMeanK1 : s.regretK)[protocol];
  const rows = scores.filter((s) => pick(s));
  return Object.fromEntries(METHODS.map((m) => [m, summarize(rows.map((s) => pick(s)![m]))])) as Record<Method, Summary>;
}

/** Does the recommendation meet the bar: median below each fastai method's median, worst not above any of theirs? */
export function meetsBar(t: Record<Method, Summary>): { median: boolean; worst: boolean } {
  const r = t.recommended;
  return {
    median: FASTAI.every((m) => r.median < t[m].median),
    worst: FASTAI.every((m) => r.worst <= t[m].worst),
  };
}
