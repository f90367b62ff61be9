/**
 * A short real training: `steps` optimizer steps on shuffled mini-batches of the training rows, LR per step from
 * `lrAt`, then the loss on the held-out rows. One loop for the engine's verify mode (verify.ts) and the outcome
 * benchmark (bench/quality/engine.ts).
 *
 * Batch order: the training rows [0, nTrain) are reshuffled at the start of every epoch by
 * mulberry32((seed * 7919) ^ 0x7a11); an epoch is floor(nTrain / batch) batches, the last partial batch dropped
 * (as fastai and the range test do). A non-finite training loss stops the training (diverged).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from './dataset';
import type { Trainer } from './trainer';
import { mulberry32, shuffleInPlace } from '../../core/random';

/** Held-out rows are evaluated this many at a time (one evaluate call when there are no more). */
export const EVAL_CHUNK_ROWS = 4096;

export interface ScheduleRun {
  trainer: Trainer;
  /** Trains on rows [0, nTrain); scores on the held-out rows [nTrain, n). */
  dataset: Dataset;
  batch: number;
  steps: number;
  lrAt(step: number): number;
  /** Seeds the batch order (the weights are the caller's: seed Math.random before building the model). */
  seed: number;
  /** After every step, with the LR it set and the training loss it read back. */
  onStep?(step: number, lr: number, loss: number): void;
  /** Asked before every step; true stops the training (cancelled, no held-out loss). */
  isCancelled?(): boolean;
  /** Score the held-out rows (default) or, when there are none to hold out, the training rows. */
  score?: 'held-out' | 'training';
}

export interface ScheduleResult {
  /** Steps trained (the diverging step included). */
  steps: number;
  diverged: boolean;
  cancelled: boolean;
  trainLosses: number[];
  /** Mean training loss over the last 10% of the steps trained (at least one step); NaN if none. */
  trainLoss: number;
  /** Loss on the scored rows after training; NaN if it diverged, was cancelled or there are no rows to score. */
  heldOutLoss: number;
  /** Rows scored: the held-out rows [nTrain, n), or with score 'training' the training rows [0, nTrain). */
  heldOutRows: number;
  /** evaluate calls the held-out loss took (EVAL_CHUNK_ROWS rows each); 0 if not evaluated. */
  evalBatches: number;
  seconds: number;
}

/** Mean of the last 10% of `losses` (rounded up, at least one). */
export function lastTenthMean(losses: readonly number[]): number {
  if (!losses.length) return NaN;
  const k = Math.max(1, Math.ceil(losses.length / 10));
  let s = 0;
  for (let i = losses.length - k; i < losses.length; i++) s += losses[i];
  return s / k;
}

/**
 * The training as a generator: it yields before every step, so a synchronous caller (trainSchedule) runs straight
 * through and an asynchronous one (trainScheduleAsync) lets signal handlers run between steps.
 */
function* trainingSteps(run: ScheduleRun): Generator<void, ScheduleResult, void> {
  const t0 = Date.now();
  const { trainer, dataset: ds, batch, steps, lrAt } = run;
  if (!(batch >= 1 && batch <= ds.nTrain)) throw new Error(`batch ${batch} must be from 1 to the ${ds.nTrain} training rows`);
  const stepsPerEpoch = Math.floor(ds.nTrain / batch);
  const [from, to] = run.score === 'training' ? [0, ds.nTrain] : [ds.nTrain, ds.n];
  const nHeld = to - from;
  const xAll = tf.tensor(ds.x, [ds.n, ...ds.sampleShape]);
  const yAll = tf.tensor(ds.y, [ds.n, ...ds.targetShape]);
  const rand = mulberry32((run.seed * 7919) ^ 0x7a11);
  const order = Array.from({ length: ds.nTrain }, (_, i) => i);
  const trainLosses: number[] = [];
  let diverged = false;
  let cancelled = false;
  let heldOutLoss = NaN;
  let evalBatches = 0;
  try {
    for (let step = 0; step < steps; step++) {
      yield;
      if (run.isCancelled?.()) { cancelled = true; break; }
      const b = step % stepsPerEpoch;
      if (b === 0) shuffleInPlace(order, rand);
      const idx = tf.tensor1d(order.slice(b * batch, (b + 1) * batch), 'int32');
      const x = tf.gather(xAll, idx);
      const y = tf.gather(yAll, idx);
      const lr = lrAt(step);
      const loss = trainer.step(x, y, lr);
      tf.dispose([idx, x, y]);
      trainLosses.push(loss);
      run.onStep?.(step, lr, loss);
      if (!Number.isFinite(loss)) { diverged = true; break; }
    }
    if (!diverged && !cancelled && nHeld > 0) {
      let total = 0;
      for (let start = from; start < to; start += EVAL_CHUNK_ROWS) {
        const rows = Math.min(EVAL_CHUNK_ROWS, to - start);
        const xv = tf.slice(xAll, start, rows);
        const yv = tf.slice(yAll, start, rows);
        const l = trainer.evaluate(xv, yv);
        tf.dispose([xv, yv]);
        // One chunk: its loss as evaluate gives it; more: the row-weighted mean of the chunks' mean losses.
        total = nHeld <= EVAL_CHUNK_ROWS ? l : total + l * rows;
        evalBatches++;
      }
      heldOutLoss = evalBatches === 1 ? total : total / nHeld;
    }
  } finally {
    tf.dispose([xAll, yAll]);
  }
  return {
    steps: trainLosses.length, diverged, cancelled, trainLosses, trainLoss: lastTenthMean(trainLosses),
    heldOutLoss, heldOutRows: nHeld, evalBatches, seconds: (Date.now() - t0) / 1000,
  };
}

/** The training, synchronously (no cancel check can fire from a signal: use trainScheduleAsync for that). */
export function trainSchedule(run: ScheduleRun): ScheduleResult {
  const it = trainingSteps(run);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/** The training, letting the event loop run (SIGTERM, stdin close) before every step. */
export async function trainScheduleAsync(run: ScheduleRun): Promise<ScheduleResult> {
  const it = trainingSteps(run);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
