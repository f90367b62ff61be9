/**
 * The range test itself: one optimizer step per mini-batch, LR per step exactly as fastai schedules it,
 * loss read back every step, fastai's stop rule, and a cancel check between steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { TrainingConfig } from './config';
import type { Dataset } from './dataset';
import { SmoothedLoss, scheduleLr } from '../../core/fastai';
import type { EndEvent, PointEvent } from '../../core/protocol';
import { mulberry32, shuffleInPlace } from '../../core/random';
import { createTrainer } from './trainer';

/**
 * tfjs draws every unseeded random number (initializers, dropout masks) from Math.random. The engine is its own
 * process, so seeding Math.random makes weights, dropout and everything else reproducible. (tfjs' Dropout with a
 * fixed `seed` would reuse one mask at every step, which is not dropout.)
 */
export function seedRandomness(seed: number): void {
  Math.random = mulberry32(seed * 2654435761 + 1);
}

export interface SweepHooks {
  onPoint(p: PointEvent): void;
  isCancelled(): boolean;
}

const MAX_VALIDATION_ROWS = 1024;

export async function runSweep(cfg: TrainingConfig, ds: Dataset, model: LayersModel, hooks: SweepHooks): Promise<EndEvent> {
  const t0 = Date.now();
  const { startLr, endLr, numIter, mode, stopFactor, smoothing } = cfg.sweep;
  const trainer = createTrainer(model, cfg.loss, cfg.optimizer);
  const xAll = tf.tensor(ds.x, [ds.n, ...ds.sampleShape]);
  const yAll = tf.tensor(ds.y, [ds.n, ...ds.targetShape]);
  const batch = Math.min(cfg.batchSize, ds.nTrain);
  const rand = mulberry32(cfg.seed ^ 0xba7c4);
  const order = Array.from({ length: ds.nTrain }, (_, i) => i);
  let cursor = order.length; // forces a shuffle before the first batch

  let xVal: tf.Tensor | undefined;
  let yVal: tf.Tensor | undefined;
  if (cfg.sweep.validation && ds.n > ds.nTrain) {
    const end = Math.min(ds.n, ds.nTrain + MAX_VALIDATION_ROWS);
    xVal = tf.slice(xAll, ds.nTrain, end - ds.nTrain);
    yVal = tf.slice(yAll, ds.nTrain, end - ds.nTrain);
  }

  const smoother = new SmoothedLoss(smoothing);
  let best = Infinity;
  let points = 0;
  let reason: EndEvent['reason'] = 'completed';
  try {
    for (let i = 0; i < numIter; i++) {
      // Let SIGTERM / stdin-close handlers run between steps.
      await new Promise((r) => setImmediate(r));
      if (hooks.isCancelled()) { reason = 'cancelled'; break; }
      if (cursor + batch > order.length) { shuffleInPlace(order, rand); cursor = 0; }
      const idx = tf.tensor1d(order.slice(cursor, cursor + batch), 'int32');
      cursor += batch;
      const x = tf.gather(xAll, idx);
      const y = tf.gather(yAll, idx);
      const lr = scheduleLr(i, numIter, startLr, endLr, mode);
      const loss = trainer.step(x, y, lr);
      tf.dispose([idx, x, y]);
      const point: PointEvent = { type: 'point', iteration: i, lr, loss };
      if (xVal && yVal) point.valLoss = trainer.evaluate(xVal, yVal);
      hooks.onPoint(point);
      points++;
      if (!Number.isFinite(loss)) { reason = 'non-finite'; break; }
      const s = smoother.push(loss);
      if (s < best) best = s;
      if (s > Math.fround(stopFactor * best)) { reason = 'diverged'; break; }
    }
  } finally {
    trainer.dispose();
    tf.dispose([xAll, yAll, ...(xVal ? [xVal] : []), ...(yVal ? [yVal] : [])]);
  }
  return { type: 'end', reason, points, seconds: (Date.now() - t0) / 1000 };
}
