/**
 * Turns a recorded range-test curve into what the user sees: smoothed losses, the stop point, fastai's four
 * suggestions (exact), our steepest-slope point and the minimum point, and a local slope with a plain explanation at
 * every point. Never throws on a short or degenerate curve: a missing suggestion carries its reason. Pure.
 */
import { minimum, slide, smoothLosses, steep, stopIndex, trimForSuggestions, valley, type FastaiPick, type SweepMode } from './fastai';
import { formatLr } from './format';
import { recommend } from './recommend';

export type SuggestionName = 'valley' | 'slide' | 'minimum' | 'steep' | 'steepest' | 'minimumPoint' | 'recommended';
export const FASTAI_METHODS = ['valley', 'slide', 'minimum', 'steep'] as const;

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

export interface PointInfo {
  lr: number;
  loss: number;
  smoothed: number;
  /** d smoothed loss / d log10(lr): the change of loss per decade of LR (negative = improving). */
  slope: number;
  region: SlopeRegion;
  explanation: string;
}

export interface Analysis {
  settings: SweepSettings;
  smoothed: number[];
  stop: { index: number; reason: 'stop-factor' | 'non-finite' | 'end' };
  suggestions: Record<SuggestionName, SuggestionOrReason>;
  points: PointInfo[];
}

export function isSuggestion(s: SuggestionOrReason | undefined): s is Suggestion {
  return !!s && 'lr' in s;
}

/** Analyse a recorded curve. `lrs` and `losses` are the raw recorded values, same length. */
export function analyzeCurve(lrs: readonly number[], losses: readonly number[], settings: Partial<SweepSettings> = {}): Analysis {
  const st: SweepSettings = { ...FASTAI_DEFAULTS, ...settings };
  const n = Math.min(lrs.length, losses.length);
  const lr = lrs.slice(0, n);
  const smoothed = smoothLosses(losses.slice(0, n), st.smoothing);

  const firstNonFinite = smoothed.findIndex((s) => !Number.isFinite(s));
  const stopAt = stopIndex(smoothed, st.stopFactor);
  let stop: Analysis['stop'];
  if (stopAt >= 0 && (firstNonFinite < 0 || stopAt < firstNonFinite)) stop = { index: stopAt, reason: 'stop-factor' };
  else if (firstNonFinite >= 0) stop = { index: firstNonFinite, reason: 'non-finite' };
  else stop = { index: n - 1, reason: 'end' };

  // fastai stops recording at the point that triggered the stop rule; a longer input is cut there too.
  const recorded = stop.reason === 'stop-factor' ? stop.index + 1 : n;
  const trimmed = trimForSuggestions(lr.slice(0, recorded), smoothed.slice(0, recorded), st.numIter);
  const fromFastai = (name: SuggestionName, r: FastaiPick | string, explain: (p: Suggestion) => string): SuggestionOrReason => {
    if (typeof r === 'string') return { name, reason: r };
    const s: Suggestion = { name, lr: r.lr, index: r.index + trimmed.offset, explanation: '' };
    s.explanation = explain(s);
    return s;
  };
  const valleyS = fromFastai('valley', valley(trimmed.lrs, trimmed.losses), (s) =>
    `fastai's valley: about a third of the way down the longest stretch where the loss keeps falling, at ${formatLr(s.lr)}.`);
  const slideS = fromFastai('slide', slide(trimmed.lrs, trimmed.losses), (s) =>
    `fastai's slide: where the slope stops changing when sliding back from the end of the curve, at ${formatLr(s.lr)}.`);
  const minS = fromFastai('minimum', minimum(trimmed.lrs, trimmed.losses), (s) =>
    `fastai's minimum: one tenth of the LR with the lowest loss, ${formatLr(s.lr)}, to stay clear of divergence.`);
  const steepS = fromFastai('steep', steep(trimmed.lrs, trimmed.losses), (s) =>
    `fastai's steep: the left end of the steepest segment between neighbouring points, at ${formatLr(s.lr)}.`);

  // Slopes come from a running median of the raw losses, not from the EMA: the median drops isolated spikes
  // (which the EMA turns into a long fake descent) and does not lag behind the LR like the EMA does.
  const robust = runningMedian(losses.slice(0, n), Math.max(2, Math.floor(st.numIter / 25)));
  const slopes = localSlopes(lr, robust);
  const usable = Math.min(stop.reason === 'end' ? n : stop.index + 1, firstNonFinite < 0 ? n : firstNonFinite);
  const minPoint = minimumPoint(lr, smoothed, usable, Math.floor(st.numIter / 10));
  const steepest = steepestPoint(lr, slopes, usable, minPoint, st.numIter);
  const points = describePoints(lr, losses.slice(0, n), smoothed, slopes, steepest, minPoint);

  const analysis: Analysis = {
    settings: st,
    smoothed,
    stop,
    suggestions: {
      valley: valleyS, slide: slideS, minimum: minS, steep: steepS,
      steepest, minimumPoint: minPoint, recommended: { name: 'recommended', reason: 'not computed yet' },
    },
    points,
  };
  const rec = recommend(lr, losses.slice(0, n), analysis);
  analysis.suggestions.recommended = 'lr' in rec ? { name: 'recommended', ...rec } : { name: 'recommended', reason: rec.reason };
  return analysis;
}

/** Running median over 2k+1 points (shrinking at the edges); non-finite values count as +Infinity. */
export function runningMedian(xs: readonly number[], k: number): number[] {
  return xs.map((_, i) => {
    if (!Number.isFinite(xs[i])) return xs[i];
    const w = xs.slice(Math.max(0, i - k), Math.min(xs.length, i + k + 1)).map((v) => (Number.isNaN(v) ? Infinity : v)).sort((a, b) => a - b);
    const m = w.length >> 1;
    return w.length % 2 ? w[m] : (w[m - 1] + w[m]) / 2;
  });
}

/**
 * Local slope per decade of LR at every point: a local linear regression of the loss on log10(lr) with Gaussian
 * weights (bandwidth `h` decades). Unlike a difference quotient it is not thrown by single-step noise, and unlike the
 * EMA it does not lag behind the LR.
 */
export function localSlopes(lrs: readonly number[], ys: readonly number[], h = 0.2): number[] {
  const n = lrs.length;
  const x = lrs.map((v) => Math.log10(v));
  const out = new Array<number>(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(ys[i]) || !Number.isFinite(x[i])) continue;
    let sw = 0, sx = 0, sy = 0, count = 0;
    for (let k = 0; k < n; k++) {
      const d = (x[k] - x[i]) / h;
      if (Math.abs(d) > 3 || !Number.isFinite(ys[k])) continue;
      const w = Math.exp(-0.5 * d * d);
      sw += w; sx += w * x[k]; sy += w * ys[k]; count++;
    }
    if (count < 2) continue;
    const mx = sx / sw, my = sy / sw;
    let sxy = 0, sxx = 0;
    for (let k = 0; k < n; k++) {
      const d = (x[k] - x[i]) / h;
      if (Math.abs(d) > 3 || !Number.isFinite(ys[k])) continue;
      const w = Math.exp(-0.5 * d * d);
      sxy += w * (x[k] - mx) * (ys[k] - my); sxx += w * (x[k] - mx) ** 2;
    }
    out[i] = sxx > 0 ? sxy / sxx : NaN;
  }
  return out;
}

/** The lowest smoothed loss after the warm-up (the first numIter/10 points, where the debiased EMA is still noisy). */
function minimumPoint(lrs: readonly number[], smoothed: readonly number[], usable: number, warmup: number): SuggestionOrReason {
  let idx = -1;
  for (let i = usable > warmup + 1 ? warmup : 0; i < usable; i++) if (Number.isFinite(smoothed[i]) && (idx < 0 || smoothed[i] < smoothed[idx])) idx = i;
  if (idx < 0) return { name: 'minimumPoint', reason: 'no finite loss was recorded' };
  return {
    name: 'minimumPoint', lr: lrs[idx], index: idx,
    explanation: `The lowest smoothed loss, at ${formatLr(lrs[idx])}. Not the LR to pick: here the loss has already stopped ` +
      'improving and a little more LR makes it diverge; training at this LR is on the edge.',
  };
}

/**
 * Steepest slope: the most negative local slope per decade, searched only between the end of the warm-up
 * (the first numIter/10 points, which fastai skips too) and the minimum, so that an early spike or the divergence
 * after the minimum cannot win.
 */
function steepestPoint(lrs: readonly number[], slopes: readonly number[], usable: number,
  minPoint: SuggestionOrReason, numIter: number): SuggestionOrReason {
  if (!isSuggestion(minPoint)) return { name: 'steepest', reason: minPoint.reason };
  const from = Math.min(Math.floor(numIter / 10), Math.max(0, minPoint.index - 1));
  let idx = -1;
  for (let i = from; i <= minPoint.index && i < usable; i++) {
    if (Number.isFinite(slopes[i]) && slopes[i] < 0 && (idx < 0 || slopes[i] < slopes[idx])) idx = i;
  }
  if (idx < 0) return { name: 'steepest', reason: 'the loss never falls before its minimum' };
  return {
    name: 'steepest', lr: lrs[idx], index: idx,
    explanation: `Steepest slope: the loss falls fastest here (${formatSlope(slopes[idx])} per decade of LR), ` +
      `at ${formatLr(lrs[idx])} — where the model learns fastest.`,
  };
}

function describePoints(lrs: readonly number[], losses: readonly number[], smoothed: readonly number[], slopes: readonly number[],
  steepest: SuggestionOrReason, minPoint: SuggestionOrReason): PointInfo[] {
  const steepSlope = isSuggestion(steepest) ? slopes[steepest.index] : NaN;
  const minIdx = isSuggestion(minPoint) ? minPoint.index : -1;
  const minLoss = minIdx >= 0 ? smoothed[minIdx] : NaN;
  const start = smoothed.find((s) => Number.isFinite(s)) ?? NaN;
  const drop = Math.max(start - minLoss, Math.abs(minLoss) * 1e-3, 1e-12);
  return lrs.map((lr, i) => {
    const slope = slopes[i];
    const s = smoothed[i];
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
    return { lr, loss: losses[i], smoothed: s, slope, region, explanation: explainRegion(region, slope) };
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

export function formatSlope(slope: number): string {
  if (!Number.isFinite(slope)) return String(slope);
  const a = Math.abs(slope);
  const txt = a >= 100 || a < 0.01 ? slope.toExponential(1) : slope.toPrecision(2);
  return slope > 0 ? `+${txt}` : txt;
}
