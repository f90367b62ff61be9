/**
 * One optimizer step per call, with the LR set just before it and the loss read back after it.
 * Losses follow Keras' definitions (probabilities in, clipped at 1e-7), so configs mean what Keras users expect.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import type { LossName, OptimizerSpec } from './types';
export type { LossName, OptimizerSpec } from './types';

const EPS = 1e-7;

/** Keras loss functions on (yTrue, yPred) -> scalar mean over the batch. */
export function lossFunction(name: LossName): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  switch (name) {
    case 'categoricalCrossentropy':
      return (y, p) => tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, EPS, 1 - EPS))), -1))) as tf.Scalar);
    case 'sparseCategoricalCrossentropy':
      return (y, p) => tf.tidy(() => {
        const classes = p.shape[p.shape.length - 1] as number;
        const oneHot = tf.oneHot(tf.cast(tf.reshape(y, [-1]), 'int32'), classes);
        return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(p, EPS, 1 - EPS))), -1))) as tf.Scalar;
      });
    case 'binaryCrossentropy':
      return (y, p) => tf.tidy(() => {
        const q = tf.clipByValue(p, EPS, 1 - EPS);
        const yy = tf.reshape(y, q.shape);
        return tf.neg(tf.mean(tf.add(tf.mul(yy, tf.log(q)), tf.mul(tf.sub(1, yy), tf.log(tf.sub(1, q)))))) as tf.Scalar;
      });
    case 'meanSquaredError':
      return (y, p) => tf.tidy(() => tf.mean(tf.square(tf.sub(tf.reshape(y, p.shape), p))));
    case 'meanAbsoluteError':
      return (y, p) => tf.tidy(() => tf.mean(tf.abs(tf.sub(tf.reshape(y, p.shape), p))));
    case 'huber':
      return (y, p) => tf.tidy(() => tf.losses.huberLoss(tf.reshape(y, p.shape), p, undefined, 1.0) as tf.Scalar);
  }
}

export function createOptimizer(spec: OptimizerSpec): tf.Optimizer {
  const lr = spec.learningRate;
  switch (spec.name) {
    case 'sgd':
      return spec.momentum ? tf.train.momentum(lr, spec.momentum, spec.nesterov ?? false) : tf.train.sgd(lr);
    case 'adam':
      return tf.train.adam(lr, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7);
    case 'rmsprop':
      return tf.train.rmsprop(lr, spec.rho ?? 0.9, spec.momentum ?? 0, spec.epsilon ?? 1e-7, spec.centered ?? false);
    case 'adagrad':
      return tf.train.adagrad(lr, spec.initialAccumulatorValue ?? 0.1);
    case 'adamax':
      return tf.train.adamax(lr, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7, spec.decay ?? 0);
  }
}

/** Set the LR of a tfjs optimizer before a step (SGD and momentum cache it in a scalar). */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

export interface Trainer {
  /** One optimizer step on (x, y) at `lr`; returns the batch loss before the update, read back to the host. */
  step(x: tf.Tensor, y: tf.Tensor, lr: number): number;
  /** Loss on (x, y) in inference mode, no update. */
  evaluate(x: tf.Tensor, y: tf.Tensor): number;
  dispose(): void;
}

export function createTrainer(model: LayersModel, loss: LossName, optimizer: OptimizerSpec): Trainer {
  const lossFn = lossFunction(loss);
  const opt = createOptimizer(optimizer);
  // Keras-style kernel/bias regularizers: each layer keeps its penalty terms as functions in `layer.losses`
  // (model.losses stays empty for these models), evaluated inside the minimize closure so they get gradients.
  const penalties = model.layers.flatMap((l) => l.losses as unknown as (() => tf.Scalar)[]).filter((f) => typeof f === 'function');
  const regularizationLoss = () => (penalties.length ? tf.addN(penalties.map((f) => f())) as tf.Scalar : null);
  return {
    step(x, y, lr) {
      setLearningRate(opt, lr);
      const value = opt.minimize(() => {
        const pred = model.apply(x, { training: true }) as tf.Tensor;
        const l = lossFn(y, pred);
        const reg = regularizationLoss();
        return reg ? tf.add(l, reg) as tf.Scalar : l;
      }, true);
      if (!value) return NaN;
      const v = value.dataSync()[0];
      value.dispose();
      return v;
    },
    evaluate(x, y) {
      return tf.tidy(() => lossFn(y, model.apply(x, { training: false }) as tf.Tensor).dataSync()[0]);
    },
    dispose() {
      opt.dispose();
    },
  };
}
