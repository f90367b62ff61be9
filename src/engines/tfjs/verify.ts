/**
 * Verify mode: one candidate max LR, one short one-cycle training from a fresh seeded init, scored on held-out rows.
 * The engine runs it as a child process (`--verify-lr X --verify-steps N`, main.ts); the benchmark can call
 * verifyCandidate in-process. Both give the same numbers.
 *
 * Held-out rows: the config's validation rows when data.validationSplit > 0 (signal "validation"), else the last
 * `holdout` of the (seeded-shuffled) rows, split exactly as validationSplit splits (signal "held-out"). The model
 * trains on the remaining rows only. When no row can be held out (validationSplit > 0 keeps none, or `holdout` would
 * keep none or leave fewer than MIN_ROWS to train on: a dataset of a few rows) it trains on every row and scores the
 * training rows (signal "training"). LR at step t of N: oneCycleLr(lr, t / N, FASTAI_ONE_CYCLE).
 */
import * as path from 'path';
import { FASTAI_ONE_CYCLE, oneCycleLr } from '../../core/oneCycle';
import { toWire } from '../../core/protocol';
import { buildConfigModel } from './build';
import { LR_MAX, LR_MIN, LR_RANGE } from './config';
import { MIN_ROWS, type Dataset } from './dataset';
import type { LoadedConfig } from './load';
import type { BuiltModel } from './model';
import { seedRandomness } from './sweep';
import { createTrainer } from './trainer';
import { EVAL_CHUNK_ROWS, trainScheduleAsync } from './training';

export const DEFAULT_HOLDOUT = 0.2;
export const MAX_VERIFY_STEPS = 1_000_000;

export type HeldOutSignal = 'validation' | 'held-out' | 'training';

export interface VerifyOptions {
  /** The candidate max LR of the one-cycle schedule. */
  lr: number;
  /** Optimizer steps to train. */
  steps: number;
  /** Weights and batch order; default the config's seed. (The engine's --seed also sets the config's seed, which shuffles the rows before the split.) */
  seed?: number;
  /** Fraction of the rows held out when data.validationSplit is 0; default 0.2. */
  holdout?: number;
  /** The workspace folder model.path must lie in; default the config's folder. */
  root?: string;
  /** What error messages call lr, steps and holdout (the engine: its flags). */
  names?: { lr: string; steps: string; holdout: string };
  /** After the model is built, before the first step. */
  onReady?(info: VerifyReady): void;
  /** After every step: the LR it set and the training loss. */
  onStep?(step: number, lr: number, loss: number): void;
  /** Asked before every step (the event loop runs in between). */
  isCancelled?(): boolean;
}

export interface VerifyReady {
  built: BuiltModel;
  /** The dataset as trained: nTrain training rows, then the held-out rows. */
  dataset: Dataset;
  signal: HeldOutSignal;
  batch: number;
}

export interface CandidateResult {
  lr: number;
  seed: number;
  /** Steps trained (the diverging step included). */
  steps: number;
  /** Held-out loss after training (signal "training": the training rows' loss); Infinity if it diverged; NaN if cancelled. */
  loss: number;
  /** Mean training loss over the last 10% of the steps trained (at least one). */
  trainLoss: number;
  /** A non-finite training loss (which stops the training), or a non-finite held-out loss. */
  diverged: boolean;
  cancelled: boolean;
  signal: HeldOutSignal;
  /** Rows scored: the held-out rows (the training rows for signal "training"). */
  rows: number;
  /** evaluate calls the held-out rows take (EVAL_CHUNK_ROWS rows each). */
  batches: number;
  seconds: number;
  trainLosses: number[];
}

/** What is wrong with the verify settings, in the caller's names (flags or fields), or null. */
export function verifyProblem(o: { lr?: number; steps?: number; holdout?: number }, names = { lr: 'lr', steps: 'steps', holdout: 'holdout' }): string | null {
  const { lr, steps, holdout } = o;
  if (lr !== undefined && !(Number.isFinite(lr) && lr >= LR_MIN && lr <= LR_MAX)) return `${names.lr} ${lr} is out of range; expected a max LR ${LR_RANGE}`;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1 && steps <= MAX_VERIFY_STEPS)) return `${names.steps} ${steps} is out of range; expected an integer from 1 to ${MAX_VERIFY_STEPS}`;
  if (holdout !== undefined && !(Number.isFinite(holdout) && holdout > 0 && holdout < 1)) return `${names.holdout} ${holdout} is out of range; expected a fraction above 0 and below 1 (e.g. 0.2)`;
  if (lr !== undefined && steps !== undefined) {
    for (let t = 0; t < steps; t++) {
      const x = oneCycleLr(lr, t / steps, FASTAI_ONE_CYCLE);
      if (!(x >= LR_MIN && x <= LR_MAX)) {
        return `${names.lr} ${lr}: step ${t} of ${steps} would set LR ${x} (the one-cycle schedule runs from max LR / ${FASTAI_ONE_CYCLE.div} up to it and down towards max LR / ${FASTAI_ONE_CYCLE.divFinal}); expected LRs ${LR_RANGE}`;
      }
    }
  }
  return null;
}

/**
 * The rows verify mode trains on and scores: the config's split if it has validation rows, else the last
 * floor(n * holdout) rows, else (nothing can be held out) all rows, scored on themselves.
 */
export function verifySplit(loaded: LoadedConfig, dataset: Dataset, holdout = DEFAULT_HOLDOUT): { dataset: Dataset; signal: HeldOutSignal } {
  const n = dataset.n;
  if ((loaded.config.data.validationSplit ?? 0) > 0) return { dataset, signal: dataset.nTrain < n ? 'validation' : 'training' };
  const nHeld = Math.floor(n * holdout);
  if (nHeld < 1 || n - nHeld < MIN_ROWS) return { dataset: { ...dataset, nTrain: n }, signal: 'training' };
  return { dataset: { ...dataset, nTrain: n - nHeld }, signal: 'held-out' };
}

/**
 * One candidate: seed the weights, build the config's model, train `steps` steps of the one-cycle schedule at max LR
 * `lr` on the training rows, score the held-out rows. `dataset` is as loadDataset gives it (the split is made here).
 * The tfjs backend must be initialised (initBackend).
 */
export async function verifyCandidate(loaded: LoadedConfig, dataset: Dataset, opts: VerifyOptions): Promise<CandidateResult> {
  const t0 = Date.now();
  const problem = verifyProblem(opts, opts.names);
  if (problem) throw new Error(problem);
  const cfg = loaded.config;
  const seed = opts.seed ?? cfg.seed;
  const split = verifySplit(loaded, dataset, opts.holdout ?? DEFAULT_HOLDOUT);
  const ds = split.dataset;
  const batch = Math.min(cfg.batchSize, ds.nTrain);
  seedRandomness(seed);
  const built = await buildConfigModel(loaded, opts.root ?? path.dirname(loaded.file), ds, batch);
  const trainer = createTrainer(built.model, cfg.loss, cfg.optimizer);
  try {
    opts.onReady?.({ built, dataset: ds, signal: split.signal, batch });
    const r = await trainScheduleAsync({
      trainer, dataset: ds, batch, steps: opts.steps, seed,
      lrAt: (t) => oneCycleLr(opts.lr, t / opts.steps, FASTAI_ONE_CYCLE),
      onStep: opts.onStep, isCancelled: opts.isCancelled, score: split.signal === 'training' ? 'training' : 'held-out',
    });
    const diverged = r.diverged || (!r.cancelled && !Number.isFinite(r.heldOutLoss));
    return {
      lr: opts.lr, seed, steps: r.steps, loss: r.cancelled ? NaN : diverged ? Infinity : r.heldOutLoss, trainLoss: r.trainLoss,
      diverged, cancelled: r.cancelled, signal: split.signal, rows: r.heldOutRows, batches: Math.ceil(r.heldOutRows / EVAL_CHUNK_ROWS),
      seconds: (Date.now() - t0) / 1000, trainLosses: r.trainLosses,
    };
  } finally {
    trainer.dispose();
    built.model.dispose();
  }
}

/** The protocol's `candidate` event for a result (numbers through toWire). */
export function candidateEvent(r: CandidateResult): Record<string, unknown> {
  return {
    type: 'candidate', lr: r.lr, seed: r.seed, steps: r.steps, loss: toWire(r.loss), trainLoss: toWire(r.trainLoss),
    diverged: r.diverged, signal: r.signal, rows: r.rows, batches: r.batches, seconds: r.seconds,
  };
}
