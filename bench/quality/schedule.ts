/**
 * Training-LR schedules of the benchmark. Pure.
 *
 * One-cycle is fastai's fit_one_cycle (fastai/callback/schedule.py, combined_cos), the formula of src/core/oneCycle.ts
 * (FASTAI_ONE_CYCLE: pct_start 0.25, div 25, div_final 1e5): cosine warm-up from lrMax/25 to lrMax over the first 25%
 * of the steps, then cosine annealing to lrMax/1e5. The position is step / totalSteps, as fastai's ParamScheduler
 * computes it before each batch. Momentum (beta1) is NOT cycled: the optimizer keeps its configured momentum, so the
 * trainings run through the engine's own createTrainer unchanged.
 */
import { FASTAI_ONE_CYCLE, oneCycleLr as oneCycleAt, type OneCyclePolicy } from '../../src/core/oneCycle';

export type Protocol = 'onecycle' | 'constant';
export const PROTOCOLS: Protocol[] = ['onecycle', 'constant'];

/** The one-cycle settings, as the benchmark's report records them. */
export const ONE_CYCLE = { pctStart: FASTAI_ONE_CYCLE.pctStart, div: FASTAI_ONE_CYCLE.div, divFinal: FASTAI_ONE_CYCLE.divFinal };

export function oneCycleLr(step: number, totalSteps: number, lrMax: number, policy: OneCyclePolicy = FASTAI_ONE_CYCLE): number {
  return oneCycleAt(lrMax, step / totalSteps, policy);
}

export function scheduleFor(protocol: Protocol, totalSteps: number, lr: number): (step: number) => number {
  return protocol === 'onecycle' ? (step) => oneCycleLr(step, totalSteps, lr) : () => lr;
}
