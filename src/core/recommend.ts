/**
 * LR Finder's recommended LR (placeholder while the benchmark is built). Pure.
 */
import { analyzeCurve, isSuggestion, type Analysis, type SweepSettings } from './analysis';
import { formatLr } from './format';

export interface Recommendation {
  lr: number;
  /** Index into the recorded points of the point the LR comes from (the nearest recorded LR). */
  index: number;
  /** What it was derived from, e.g. "steepest". */
  method: string;
  /** One plain sentence for the plot. */
  explanation: string;
}

export type RecommendationOrReason = Recommendation | { reason: string };

export function recommend(lrs: readonly number[], losses: readonly number[], a: Analysis): RecommendationOrReason {
  try {
    const s = a.suggestions.steepest;
    if (!isSuggestion(s)) return { reason: s.reason };
    return { lr: s.lr, index: s.index, method: 'steepest', explanation: `Recommended: ${formatLr(s.lr)}.` };
  } catch (e) {
    return { reason: `no recommendation: ${(e as Error)?.message ?? String(e)}` };
  }
}

export interface Run {
  lrs: readonly number[];
  losses: readonly number[];
}

/** Several range tests of the same config: the median (in log LR) of the per-run recommendations. */
export function recommendFromRuns(runs: readonly Run[], settings: Partial<SweepSettings> = {}): RecommendationOrReason {
  const recs = runs.map((r) => recommend(r.lrs, r.losses, analyzeCurve(r.lrs, r.losses, settings)))
    .filter((r): r is Recommendation => 'lr' in r).sort((x, y) => x.lr - y.lr);
  if (!recs.length) return { reason: 'no run gave a recommendation' };
  const mid = recs[(recs.length - 1) >> 1];
  return { ...mid, method: `median of ${recs.length} runs (${mid.method})` };
}
