/**
 * Scoring of the benchmark, pure: suggestions from the recorded curves, regret of an LR against the trained grid, and
 * the per-method summaries.
 *
 * Regret of an LR = (validation loss at that LR, linearly interpolated in log10 LR over the grid's seed-mean losses)
 * / (best seed-mean loss of the grid) - 1. LRs outside the grid take the value at the nearer end of the grid.
 *
 * `verified` is Verify's LR (src/core/verify.ts, run by bench/quality/verify.ts on the primary range test's
 * recommendation): scored under one-cycle on the primary range test only (Verify trains one-cycle, once per task).
 * A task recorded without Verify has no `verified` regret (missing, "–"). A Verify that gave no LR (every candidate
 * diverged, or all ended at the same loss: nothing measured) leaves the user with the recommendation it was centred
 * on, so that is what `verified` scores then.
 */
import { analyzeCurve, isSuggestion, type SweepSettings } from '../../src/core/analysis';
import { recommend } from '../../src/core/recommend';
import { medianLr, suggestionsFromRuns } from '../../src/core/repeats';
import type { VerifyOptions } from '../../src/core/verify';
import type { Protocol } from './schedule';
import { taskSet, type TaskSet } from './tasks';

/** The methods that read an LR off a range-test curve. */
export const CURVE_METHODS = ['valley', 'slide', 'minimum', 'steep', 'steepest', 'recommended'] as const;
export type CurveMethod = typeof CURVE_METHODS[number];
/** Every method scored: the curve methods and Verify's measured LR. */
export const METHODS = [...CURVE_METHODS, 'verified'] as const;
export type Method = typeof METHODS[number];
export const FASTAI = ['valley', 'slide', 'minimum', 'steep'] as const;
/** The protocols `verified` is scored under. */
export const VERIFY_PROTOCOLS: Protocol[] = ['onecycle'];

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

/** One candidate training of Verify, as the benchmark ran it. */
export interface VerifyCandidateRecord {
  lr: number;
  /** Seed offset, as core/verify.ts counts seeds (0: the config's seed). */
  seed: number;
  /** Round of nextCandidates that proposed it (0-based). */
  round: number;
  /** Held-out loss (+Infinity when it diverged). */
  loss: number;
  trainLoss: number;
  diverged: boolean;
  steps: number;
  signal: string;
  /** Held-out rows scored, and the rows it trained on. */
  rows: number;
  trainRows: number;
  seconds: number;
}

/** Verify on one task: centred on the primary range test's recommendation. */
export interface VerifyRecord {
  center: number;
  options: VerifyOptions;
  candidates: VerifyCandidateRecord[];
  /** The verified LR (chooseVerified), absent with `reason` when there is none. */
  lr?: number;
  reason?: string;
  atEdge?: 'low' | 'high';
  rounds: number;
  totalSteps: number;
  /** The sweep's numIter, and the points the primary range test recorded (it may stop early). */
  rangeTestSteps: number;
  rangeTestPoints: number;
  /** Wall time of the rounds (the trainings of a round run in parallel). */
  seconds: number;
  explanation?: string;
}

export interface TaskRecord {
  name: string;
  description: string;
  holdout: boolean;
  /** The report group (absent in records written before it existed: taken from the task list, or `holdout`). */
  set?: TaskSet;
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
  /** Absent: recorded without Verify (--no-verify, or before it existed). */
  verify?: VerifyRecord;
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

/** Each curve method's LR (undefined when it gives no suggestion). */
export type CurvePicks = Record<CurveMethod, number | undefined>;
/** Also the verified LR; the `verified` key is absent when the task was recorded without Verify. */
export type Picks = CurvePicks & { verified?: number };
/** Regret per method; `verified` absent when it was not measured (no Verify, or not scored under this protocol or variant). */
export type Regrets = Record<CurveMethod, number> & { verified?: number };

/** Every curve method's LR on one recorded curve (undefined when it gives no suggestion). */
export function picksFor(curve: CurveRecord, sweep: SweepSettings): CurvePicks {
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

/** What Verify cost on a task. */
export interface VerifyCost {
  candidates: number;
  totalSteps: number;
  /** totalSteps / the sweep's numIter: range tests' worth of steps. */
  rangeTests: number;
  /** totalSteps / the points the primary range test actually recorded. */
  rangeTestPoints: number;
}

export interface TaskScore {
  name: string;
  holdout: boolean;
  set: TaskSet;
  bestLr: Partial<Record<Protocol, number>>;
  bestLoss: Partial<Record<Protocol, number>>;
  /** Picks on the primary curve. */
  picks: Picks;
  /** Picks on every curve. */
  picksPerCurve: CurvePicks[];
  /** K = 3: median of the per-curve picks (the recommendation also via recommendFromRuns). */
  picksK: CurvePicks;
  /** regret[protocol][method]: on the primary curve. */
  regret: Partial<Record<Protocol, Regrets>>;
  /** Mean over the curves of the single-curve regret. */
  regretMeanK1: Partial<Record<Protocol, Regrets>>;
  /** Regret of the K = 3 picks. */
  regretK: Partial<Record<Protocol, Regrets>>;
  /** Absent: recorded without Verify. */
  verifyCost?: VerifyCost;
}

function byMethod(f: (m: CurveMethod) => number): Record<CurveMethod, number> {
  return Object.fromEntries(CURVE_METHODS.map((m) => [m, f(m)])) as Record<CurveMethod, number>;
}

export function scoreTask(t: TaskRecord): TaskScore {
  const picksPerCurve = t.curves.map((c) => picksFor(c, t.sweep));
  // K = 3: exactly what the panel's Repeat ×3 shows (core/repeats.ts suggestionsFromRuns).
  let picksK = Object.fromEntries(CURVE_METHODS.map((m) => [m, medianPick(picksPerCurve.map((p) => p[m]))])) as CurvePicks;
  if (t.curves.length > 1) {
    const runs = t.curves.map((c) => c.lrs.map((lr, i) => ({ type: 'point' as const, iteration: i, lr, loss: c.losses[i] })));
    const s = suggestionsFromRuns(runs, t.sweep, t.curves[0].lrs);
    picksK = Object.fromEntries(CURVE_METHODS.map((m) => [m, 'lr' in s[m] ? (s[m] as { lr: number }).lr : undefined])) as CurvePicks;
  }
  const v = t.verify;
  const verifiedLr = v ? v.lr ?? (Number.isFinite(v.center) ? v.center : undefined) : undefined;
  const picks: Picks = v ? { ...picksPerCurve[0], verified: verifiedLr } : picksPerCurve[0];
  const out: TaskScore = {
    name: t.name, holdout: t.holdout, set: t.set ?? taskSet(t), bestLr: {}, bestLoss: {}, picks, picksPerCurve, picksK,
    regret: {}, regretMeanK1: {}, regretK: {},
  };
  if (v) {
    out.verifyCost = {
      candidates: v.candidates.length, totalSteps: v.totalSteps,
      rangeTests: v.totalSteps / v.rangeTestSteps, rangeTestPoints: v.totalSteps / v.rangeTestPoints,
    };
  }
  for (const [p, g] of Object.entries(t.grids) as [Protocol, GridRecord][]) {
    const mean = gridMean(g);
    const bi = mean.indexOf(Math.min(...mean));
    out.bestLr[p] = g.lrs[bi];
    out.bestLoss[p] = mean[bi];
    out.regret[p] = byMethod((m) => regretAt(g, picks[m]));
    // No verified LR: the recommendation stands (no recommendation either: NaN, ∞ in a summary).
    if (v && VERIFY_PROTOCOLS.includes(p)) out.regret[p]!.verified = regretAt(g, verifiedLr);
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

/** Per method over the tasks that have it (`verified`: those recorded with Verify; n = 0 when none). */
export function summaryTable(scores: TaskScore[], protocol: Protocol, variant: Variant = 'single'): Record<Method, Summary> {
  const pick = (s: TaskScore) => (variant === 'single' ? s.regret : variant === 'meanK1' ? s.regretMeanK1 : s.regretK)[protocol];
  const rows = scores.filter((s) => pick(s));
  return Object.fromEntries(METHODS.map((m) => [m, summarize(rows.map((s) => pick(s)![m]).filter((r): r is number => r !== undefined))])) as Record<Method, Summary>;
}

/** Median and max of Verify's cost over the tasks recorded with it (undefined when none). */
export function verifyCostSummary(scores: TaskScore[]): { n: number; rangeTests: { median: number; max: number }; rangeTestPoints: { median: number; max: number }; candidates: { median: number; max: number } } | undefined {
  const c = scores.map((s) => s.verifyCost).filter((x): x is VerifyCost => !!x);
  if (!c.length) return undefined;
  const mm = (v: number[]) => {
    const x = v.slice().sort((a, b) => a - b);
    const n = x.length;
    return { median: n % 2 ? x[n >> 1] : (x[n / 2 - 1] + x[n / 2]) / 2, max: x[n - 1] };
  };
  return { n: c.length, rangeTests: mm(c.map((x) => x.rangeTests)), rangeTestPoints: mm(c.map((x) => x.rangeTestPoints)), candidates: mm(c.map((x) => x.candidates)) };
}

/** Does the recommendation meet the bar: median below each fastai method's median, worst not above any of theirs? */
export function meetsBar(t: Record<Method, Summary>): { median: boolean; worst: boolean } {
  const r = t.recommended;
  return {
    median: FASTAI.every((m) => r.median < t[m].median),
    worst: FASTAI.every((m) => r.worst <= t[m].worst),
  };
}
