/**
 * K sweeps with seeds seed, seed+1, … (so different initial weights, dropout and batch order), at most `parallel`
 * child processes at a time, combined into one outcome: the median curve plus every run. K = 1 is a plain sweep.
 * Each engine says how run k is launched (`launchFor`). Shared by the CLI and the extension host (no vscode import).
 */
import * as os from 'os';
import type { EndEvent, PointEvent, SweepEvent } from '../core/protocol';
import { medianRun } from '../core/repeats';
import { SweepProcess, type Launch, type SweepProcessOptions, type SweepOutcome } from './sweepProcess';

export interface RepeatedOutcome extends SweepOutcome {
  /** Every run's points (one entry when K = 1). */
  runs: PointEvent[][];
}

export interface RepeatedOptions extends Omit<SweepProcessOptions, 'onEvent' | 'launch'> {
  repeats: number;
  /** Run k of K (0-based): its own seed. */
  launchFor(run: number): Launch;
  parallel?: number;
  onEvent?(run: number, e: SweepEvent): void;
}

/**
 * Engine processes to run at once. A script runs in the user's folder and undoes its own changes there at exit: two
 * at once could put back each other's files (one creates runs/log.csv, the other "restores" it), so they go one at a
 * time. An engine that writes nothing there (tfjs) runs one per core, at most 4.
 */
export function processesAtOnce(sharesUserFolder: boolean): number {
  return sharesUserFolder ? 1 : Math.max(1, Math.min(os.cpus().length, 4));
}

export class RepeatedSweep {
  readonly done: Promise<RepeatedOutcome>;
  private readonly procs: SweepProcess[] = [];
  private cancelled = false;

  constructor(opts: RepeatedOptions) {
    const k = Math.max(1, Math.floor(opts.repeats));
    const parallel = Math.max(1, Math.min(k, opts.parallel ?? os.cpus().length));
    const outcomes: SweepOutcome[] = new Array(k);
    let next = 0;
    const worker = async () => {
      while (next < k && !this.cancelled) {
        const run = next++;
        const proc = new SweepProcess({ ...opts, launch: opts.launchFor(run), onEvent: (e) => opts.onEvent?.(run, e) });
        this.procs.push(proc);
        outcomes[run] = await proc.done;
        if (outcomes[run].error || !outcomes[run].end) { this.cancelled = true; void this.cancel(); }
      }
    };
    this.done = Promise.all(Array.from({ length: parallel }, worker)).then(() => combine(outcomes.filter(Boolean), this.cancelled));
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid).filter((p): p is number => p !== undefined);
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    await Promise.all(this.procs.map((p) => p.cancel()));
  }
}

export function combine(outcomes: SweepOutcome[], cancelled: boolean): RepeatedOutcome {
  const failed = outcomes.find((o) => o.error || !o.end);
  const runs = outcomes.map((o) => o.points);
  if (failed) return { ...failed, runs };
  if (outcomes.length === 1) return { ...outcomes[0], runs };
  const points = medianRun(runs);
  const reasons = outcomes.map((o) => o.end!.reason);
  const reason: EndEvent['reason'] = cancelled || reasons.includes('cancelled') ? 'cancelled'
    : reasons.includes('diverged') ? 'diverged' : reasons.includes('non-finite') ? 'non-finite' : 'completed';
  const seconds = Math.max(...outcomes.map((o) => o.end!.seconds ?? 0));
  return {
    hello: outcomes[0].hello, report: outcomes[0].report, points, runs,
    end: { type: 'end', reason, points: points.length, seconds },
    exitCode: 0, signal: null, stderrTail: outcomes.flatMap((o) => o.stderrTail).slice(-40), cancelled,
  };
}
