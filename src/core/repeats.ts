/**
 * Repeated sweeps (different seeds, so different initial weights, dropout and batch order): the median curve, the
 * band the runs span, and each suggestion's spread across runs. Pure.
 */
import { analyzeCurve, isSuggestion, type Analysis, type SuggestionName, type SuggestionOrReason, type SweepSettings } from './analysis';
import { formatLr } from './format';
import { recommend, type Recommendation, type RecommendationOrReason } from './recommend';
import { SUGGESTION_NAMES } from './suggestions';
import { smoothLosses } from './fastai';
import type { PointEvent } from './protocol';

/** The per-iteration median of the raw losses, as long as more than half of the runs are still going. */
export function medianRun(runs: readonly (readonly PointEvent[])[]): PointEvent[] {
  const out: PointEvent[] = [];
  const k = runs.length;
  for (let i = 0; ; i++) {
    const at = runs.map((r) => r[i]).filter((p): p is PointEvent => p !== undefined);
    if (at.length * 2 <= k || at.length === 0) break;
    const losses = at.map((p) => (Number.isNaN(p.loss) ? Infinity : p.loss)).sort((a, b) => a - b);
    const m = losses.length >> 1;
    const loss = losses.length % 2 ? losses[m] : (losses[m - 1] + losses[m]) / 2;
    const point: PointEvent = { type: 'point', iteration: i, lr: at[0].lr, loss };
    const vals = at.map((p) => p.valLoss).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    if (vals.length) point.valLoss = vals[vals.length >> 1];
    out.push(point);
  }
  return out;
}

/** Smoothed-loss band: min and max over the runs at each iteration of the median run. */
export function runBand(runs: readonly (readonly PointEvent[])[], n: number, beta: number): { lo: number; hi: number }[] {
  const smoothed = runs.map((r) => smoothLosses(r.map((p) => p.loss), beta));
  return Array.from({ length: n }, (_, i) => {
    const vs = smoothed.map((s) => s[i]).filter((v) => v !== undefined && Number.isFinite(v));
    return vs.length ? { lo: Math.min(...vs), hi: Math.max(...vs) } : { lo: NaN, hi: NaN };
  });
}

/** Each suggestion's LR in every run, and the range they span. */
export function suggestionSpread(runs: readonly (readonly PointEvent[])[], settings: Partial<SweepSettings>): Partial<Record<SuggestionName, { lrs: number[]; min: number; max: number }>> {
  const analyses: Analysis[] = runs.map((r) => analyzeCurve(r.map((p) => p.lr), r.map((p) => p.loss), settings));
  const out: Partial<Record<SuggestionName, { lrs: number[]; min: number; max: number }>> = {};
  for (const name of SUGGESTION_NAMES) {
    const lrs = analyses.map((a) => a.suggestions[name]).filter(isSuggestion).map((s) => s.lr);
    if (lrs.length) out[name] = { lrs, min: Math.min(...lrs), max: Math.max(...lrs) };
  }
  return out;
}

export interface Run {
  lrs: readonly number[];
  losses: readonly number[];
}

/** Several range tests of the same config: the median (in log LR) of the per-run recommendations. */
export function recommendFromRuns(runs: readonly Run[], settings: Partial<SweepSettings> = {}): RecommendationOrReason {
  try {
    const recs = runs.map((r) => recommend(r.lrs, r.losses, analyzeCurve(r.lrs, r.losses, settings)))
      .filter((r): r is Recommendation => 'lr' in r).sort((x, y) => x.lr - y.lr);
    if (!recs.length) return { reason: runs.length ? 'no run gave a recommendation' : 'no runs' };
    const mid = recs[(recs.length - 1) >> 1];
    return {
      ...mid, method: `median of ${recs.length} runs`,
      explanation: `Recommended ${formatLr(mid.lr)}, the middle of the recommendations of ${recs.length} range tests ` +
        `(${recs.map((r) => formatLr(r.lr)).join(', ')}), each the middle of fastai's four suggestions and a third of its edge.`,
    };
  } catch (e) {
    return { reason: `no recommendation: ${(e as Error)?.message ?? String(e)}` };
  }
}

/** Median in log space of the available LRs: the middle one of an odd count, the geometric mean of the middle two. */
export function medianLr(xs: readonly (number | undefined)[]): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x) && x > 0).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : Math.sqrt(v[m - 1] * v[m]);
}

/**
 * What Repeat ×K shows, and what the benchmarks score for K runs (one code path): each suggestion is the median (in
 * log LR) of the runs' own picks, the recommendation the median of the runs' recommendations. `lrs` are the median
 * curve's LRs: each suggestion's index is the nearest of them, where the plot marks it.
 */
export function suggestionsFromRuns(runs: readonly (readonly PointEvent[])[], settings: Partial<SweepSettings>, lrs: readonly number[]): Record<SuggestionName, SuggestionOrReason> {
  const analyses = runs.map((r) => analyzeCurve(r.map((p) => p.lr), r.map((p) => p.loss), settings));
  const nearest = (lr: number) => {
    let k = 0;
    for (let i = 1; i < lrs.length; i++) if (Math.abs(Math.log(lrs[i] / lr)) < Math.abs(Math.log(lrs[k] / lr))) k = i;
    return k;
  };
  const out = {} as Record<SuggestionName, SuggestionOrReason>;
  for (const name of SUGGESTION_NAMES) {
    if (name === 'recommended') {
      const r = recommendFromRuns(runs.map((run) => ({ lrs: run.map((p) => p.lr), losses: run.map((p) => p.loss) })), settings);
      out[name] = 'lr' in r ? { name, lr: r.lr, index: nearest(r.lr), explanation: r.explanation, method: r.method } : { name, reason: r.reason };
      continue;
    }
    const picks = analyses.map((a) => a.suggestions[name]).filter(isSuggestion);
    const lr = medianLr(picks.map((p) => p.lr));
    if (lr === undefined || !lrs.length) {
      const first = analyses.map((a) => a.suggestions[name]).find((s) => !isSuggestion(s));
      out[name] = { name, reason: first && !isSuggestion(first) ? first.reason : 'no run gave one' };
      continue;
    }
    const what = picks[0].explanation.split(':')[0];
    out[name] = {
      name, lr, index: nearest(lr),
      explanation: `${what}: ${formatLr(lr)}, the middle of ${picks.length} range tests (${picks.map((p) => formatLr(p.lr)).join(', ')}).`,
    };
  }
  return out;
}
