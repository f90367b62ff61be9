/**
 * Training-LR schedules of the benchmark. Pure.
 *
 * One-cycle is fastai's fit_one_cycle (fastai/callback/schedule.py, combined_cos): pct_start 0.25, div 25,
 * div_final 1e5, cosine warm-up from lrMax/25 to lrMax over the first 25% of the steps, then cosine annealing to
 * lrMax/1e5. The position is step / totalSteps, as fastai's ParamScheduler computes it before each batch.
 * Momentum (beta1) is NOT cycled: the optimizer keeps its configured momentum, so the trainings run through the
 * engine's own createTrainer unchanged.
 */

export type Protocol = 'onecycle' | 'constant';
export const PROTOCOLS: Protocol[] = ['onecycle', 'constant'];

export const ONE_CYCLE = { pctStart: 0.25, div: 25, divFinal: 1e5 };

/** fastai SchedCos: start + (1 + cos(pi * (1 - pos))) * (end - start) / 2. */
export function schedCos(start: number, end: number, pos: number): number {
  return start + (1 + Math.cos(Math.PI * (1 - pos))) * (end - start) / 2;
}

export function oneCycleLr(step: number, totalSteps: number, lrMax: number, o = ONE_CYCLE): number {
  const p = step / totalSteps;
  if (p < o.pctStart) return schedCos(lrMax / o.div, lrMax, p / o.pctStart);
  return schedCos(lrMax, lrMax / o.divFinal, (p - o.pctStart) / (1 - o.pctStart));
}

export function scheduleFor(protocol: Protocol, totalSteps: number, lr: number): (step: number) => number {
  return protocol === 'onecycle' ? (step) => oneCycleLr(step, totalSteps, lr) : () => lr;
}
