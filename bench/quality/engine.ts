/**
 * The tfjs side of the benchmark, built from the engine's own modules: config and data loading (load.ts, dataset.ts),
 * model building (model.ts), the range test (sweep.ts), the optimizer step (trainer.ts) and the training loop
 * (training.ts, as the engine's verify mode trains). So the curve is the one the finder records, and the trainings
 * take the same tfjs path.
 */
import * as path from 'path';
import { parseConfigText, type TrainingConfig } from '../../src/engines/tfjs/config';
import type { Dataset } from '../../src/engines/tfjs/dataset';
import { LocatedError } from '../../src/core/errors';
import { issueError, loadConfig, loadDataset, type LoadedConfig } from '../../src/engines/tfjs/load';
import { buildSequential } from '../../src/engines/tfjs/model';
import { runSweep, seedRandomness } from '../../src/engines/tfjs/sweep';
import { createTrainer } from '../../src/engines/tfjs/trainer';
import { trainSchedule, type ScheduleResult } from '../../src/engines/tfjs/training';
import { scheduleFor, type Protocol } from './schedule';
import { BUDGET_STEPS, VALIDATION_SPLIT, type TaskDef } from './tasks';

export interface LoadedTask {
  def: TaskDef;
  config: TrainingConfig;
  dataset: Dataset;
  /** Validation loss of predicting the prior (training-set class frequencies, or the training mean). */
  prior: number;
  epochs: number;
  stepsPerEpoch: number;
}

/** Parse the task's config exactly as the finder does, then hold out a validation split for scoring. */
export function loadTaskConfig(def: TaskDef, root: string): LoadedConfig {
  let loaded: LoadedConfig;
  if (def.example) {
    loaded = loadConfig(path.join(root, def.example));
  } else {
    const file = path.join(root, def.file!);
    const parsed = parseConfigText(file, def.yaml!);
    if (!parsed.config) throw issueError(parsed.issues[0]);
    loaded = {
      file, config: parsed.config, parsed,
      pointer: (p, message) => new LocatedError(`${file} (benchmark task ${def.name}): ${p.join('.')}: ${message}`, file),
    };
  }
  const cfg = loaded.config;
  cfg.data.validationSplit = VALIDATION_SPLIT;
  cfg.sweep.validation = false; // the recorded curve is the training loss either way
  cfg.sweep.repeats = 1;
  return loaded;
}

export function loadTask(def: TaskDef, root: string): LoadedTask {
  const loaded = loadTaskConfig(def, root);
  const { dataset } = loadDataset(loaded, root);
  const batch = Math.min(loaded.config.batchSize, dataset.nTrain);
  const stepsPerEpoch = Math.floor(dataset.nTrain / batch);
  const epochs = Math.max(1, Math.round(BUDGET_STEPS / stepsPerEpoch));
  return { def, config: loaded.config, dataset, prior: priorLoss(loaded.config, dataset), epochs, stepsPerEpoch };
}

const EPS = 1e-7;
const clip = (p: number) => Math.min(1 - EPS, Math.max(EPS, p));

/** The validation loss of a model that ignores its input and predicts the training set's prior. */
export function priorLoss(cfg: TrainingConfig, ds: Dataset): number {
  const { nTrain, n } = ds;
  const width = ds.y.length / n;
  const yAt = (r: number, k = 0) => ds.y[r * width + k];
  let total = 0;
  switch (cfg.loss) {
    case 'meanSquaredError': case 'huber': case 'meanAbsoluteError': {
      const t: number[] = [];
      for (let r = 0; r < nTrain; r++) t.push(yAt(r));
      const mean = t.reduce((a, b) => a + b, 0) / t.length;
      const sorted = t.slice().sort((a, b) => a - b);
      const median = sorted[sorted.length >> 1];
      for (let r = nTrain; r < n; r++) {
        const e = yAt(r) - (cfg.loss === 'meanAbsoluteError' ? median : mean);
        total += cfg.loss === 'meanSquaredError' ? e * e : cfg.loss === 'meanAbsoluteError' ? Math.abs(e)
          : Math.abs(e) <= 1 ? 0.5 * e * e : Math.abs(e) - 0.5;
      }
      return total / (n - nTrain);
    }
    case 'binaryCrossentropy': {
      let p = 0;
      for (let r = 0; r < nTrain; r++) p += yAt(r);
      p = clip(p / nTrain);
      for (let r = nTrain; r < n; r++) total -= yAt(r) * Math.log(p) + (1 - yAt(r)) * Math.log(1 - p);
      return total / (n - nTrain);
    }
    default: {
      const classes = ds.classes!.length;
      const counts = new Array<number>(classes).fill(0);
      const label = (r: number) => (cfg.loss === 'sparseCategoricalCrossentropy' ? yAt(r) : Array.from({ length: classes }, (_, k) => yAt(r, k)).indexOf(1));
      for (let r = 0; r < nTrain; r++) counts[label(r)]++;
      for (let r = nTrain; r < n; r++) total -= Math.log(clip(counts[label(r)] / nTrain));
      return total / (n - nTrain);
    }
  }
}

export interface RecordedCurve {
  seed: number;
  lrs: number[];
  losses: number[];
  reason: string;
  seconds: number;
}

/** One range test exactly as the engine runs it (runSweep), with the weights and batch order seeded by `seed`. */
export async function rangeTest(t: LoadedTask, seed: number): Promise<RecordedCurve> {
  const cfg: TrainingConfig = { ...t.config, seed, sweep: { ...t.config.sweep } };
  seedRandomness(seed);
  const { model } = buildSequential(cfg.model);
  const lrs: number[] = [];
  const losses: number[] = [];
  try {
    const end = await runSweep(cfg, t.dataset, model, {
      onPoint: (p) => { lrs.push(p.lr); losses.push(p.loss); },
      isCancelled: () => false,
    });
    return { seed, lrs, losses, reason: end.reason, seconds: end.seconds ?? 0 };
  } finally {
    model.dispose();
  }
}

export interface TrainingResult {
  /** Final validation loss (NaN if it diverged). */
  valLoss: number;
  /** What the benchmark scores: valLoss, or the prior's loss if the run diverged or ended worse than the prior. */
  score: number;
  diverged: boolean;
  seconds: number;
}

/**
 * A short real training from a fresh seeded init: `epochs` epochs of `stepsPerEpoch` shuffled mini-batches (the last
 * partial batch dropped, as fastai and the range test do), LR per step from the protocol, then the validation loss.
 * The loop is the engine's own (trainSchedule, as its verify mode trains).
 */
export function train(t: LoadedTask, protocol: Protocol, lr: number, seed: number): TrainingResult {
  const t0 = Date.now();
  const { dataset: ds, config: cfg } = t;
  seedRandomness(seed);
  const { model } = buildSequential(cfg.model);
  const trainer = createTrainer(model, cfg.loss, cfg.optimizer);
  const total = t.epochs * t.stepsPerEpoch;
  let r: ScheduleResult;
  try {
    r = trainSchedule({ trainer, dataset: ds, batch: Math.min(cfg.batchSize, ds.nTrain), steps: total, lrAt: scheduleFor(protocol, total, lr), seed });
  } finally {
    trainer.dispose();
    model.dispose();
  }
  const valLoss = r.heldOutLoss;
  const bad = r.diverged || !Number.isFinite(valLoss) || valLoss > t.prior;
  return { valLoss, score: bad ? t.prior : valLoss, diverged: bad, seconds: (Date.now() - t0) / 1000 };
}
