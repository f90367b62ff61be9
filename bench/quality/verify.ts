/**
 * Verify in the benchmark, as the product runs it (src/core/verify.ts, src/runner/verifyRun.ts), in-process:
 * centre = the primary range test's recommendation; nextCandidates → train each candidate → … until it returns [];
 * chooseVerified. Each candidate is the engine's own verify-mode training (src/engines/tfjs/verify.ts
 * verifyCandidate): VERIFY_DEFAULTS.steps of one-cycle from the config seed's fresh initialisation.
 *
 * The benchmark's validation rows are its test set (the grid is scored on them), so Verify never sees them: the
 * engine is given only the task's training rows, with no validationSplit, so it holds out the default 20% of those
 * rows (the tail of the seeded shuffle, as verifySplit does for a config without validation rows) and trains on the
 * rest. That is exactly what the product does for a user whose data are the benchmark's training rows.
 *
 * `runVerify` (the rounds) is pure orchestration; `trainCandidate` runs in a worker (tfjs initialised).
 */
import { chooseVerified, nextCandidates, VERIFY_DEFAULTS, type CandidateResult, type VerifyOptions } from '../../src/core/verify';
import type { Dataset } from '../../src/engines/tfjs/dataset';
import type { LoadedConfig } from '../../src/engines/tfjs/load';
import { DEFAULT_HOLDOUT, verifyCandidate } from '../../src/engines/tfjs/verify';
import { loadTaskConfig, type LoadedTask } from './engine';
import type { VerifyCandidateRecord, VerifyRecord } from './score';

export const BENCH_VERIFY: VerifyOptions = { ...VERIFY_DEFAULTS };

/** A candidate training's result, as the worker sends it back (the record without what the rounds add). */
export type CandidateJobResult = Omit<VerifyCandidateRecord, 'seed' | 'round'>;

/** What the engine gets: the task's config without validation rows, and only the task's training rows. */
export interface VerifyContext {
  loaded: LoadedConfig;
  dataset: Dataset;
  root: string;
}

export function verifyContext(t: LoadedTask, root: string): VerifyContext {
  const loaded = loadTaskConfig(t.def, root);
  loaded.config.data.validationSplit = 0;
  const ds = t.dataset;
  const sx = ds.sampleShape.reduce((a, b) => a * b, 1), sy = ds.targetShape.reduce((a, b) => a * b, 1);
  const dataset: Dataset = {
    ...ds, x: ds.x.slice(0, ds.nTrain * sx), y: ds.y.slice(0, ds.nTrain * sy), n: ds.nTrain, nTrain: ds.nTrain,
  };
  return { loaded, dataset, root };
}

/** One candidate (seed = the config's seed + offset), in a worker. */
export async function trainCandidate(c: VerifyContext, lr: number, seedOffset: number, options: VerifyOptions = BENCH_VERIFY): Promise<CandidateJobResult> {
  const r = await verifyCandidate(c.loaded, c.dataset, { lr, steps: options.steps, seed: c.loaded.config.seed + seedOffset, holdout: DEFAULT_HOLDOUT, root: c.root });
  return {
    lr, loss: r.loss, trainLoss: r.trainLoss, diverged: r.diverged, steps: r.steps, signal: r.signal,
    rows: r.rows, trainRows: c.dataset.n - r.rows, seconds: r.seconds,
  };
}

/**
 * The rounds, as VerifyRun runs them (every candidate of a round in parallel, through `train`); the results are
 * collected in the order nextCandidates proposed them, so the record does not depend on which training ends first.
 */
export async function runVerify(
  center: number | undefined, rangeTest: { steps: number; points: number },
  train: (lr: number, seedOffset: number) => Promise<CandidateJobResult>, options: VerifyOptions = BENCH_VERIFY,
): Promise<VerifyRecord> {
  const t0 = Date.now();
  const results: CandidateResult[] = [];
  const records: VerifyCandidateRecord[] = [];
  let round = 0;
  if (center !== undefined) {
    for (;;) {
      const lrs = nextCandidates(center, results, options);
      if (!lrs.length) break;
      const jobs = lrs.flatMap((lr) => Array.from({ length: options.seeds }, (_, seed) => ({ lr, seed })))
        .filter((j) => !results.some((r) => r.seed === j.seed && Math.abs(r.lr / j.lr - 1) < 1e-9));
      const done = await Promise.all(jobs.map((j) => train(j.lr, j.seed)));
      done.forEach((d, i) => {
        const seed = jobs[i].seed;
        results.push({
          lr: jobs[i].lr, seed, loss: d.diverged ? Infinity : d.loss, trainLoss: d.trainLoss, diverged: d.diverged || !Number.isFinite(d.loss),
          steps: d.steps, signal: d.signal, rows: d.rows, seconds: d.seconds,
        });
        records.push({ ...d, lr: jobs[i].lr, seed, round, loss: d.diverged ? Infinity : d.loss });
      });
      round++;
    }
  }
  const choice = center === undefined ? { reason: 'the primary range test gave no recommendation' } : chooseVerified(center, results, options);
  return {
    center: center ?? NaN, options, candidates: records,
    ...('lr' in choice ? { lr: choice.lr, ...(choice.atEdge ? { atEdge: choice.atEdge } : {}), explanation: choice.explanation } : { reason: choice.reason }),
    rounds: round, totalSteps: results.reduce((a, r) => a + (r.steps || 0), 0),
    rangeTestSteps: rangeTest.steps, rangeTestPoints: rangeTest.points, seconds: (Date.now() - t0) / 1000,
  };
}
