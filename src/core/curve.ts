/**
 * Robust features of a range-test curve, free of the EMA's lag and of single-batch spikes: a running median of the
 * raw losses, local slopes per decade of LR, the minimum point and the steepest slope. Pure.
 */
import { formatLr } from './format';
import type { SuggestionOrReason } from './analysis';

const has = (s: SuggestionOrReason): s is Extract<SuggestionOrReason, { lr: number }> => 'lr' in s;

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
export function minimumPoint(lrs: readonly number[], smoothed: readonly number[], usable: number, warmup: number): SuggestionOrReason {
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
export function steepestPoint(lrs: readonly number[], slopes: readonly number[], usable: number,
  minPoint: SuggestionOrReason, numIter: number): SuggestionOrReason {
  if (!has(minPoint)) return { name: 'steepest', reason: minPoint.reason };
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

export function formatSlope(slope: number): string {
  if (!Number.isFinite(slope)) return String(slope);
  const a = Math.abs(slope);
  const txt = a >= 100 || a < 0.01 ? slope.toExponential(1) : slope.toPrecision(2);
  return slope > 0 ? `+${txt}` : txt;
}
