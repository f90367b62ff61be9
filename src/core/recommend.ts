/**
 * LR Finder's recommended LR: halfway (in log LR) between fastai's valley and the steepest fall of the loss, never
 * closer than 5x to the LR where the loss stops improving. Pure: no Node, no tfjs, no vscode. Never throws.
 *
 * Why. Where the loss falls fastest per decade of LR, the model learns fastest; that is the LR to train at, and under
 * one-cycle the peak LR. The point where the loss stops improving (its minimum) is the edge of divergence: a real
 * training, many more steps than the sweep spends there, blows up at or just below it. Measured on real trainings
 * (docs/quality.md), two estimates of "the fast part of the descent" each fail alone, in different ways:
 *  - fastai's valley (on the EMA-smoothed loss) resists per-batch noise, but on some curves lands a decade or more
 *    below the best LR, or far above it when the EMA never recovers from huge first losses;
 *  - the steepest slope (a local regression of a running median of the raw losses, searched before the edge) has no
 *    smoothing lag, but a noise dip in a flat start can fool it.
 * Their geometric mean halves the error of either when their errors are independent, and when one fails it is off by
 * half as much in log LR. Then two guards:
 *  - when the sweep diverges while the loss is still falling steeply, the steepest point sits right next to the
 *    edge, and training there diverges: so the LR is capped at a fifth of the edge (one-cycle spends only a short
 *    time at its peak, so it tolerates a peak closer to the edge than a constant LR does: docs/quality.md);
 *  - noise after the real minimum can produce a steeper fake descent at a huge LR: so the steepest slope is searched
 *    only before the edge, and the edge is found on a running median (which drops isolated spikes) as the lowest
 *    loss before the loss first turns up. The EMA-smoothed curve that fastai uses lags the LR by tens of steps, which
 *    moves its minimum (and fastai's minimum/10) about half a decade to a decade too far right; the running median
 *    does not lag.
 * When the curve has no clear descent (the loss never falls below its starting level) it falls back to fastai's
 * valley, and says so.
 */
import { analyzeCurve, isSuggestion, localSlopes, runningMedian, type Analysis, type SweepSettings } from './analysis';
import { formatLr } from './format';

export interface Recommendation {
  lr: number;
  /** Index into the recorded points of the point the LR comes from (the recorded LR nearest to it). */
  index: number;
  /** What it was derived from, e.g. "between valley and steepest" or "edge / 5". */
  method: string;
  /** One plain sentence for the plot. */
  explanation: string;
}

export type RecommendationOrReason = Recommendation | { reason: string };

/** How far below the edge the recommendation stays at least. */
export const EDGE_FACTOR = 5;
/** The edge is where the running-median loss first rises this fraction of the total drop above its lowest value so far. */
const RISE_FRACTION = 0.2;
/** Gaussian bandwidth (decades of LR) of the local slope, as in analysis.ts. */
const SLOPE_BANDWIDTH = 0.2;

export function recommend(lrs: readonly number[], losses: readonly number[], a: Analysis): RecommendationOrReason {
  try {
    return recommendUnsafe(lrs, losses, a);
  } catch (e) {
    return { reason: `no recommendation: ${(e as Error)?.message ?? String(e)}` };
  }
}

/** The recorded LR nearest (in log) to `lr` among the first `usable` points. */
function nearestIndex(lrs: readonly number[], usable: number, lr: number): number {
  let index = 0;
  for (let i = 1; i < usable; i++) if (Math.abs(Math.log(lrs[i] / lr)) < Math.abs(Math.log(lrs[index] / lr))) index = i;
  return index;
}

function recommendUnsafe(lrs: readonly number[], losses: readonly number[], a: Analysis): RecommendationOrReason {
  const n = Math.min(lrs.length, losses.length);
  const numIter = Number.isFinite(a?.settings?.numIter) && a.settings.numIter > 0 ? a.settings.numIter : n;
  // Points up to the sweep's stop (fastai's stop rule or the first non-finite loss), with a valid LR.
  let usable = n;
  if (a?.stop && a.stop.reason !== 'end' && a.stop.index >= 0 && a.stop.index < n) usable = a.stop.index + 1;
  for (let i = 0; i < usable; i++) {
    if (!(lrs[i] > 0) || !Number.isFinite(lrs[i]) || (i > 0 && !(lrs[i] > lrs[i - 1]))) { usable = i; break; }
  }
  const robustAll = runningMedian(losses.slice(0, n), Math.max(2, Math.floor(numIter / 25)));
  const firstBad = robustAll.findIndex((v, i) => i < usable && !Number.isFinite(v));
  if (firstBad >= 0) usable = firstBad;
  if (usable < 5) return { reason: `needs at least 5 recorded points with a finite loss, has ${Math.max(0, usable)}` };
  const lr = lrs.slice(0, usable);
  const robust = robustAll.slice(0, usable);

  // fastai's valley, when it lies on a usable recorded point.
  const v = a?.suggestions?.valley;
  const valleyLr = isSuggestion(v) && v.lr > 0 && Number.isFinite(v.lr) && v.index >= 0 && v.index < usable ? v.lr : undefined;

  let warm = Math.floor(numIter / 10);
  if (usable <= warm + 3) warm = 0;
  const start = robust[warm];
  let low = warm;
  for (let i = warm; i < usable; i++) if (robust[i] < robust[low]) low = i;
  const drop = start - robust[low];
  if (!(drop > 0)) {
    if (valleyLr === undefined) return { reason: 'the loss never falls below its starting level' };
    return {
      lr: valleyLr, index: nearestIndex(lr, usable, valleyLr), method: 'valley (no clear descent)',
      explanation: `Recommended ${formatLr(valleyLr)}, fastai's valley, with care: the loss never clearly falls below ` +
        'its starting level in this sweep, so check the data scaling or widen the LR range.',
    };
  }

  // The edge: the lowest loss before the loss first turns up (by RISE_FRACTION of the drop, once at least half of
  // the drop is done), else the lowest loss of the curve.
  let edge = low;
  let turnsUp = false;
  let best = Infinity, bestI = -1;
  for (let i = warm; i < usable; i++) {
    if (robust[i] < best) { best = robust[i]; bestI = i; }
    if (best < start - 0.5 * drop && robust[i] > best + RISE_FRACTION * drop) { edge = bestI; turnsUp = true; break; }
  }
  // A curve still falling when the sweep ended: its "edge" is only the highest LR the sweep reached.
  const where = !turnsUp && edge >= usable - 3 ? 'the end of the sweep, where the loss was still falling' : 'where the loss stops improving';

  const slopes = localSlopes(lr, robust, SLOPE_BANDWIDTH);
  let steep = -1;
  for (let i = Math.min(warm, Math.max(0, edge - 1)); i <= edge; i++) {
    if (Number.isFinite(slopes[i]) && slopes[i] < 0 && (steep < 0 || slopes[i] < slopes[steep])) steep = i;
  }
  const steepLr = steep >= 0 ? lr[steep] : undefined;
  if (steepLr === undefined && valleyLr === undefined) return { reason: 'the loss never falls before it stops improving' };

  const cap = lr[edge] / EDGE_FACTOR;
  const blend = steepLr !== undefined && valleyLr !== undefined ? Math.sqrt(steepLr * valleyLr) : (steepLr ?? valleyLr)!;
  const from = steepLr !== undefined && valleyLr !== undefined
    ? `halfway between fastai's valley (${formatLr(valleyLr)}) and the steepest fall (${formatLr(steepLr)})`
    : steepLr !== undefined ? `the steepest fall (${formatLr(steepLr)})` : `fastai's valley (${formatLr(valleyLr!)})`;
  const method = steepLr !== undefined && valleyLr !== undefined ? 'between valley and steepest'
    : steepLr !== undefined ? 'steepest before the edge' : 'valley';
  if (blend <= cap) {
    return {
      lr: blend, index: nearestIndex(lr, usable, blend), method,
      explanation: `Recommended ${formatLr(blend)}: ${from}, at least ${EDGE_FACTOR}× below ${formatLr(lr[edge])}, ${where}.`,
    };
  }
  return {
    lr: cap, index: nearestIndex(lr, usable, cap), method: `edge / ${EDGE_FACTOR}`,
    explanation: `Recommended ${formatLr(cap)}: a fifth of ${formatLr(lr[edge])}, ${where}, because ${steepLr !== undefined && valleyLr !== undefined ? 'the point ' : ''}` +
      `${from} is too close to that edge to train at.`,
  };
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
    return { ...mid, method: `median of ${recs.length} runs (${mid.method})` };
  } catch (e) {
    return { reason: `no recommendation: ${(e as Error)?.message ?? String(e)}` };
  }
}
