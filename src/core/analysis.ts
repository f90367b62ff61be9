/**
 * Turns a recorded range-test curve into what the user sees: smoothed losses, the stop point, fastai's four
 * suggestions (exact), our steepest-slope point and the minimum point, and a local slope with a plain explanation at
 * every point. Never throws on a short or degenerate curve: a missing suggestion carries its reason. Pure.
 */
import { formatSlope, localSlopes, runningMedian } from './curve';
import { smoothLosses, stopIndex, trimForSuggestions, type SweepMode } from './fastai';
import { SUGGESTIONS, type SuggestionName } from './suggestions';

export type { SuggestionName } from './suggestions';
export { FASTAI_METHODS } from './suggestions';
export { formatSlope, localSlopes, runningMedian } from './curve';

export interface Suggestion {
  name: SuggestionName;
  lr: number;
  /** Index into the recorded points. */
  index: number;
  explanation: string;
  /** For `recommended`: what it was derived from (see recommend.ts). */
  method?: string;
}

export type SuggestionOrReason = Suggestion | { name: SuggestionName; reason: string };

export interface SweepSettings {
  numIter: number;
  startLr: number;
  endLr: number;
  mode: SweepMode;
  stopFactor: number;
  smoothing: number;
}

export const FASTAI_DEFAULTS: SweepSettings = {
  numIter: 100, startLr: 1e-7, endLr: 10, mode: 'exponential', stopFactor: 4, smoothing: 0.98,
};

export type SlopeRegion = 'flat' | 'falling-fast' | 'falling' | 'flattening' | 'rising' | 'diverging' | 'unknown';

export interface Analysis {
  settings: SweepSettings;
  smoothed: number[];
  stop: { index: number; reason: 'stop-factor' | 'non-finite' | 'end' };
  suggestions: Record<SuggestionName, SuggestionOrReason>;
  /** At every recorded point: d loss / d log10(lr) of the running median (negative = improving). */
  slopes: number[];
  /** At every recorded point: where on the curve it is; in words, explainRegion(region, slope). */
  regions: SlopeRegion[];
}

export function isSuggestion(s: SuggestionOrReason | undefined): s is Suggestion {
  return !!s && 'lr' in s;
}

/** Analyse a recorded curve. `lrs` and `losses` are the raw recorded values, same length. */
export function analyzeCurve(lrs: readonly number[], losses: readonly number[], settings: Partial<SweepSettings> = {}): Analysis {
  const st: SweepSettings = { ...FASTAI_DEFAULTS, ...settings };
  const n = Math.min(lrs.length, losses.length);
  // The inputs are only read: copied only when one is longer than the other (a million points are 8 MB each).
  const lr = lrs.length === n ? lrs : lrs.slice(0, n);
  const loss = losses.length === n ? losses : losses.slice(0, n);
  const smoothed = smoothLosses(loss, st.smoothing);

  const firstNonFinite = smoothed.findIndex((s) => !Number.isFinite(s));
  const stopAt = stopIndex(smoothed, st.stopFactor);
  let stop: Analysis['stop'];
  if (stopAt >= 0 && (firstNonFinite < 0 || stopAt < firstNonFinite)) stop = { index: stopAt, reason: 'stop-factor' };
  else if (firstNonFinite >= 0) stop = { index: firstNonFinite, reason: 'non-finite' };
  else stop = { index: n - 1, reason: 'end' };

  // fastai stops recording at the point that triggered the stop rule; a longer input is cut there too.
  const recorded = stop.reason === 'stop-factor' ? stop.index + 1 : n;
  const trimmed = trimForSuggestions(lr, smoothed, st.numIter, recorded);

  // Slopes come from a running median of the raw losses, not from the EMA: the median drops isolated spikes
  // (which the EMA turns into a long fake descent) and does not lag behind the LR like the EMA does.
  const robust = runningMedian(loss, Math.max(2, Math.floor(st.numIter / 25)));
  const slopes = localSlopes(lr, robust);
  const usable = Math.min(stop.reason === 'end' ? n : stop.index + 1, firstNonFinite < 0 ? n : firstNonFinite);

  const suggestions = {} as Record<SuggestionName, SuggestionOrReason>;
  const analysis: Analysis = { settings: st, smoothed, stop, suggestions, slopes, regions: [] };
  const ctx = { lrs: lr, losses: loss, smoothed, settings: st, trimmed, slopes, usable, analysis };
  for (const stage of [0, 1, 2]) {
    for (const spec of SUGGESTIONS) if (spec.stage === stage) suggestions[spec.name] = spec.compute(ctx);
  }
  analysis.regions = regionsOf(smoothed, slopes, suggestions.steepest, suggestions.minimumPoint);
  // The registry's display order, for anyone who iterates the record.
  analysis.suggestions = Object.fromEntries(SUGGESTIONS.map((sp) => [sp.name, suggestions[sp.name]])) as Record<SuggestionName, SuggestionOrReason>;
  return analysis;
}

function regionsOf(smoothed: readonly number[], slopes: readonly number[], steepest: SuggestionOrReason,
  minPoint: SuggestionOrReason): SlopeRegion[] {
  const steepSlope = isSuggestion(steepest) ? slopes[steepest.index] : NaN;
  const minIdx = isSuggestion(minPoint) ? minPoint.index : -1;
  const minLoss = minIdx >= 0 ? smoothed[minIdx] : NaN;
  const start = smoothed.find((s) => Number.isFinite(s)) ?? NaN;
  const drop = Math.max(start - minLoss, Math.abs(minLoss) * 1e-3, 1e-12);
  return smoothed.map((s, i) => {
    const slope = slopes[i];
    let region: SlopeRegion;
    if (!Number.isFinite(s) || (minIdx >= 0 && i > minIdx && s > minLoss + 2 * drop)) region = 'diverging';
    else if (!Number.isFinite(slope)) region = 'unknown';
    else if (minIdx >= 0 && i > minIdx && slope > 0) region = 'rising';
    else if (Number.isFinite(steepSlope) && slope <= 0.5 * steepSlope) region = 'falling-fast';
    else if (Math.abs(slope) < 0.05 * drop && (minIdx < 0 || i < minIdx) && (!isSuggestion(steepest) || i < steepest.index)) region = 'flat';
    else if (isSuggestion(steepest) && i > steepest.index && slope <= 0) region = 'flattening';
    else if (slope < 0) region = 'falling';
    else if (minIdx >= 0 && i >= minIdx) region = 'rising';
    else region = 'flat';
    return region;
  });
}

export function explainRegion(region: SlopeRegion, slope: number): string {
  const per = Number.isFinite(slope) ? ` (${formatSlope(slope)} per decade of LR)` : '';
  switch (region) {
    case 'flat': return `Flat${per}: the LR is still too small to change the loss — training here would be slow.`;
    case 'falling-fast': return `Falling fast${per}: the model learns fastest around here — a good region to pick from.`;
    case 'falling': return `Falling${per}: the loss improves, but not as fast as at the steepest slope.`;
    case 'flattening': return `Flattening near the minimum${per}: the loss has almost stopped improving — this LR is already at the edge.`;
    case 'rising': return `Rising${per}: the LR is too high — the loss gets worse as the LR grows.`;
    case 'diverging': return 'Diverging: the loss has blown up — far too high an LR.';
    default: return 'Not enough neighbouring points to tell the slope here.';
  }
}

