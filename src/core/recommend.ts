/**
 * LR Finder's recommended LR: the median of five estimates of a good peak LR — fastai's valley, slide, minimum and
 * steep, and a third of the LR where the loss stops improving. Pure: no Node, no tfjs, no vscode. Never throws.
 *
 * Why. Where the loss falls fastest the model learns fastest, and the point where the loss stops improving (its
 * minimum) is the edge of divergence: a real training, many more steps than the sweep spends there, blows up at or
 * just below it. Every rule that reads "a high LR where the loss still falls, safely below the edge" off the curve
 * measures it, and each fails on some curves, in its own way (docs/quality.md, measured with real trainings):
 *  - valley (on the EMA-smoothed loss) resists per-batch noise but can land a decade or more too low, or far too high
 *    when the EMA never recovers from huge first losses;
 *  - steep and slide follow the slope between neighbouring points, and noise or a spike moves them by decades;
 *  - minimum/10 sits half a decade to a decade too far right on some curves, because the EMA lags the LR;
 *  - a third of the edge (the edge found without lag, on a running median of the raw losses) does not know how far
 *    below the edge a given task trains best.
 * The best peak LR itself varies by more than a decade relative to the curve between tasks (it depends on how well the
 * model generalises, which a training-loss curve cannot show). The median of the five is the classic robust
 * combination: any two of the five can fail arbitrarily badly and it still lies within the range of the other three.
 * The edge is the lowest running-median loss before the loss first turns up (by 20% of its total drop, once half the
 * drop is done), so a noisy tail cannot move it.
 */
import type { Analysis, SuggestionOrReason } from './analysis';
import { runningMedian } from './curve';
import type { SuggestionName } from './suggestions';
import { formatLr } from './format';

export interface Recommendation {
  lr: number;
  /** Index into the recorded points of the recorded LR nearest to it. */
  index: number;
  /** What it was derived from, e.g. "median of 5 estimates (minimum)". */
  method: string;
  /** One plain sentence for the plot. */
  explanation: string;
}

export type RecommendationOrReason = Recommendation | { reason: string };

/** The fifth estimate: the edge divided by this. */
export const EDGE_FACTOR = 3;
/** The edge is where the running-median loss first rises this fraction of the total drop above its lowest value so far. */
const RISE_FRACTION = 0.2;
const FASTAI: SuggestionName[] = ['valley', 'slide', 'minimum', 'steep'];
const isSuggestion = (s: SuggestionOrReason | undefined): s is Extract<SuggestionOrReason, { lr: number }> => !!s && 'lr' in s;
/** findEdge's reason when the curve has no descent at all. */
const NO_DESCENT = 'the loss never falls below its starting level';

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

export interface Edge {
  lr: number;
  index: number;
  /** Where it is, in words: "where the loss stops improving", or the end of a sweep still falling. */
  where: string;
}

/** The LR where the loss stops improving, found on a running median of the raw losses; a reason when there is none. */
export function findEdge(lrs: readonly number[], losses: readonly number[], a: Analysis): Edge | { reason: string } {
  const n = Math.min(lrs.length, losses.length);
  const numIter = Number.isFinite(a?.settings?.numIter) && a.settings.numIter > 0 ? a.settings.numIter : n;
  // Points up to the sweep's stop (fastai's stop rule or the first non-finite loss), with a valid LR.
  let usable = n;
  if (a?.stop && a.stop.reason !== 'end' && a.stop.index >= 0 && a.stop.index < n) usable = a.stop.index + 1;
  for (let i = 0; i < usable; i++) {
    if (!(lrs[i] > 0) || !Number.isFinite(lrs[i]) || (i > 0 && !(lrs[i] > lrs[i - 1]))) { usable = i; break; }
  }
  const robust = runningMedian(losses.length === n ? losses : losses.slice(0, n), Math.max(2, Math.floor(numIter / 25)));
  const firstBad = robust.findIndex((v, i) => i < usable && !Number.isFinite(v));
  if (firstBad >= 0) usable = firstBad;
  if (usable < 5) return { reason: `needs at least 5 recorded points with a finite loss, has ${Math.max(0, usable)}` };

  let warm = Math.floor(numIter / 10);
  if (usable <= warm + 3) warm = 0;
  const start = robust[warm];
  let low = warm;
  for (let i = warm; i < usable; i++) if (robust[i] < robust[low]) low = i;
  const drop = start - robust[low];
  if (!(drop > 0)) return { reason: NO_DESCENT };
  // The lowest loss before the loss first turns up (by RISE_FRACTION of the drop, once at least half of the drop is
  // done), else the lowest loss of the curve.
  let edge = low;
  let turnsUp = false;
  let best = Infinity, bestI = -1;
  for (let i = warm; i < usable; i++) {
    if (robust[i] < best) { best = robust[i]; bestI = i; }
    if (best < start - 0.5 * drop && robust[i] > best + RISE_FRACTION * drop) { edge = bestI; turnsUp = true; break; }
  }
  // A curve still falling when the sweep ended: its "edge" is only the highest LR the sweep reached.
  const where = !turnsUp && edge >= usable - 3 ? 'the end of the sweep, where the loss was still falling' : 'where the loss stops improving';
  return { lr: lrs[edge], index: edge, where };
}

function recommendUnsafe(lrs: readonly number[], losses: readonly number[], a: Analysis): RecommendationOrReason {
  const n = Math.min(lrs.length, losses.length);
  const valid = (lr: unknown): lr is number => typeof lr === 'number' && lr > 0 && Number.isFinite(lr);
  const estimates: { name: string; lr: number }[] = [];
  for (const name of FASTAI) {
    const s = a?.suggestions?.[name];
    if (isSuggestion(s) && valid(s.lr) && s.index >= 0 && s.index < n) estimates.push({ name, lr: s.lr });
  }
  const edge = findEdge(lrs, losses, a);
  const edgeLr = 'lr' in edge && valid(edge.lr) ? edge.lr : undefined;
  if (edgeLr !== undefined) estimates.push({ name: `edge / ${EDGE_FACTOR}`, lr: edgeLr / EDGE_FACTOR });
  if (!estimates.length) return { reason: 'reason' in edge ? edge.reason : 'no estimate to combine' };
  const sorted = estimates.slice().sort((x, y) => x.lr - y.lr);
  const m = sorted.length >> 1;
  const lr = sorted.length % 2 ? sorted[m].lr : Math.sqrt(sorted[m - 1].lr * sorted[m].lr);
  const from = sorted.length % 2 ? sorted[m].name : `${sorted[m - 1].name} and ${sorted[m].name}`;
  const items = sorted.map((e) => `${e.name.replace(' / ', '/')} ${formatLr(e.lr)}`);
  const edgeNote = edgeLr !== undefined && 'where' in edge ? `; the edge, ${formatLr(edgeLr)}, is ${edge.where}` : '';
  const listed = (items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}` : items[0]) + edgeNote;
  const caveat = 'reason' in edge && edge.reason === NO_DESCENT
    ? ', but with care: the loss never clearly falls below its starting level in this sweep, so check the data scaling or widen the LR range'
    : estimates.length > 2 ? ', so no single misleading estimate can move it' : '';
  return {
    lr, index: nearestIndex(lrs, n, lr),
    method: `median of ${estimates.length} estimates (${from})`,
    explanation: `Recommended ${formatLr(lr)}, the middle of ${estimates.length} estimates (${listed})${caveat}.`,
  };
}
