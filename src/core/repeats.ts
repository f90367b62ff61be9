/**
 * Repeated sweeps (different seeds, so different initial weights, dropout and batch order): the median curve, the
 * band the runs span, and each suggestion's spread across runs. Pure.
 */
import { analyzeCurve, isSuggestion, type Analysis, type SuggestionName, type SweepSettings } from './analysis';
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
  for (const name of ['valley', 'slide', 'minimum', 'steep', 'steepest', 'minimumPoint', 'recommended'] as SuggestionName[]) {
    const lrs = analyses.map((a) => a.suggestions[name]).filter(isSuggestion).map((s) => s.lr);
    if (lrs.length) out[name] = { lrs, min: Math.min(...lrs), max: Math.max(...lrs) };
  }
  return out;
}
