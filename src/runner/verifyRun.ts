/**
 * Runs Verify: the candidate trainings that core/verify.ts asks for, round by round, each a child process of its
 * engine (a `Launch` from `launchFor(lr, seed)`), at most `parallel` at a time. Shared by the CLI and the extension
 * host (no vscode import). A cancel stops every training; what finished is kept and chosen from (`partial`).
 * A training that fails (the script raised, the engine refused) ends Verify with that error.
 */
import * as os from 'os';
import type { CandidateEvent, ErrorEvent, SweepEvent } from '../core/protocol';
import { chooseVerified, nextCandidates, type CandidateResult, type Verified, type VerifyOptions } from '../core/verify';
import { SweepProcess, type Launch, type SweepOutcome } from './sweepProcess';

export interface VerifyRunOptions {
  /** The recommendation the candidates are centred on. */
  center: number;
  options: VerifyOptions;
  /** One candidate training: max LR `lr`, seed offset `seed` (0 = the sweep's own initialisation). */
  launchFor(lr: number, seed: number): Launch;
  parallel?: number;
  /** Every event of every training, with which one it is. */
  onEvent?(job: { lr: number; seed: number; index: number }, e: SweepEvent): void;
  /** A candidate finished (its result), and how many have finished / are planned so far. */
  onCandidate?(result: CandidateResult, done: number, planned: number): void;
  onStderr?(line: string): void;
  onStdout?(line: string): void;
}

export interface VerifyOutcome {
  verified?: Verified;
  /** Why there is no verified LR (nothing finished, every candidate diverged), or a failure's message. */
  reason?: string;
  error?: ErrorEvent;
  results: CandidateResult[];
  cancelled: boolean;
  /** A failed training's outcome (for its stderr tail). */
  failed?: SweepOutcome;
}

export function candidateResult(e: CandidateEvent): CandidateResult {
  return {
    lr: e.lr, seed: e.seed, loss: e.diverged ? Infinity : e.loss, diverged: e.diverged || !Number.isFinite(e.loss), steps: e.steps,
    signal: e.signal, ...(e.trainLoss !== undefined ? { trainLoss: e.trainLoss } : {}), ...(e.rows !== undefined ? { rows: e.rows } : {}),
    ...(e.seconds !== undefined ? { seconds: e.seconds } : {}),
  };
}

export class VerifyRun {
  readonly done: Promise<VerifyOutcome>;
  private readonly procs = new Set<SweepProcess>();
  private cancelled = false;

  constructor(opts: VerifyRunOptions) {
    const parallel = Math.max(1, opts.parallel ?? os.cpus().length);
    this.done = this.run(opts, parallel);
  }

  get pids(): number[] {
    return [...this.procs].map((p) => p.pid).filter((p): p is number => p !== undefined);
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    await Promise.all([...this.procs].map((p) => p.cancel()));
  }

  private async run(opts: VerifyRunOptions, parallel: number): Promise<VerifyOutcome> {
    const results: CandidateResult[] = [];
    let failure: { error: ErrorEvent; outcome: SweepOutcome } | undefined;
    let index = 0;
    let planned = 0;
    while (!this.cancelled && !failure) {
      const lrs = nextCandidates(opts.center, results, opts.options);
      if (!lrs.length) break;
      // Every seed of each LR not yet measured with it.
      const jobs: { lr: number; seed: number }[] = [];
      for (const lr of lrs) {
        for (let seed = 0; seed < opts.options.seeds; seed++) {
          if (!results.some((r) => r.seed === seed && Math.abs(r.lr / lr - 1) < 1e-9)) jobs.push({ lr, seed });
        }
      }
      planned += jobs.length;
      let next = 0;
      const worker = async () => {
        while (next < jobs.length && !this.cancelled && !failure) {
          const job = { ...jobs[next++], index: index++ };
          const proc = new SweepProcess({
            launch: opts.launchFor(job.lr, job.seed),
            onEvent: (e) => opts.onEvent?.(job, e),
            onStderr: opts.onStderr, onStdout: opts.onStdout,
          });
          this.procs.add(proc);
          const outcome = await proc.done;
          this.procs.delete(proc);
          if (outcome.candidate && !outcome.error) {
            // The engine reports the LR it trained; the plan's own value keeps the candidates on their grid.
            const r = { ...candidateResult(outcome.candidate), lr: job.lr, seed: job.seed };
            results.push(r);
            opts.onCandidate?.(r, results.length, planned);
          } else if (!this.cancelled && !outcome.cancelled) {
            const why = outcome.error ?? {
              type: 'error' as const,
              message: `the training at LR ${job.lr} ${outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`} without a result` +
                (outcome.stderrTail.length ? `:\n${outcome.stderrTail.slice(-10).join('\n')}` : ''),
            };
            failure ??= { error: why, outcome };
            void this.cancel();
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
    }
    const partial = this.cancelled || !!failure;
    const choice = chooseVerified(opts.center, results, opts.options, partial);
    return {
      ...('lr' in choice ? { verified: choice } : { reason: choice.reason }),
      ...(failure ? { error: failure.error, failed: failure.outcome } : {}),
      results, cancelled: this.cancelled && !failure,
    };
  }
}
