/**
 * Outcome benchmark of the LR suggestions: does training at the suggested LR actually work?
 *
 *   node out/bench/quality.js [--quick] [--tasks a,b] [--design | --holdout | --verify-holdout] [--json FILE] [--md FILE]
 *                             [--workers N] [--lrs N] [--seeds N] [--curves N] [--protocols onecycle,constant] [--no-verify]
 *   node out/bench/quality.js --from FILE[,FILE2] [--verify] [--md FILE] [--json FILE]
 *                             (re-score recorded runs, no training; --verify: run Verify on the tasks recorded without it)
 *
 * Per task (bench/quality/tasks.ts): `--curves` range tests exactly as the finder records them (the engine's runSweep;
 * the first with the config's seed), then short real trainings from fresh seeded init, for a fixed budget of about
 * 350 optimizer steps, at each LR of a log grid spanning the sweep range (from the sweep's start LR to 3x the last LR
 * the primary range test recorded), with `--seeds` seeds, under fastai's one-cycle schedule and at a constant LR. Each
 * training is scored by its final loss on a fixed held-out 20% split; a diverged run (non-finite loss, or ending
 * worse than predicting the prior) scores as the prior's loss. The regret of an LR is its loss, interpolated in log LR
 * over the grid's seed-mean, divided by the best grid loss, minus 1 (bench/quality/score.ts).
 *
 * Verify (bench/quality/verify.ts; skip with --no-verify): per task, the product's Verify centred on the primary range
 * test's recommendation, its candidates trained on the task's training rows only (20% of them held out), never on the
 * validation rows the grid is scored on; `verified` is scored like the other methods (one-cycle, primary range test).
 *
 * Work is spread over `--workers` child processes (this script with --worker), one job per range test or training;
 * every job seeds its own randomness, so results do not depend on which worker ran it.
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LoadedTask } from './quality/engine';
import { barLine, markdownTable, PROTOCOL_LABEL, summaryBlocks, summaryRows, taskRows, taskVariantRows, textTable, variantLabel, verifyLine, verifyRows, type SummaryBlock } from './quality/report';
import { PROTOCOLS, ONE_CYCLE, type Protocol } from './quality/schedule';
import { picksFor, scoreTask, type CurveRecord, type GridRecord, type TaskRecord, type TaskScore, type Variant, type VerifyRecord } from './quality/score';
import { BUDGET_STEPS, SET_LABEL, TASKS, taskSet, VALIDATION_SPLIT, type TaskDef } from './quality/tasks';
import { BENCH_VERIFY, runVerify, type CandidateJobResult, type VerifyContext } from './quality/verify';
import type { VerifyOptions } from '../src/core/verify';

const ROOT = findRoot(__dirname);

function findRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'examples'))) return d;
    if (path.dirname(d) === d) return process.cwd();
  }
}

interface Options {
  quick: boolean;
  tasks: string[] | null;
  set: 'all' | 'design' | 'holdout' | 'verify-holdout';
  json?: string;
  md?: string;
  workers: number;
  lrs: number;
  seeds: number;
  curves: number;
  protocols: Protocol[];
  from?: string;
  /** Run Verify: on by default for a run; with --from only when asked (--verify), on the tasks recorded without it. */
  verify: boolean;
  /** --from ... --redo-verify: drop the recorded Verify data and run Verify again on every task (after a change to it). */
  redoVerify?: boolean;
  worker: boolean;
}

const USAGE = `Outcome benchmark of the LR suggestions (docs/quality.md).
  quality [--quick] [--tasks a,b] [--design | --holdout | --verify-holdout] [--json FILE] [--md FILE]
          [--workers N] [--lrs N] [--seeds N] [--curves N] [--protocols onecycle,constant] [--no-verify]
  quality --from FILE[,FILE2] [--tasks a,b] [--verify | --redo-verify] [--md FILE] [--json FILE]
          re-score recorded runs (merged), no training; --verify runs Verify on the tasks recorded without it,
          --redo-verify on every task again (the recorded Verify data dropped)
`;

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick, tasks: null, set: 'all', workers: Math.max(1, Math.min(2, os.cpus().length)),
    lrs: quick ? 13 : 31, seeds: quick ? 2 : 3, curves: quick ? 1 : 3, protocols: quick ? ['onecycle'] : PROTOCOLS.slice(), worker: false,
    verify: !argv.includes('--from') || argv.includes('--verify') || argv.includes('--redo-verify'),
  };
  const int = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case '--quick': break;
      case '--worker': o.worker = true; break;
      case '--tasks': o.tasks = v().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--design': o.set = 'design'; break;
      case '--holdout': o.set = 'holdout'; break;
      case '--verify-holdout': o.set = 'verify-holdout'; break;
      case '--no-verify': o.verify = false; break;
      case '--verify': o.verify = true; break;
      case '--redo-verify': o.verify = true; o.redoVerify = true; break;
      case '--json': o.json = v(); break;
      case '--md': o.md = v(); break;
      case '--from': o.from = v(); break;
      case '--workers': o.workers = int(a, v(), 1); break;
      case '--lrs': o.lrs = int(a, v(), 2); break;
      case '--seeds': o.seeds = int(a, v(), 1); break;
      case '--curves': o.curves = int(a, v(), 1); break;
      case '--protocols': o.protocols = v().split(',').map((s) => {
        if (!(PROTOCOLS as string[]).includes(s)) throw new Error(`--protocols: unknown protocol ${s}; expected ${PROTOCOLS.join(', ')}`);
        return s as Protocol;
      }); break;
      case '-h': case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
      // falls through
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

function selectTasks(o: Options): TaskDef[] {
  let tasks = TASKS.slice();
  if (o.tasks) {
    const unknown = o.tasks.filter((n) => !TASKS.some((t) => t.name === n));
    if (unknown.length) throw new Error(`unknown task(s) ${unknown.join(', ')}; tasks: ${TASKS.map((t) => t.name).join(', ')}`);
    tasks = tasks.filter((t) => o.tasks!.includes(t.name));
  } else if (o.quick) tasks = tasks.filter((t) => t.quick);
  if (o.set === 'design') tasks = tasks.filter((t) => !t.holdout);
  if (o.set === 'holdout') tasks = tasks.filter((t) => t.holdout);
  if (o.set === 'verify-holdout') tasks = tasks.filter((t) => taskSet(t) === 'verify-holdout');
  if (!tasks.length) throw new Error('no tasks selected');
  return tasks;
}

// ---- worker ---------------------------------------------------------------------------------------------------------

type Job =
  | { kind: 'info'; task: string }
  | { kind: 'curve'; task: string; seed: number }
  | { kind: 'train'; task: string; protocol: Protocol; lr: number; seed: number }
  | { kind: 'verify'; task: string; lr: number; seed: number; options: VerifyOptions };

interface JobMessage { id: number; job: Job }
interface ResultMessage { id: number; result?: unknown; error?: string; backend?: string }

async function workerMain(): Promise<void> {
  const { initBackend } = await import('../src/engines/tfjs/backend');
  const { loadTask, rangeTest, train } = await import('./quality/engine');
  const { trainCandidate, verifyContext } = await import('./quality/verify');
  const choice = await initBackend('auto');
  const cache = new Map<string, LoadedTask>();
  const verifyCache = new Map<string, VerifyContext>();
  const get = (name: string) => {
    let t = cache.get(name);
    if (!t) {
      t = loadTask(TASKS.find((d) => d.name === name)!, ROOT);
      cache.set(name, t);
    }
    return t;
  };
  process.on('message', (msg: JobMessage) => {
    void (async () => {
      const reply: ResultMessage = { id: msg.id, backend: choice.backend };
      try {
        const job = msg.job;
        const t = get(job.task);
        if (job.kind === 'info') {
          reply.result = {
            loss: t.config.loss, optimizer: describeOptimizer(t), batchSize: t.config.batchSize, epochs: t.epochs,
            steps: t.epochs * t.stepsPerEpoch, trainRows: t.dataset.nTrain, validationRows: t.dataset.n - t.dataset.nTrain,
            prior: t.prior, sweep: t.config.sweep, configSeed: t.config.seed,
          };
        } else if (job.kind === 'curve') reply.result = await rangeTest(t, job.seed);
        else if (job.kind === 'verify') {
          let c = verifyCache.get(job.task);
          if (!c) { c = verifyContext(t, ROOT); verifyCache.set(job.task, c); }
          reply.result = await trainCandidate(c, job.lr, job.seed, job.options);
        } else reply.result = train(t, job.protocol, job.lr, job.seed);
      } catch (e) {
        reply.error = (e as Error)?.stack ?? String(e);
      }
      process.send!(reply);
    })();
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ id: -1, backend: choice.backend } satisfies ResultMessage);
}

function describeOptimizer(t: LoadedTask): string {
  const o = t.config.optimizer;
  if (o.name === 'sgd') return o.momentum ? `sgd momentum ${o.momentum}${o.nesterov ? ' nesterov' : ''}` : 'sgd';
  return o.name;
}

class Pool {
  private readonly idle: ChildProcess[] = [];
  private readonly all: ChildProcess[] = [];
  private readonly waiting: { job: Job; resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; child: ChildProcess }>();
  private nextId = 0;
  backend = '';

  async start(n: number): Promise<void> {
    await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve, reject) => {
      const child = fork(__filename, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      this.all.push(child);
      child.on('message', (m: ResultMessage) => {
        if (m.id === -1) {
          this.backend = m.backend ?? '';
          this.idle.push(child);
          resolve();
          this.pump();
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.idle.push(child);
        if (m.error) p.reject(new Error(m.error)); else p.resolve(m.result);
        this.pump();
      });
      child.on('exit', (code) => {
        for (const [id, p] of this.pending) {
          if (p.child === child) { this.pending.delete(id); p.reject(new Error(`worker exited with code ${code}`)); }
        }
        reject(new Error(`worker exited with code ${code}`));
      });
    })));
  }

  /** `first`: ahead of every waiting job (Verify's rounds, so that each round starts as soon as the last ends). */
  run<T>(job: Job, first = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w = { job, resolve: resolve as (v: unknown) => void, reject };
      if (first) this.waiting.unshift(w); else this.waiting.push(w);
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.waiting.length) {
      const child = this.idle.shift()!;
      const w = this.waiting.shift()!;
      const id = this.nextId++;
      this.pending.set(id, { resolve: w.resolve, reject: w.reject, child });
      child.send({ id, job: w.job } satisfies JobMessage);
    }
  }

  stop(): void {
    for (const c of this.all) { c.removeAllListeners('exit'); c.disconnect(); }
  }
}

// ---- the run --------------------------------------------------------------------------------------------------------

/** Log grid from the sweep's start LR to 3x the last LR the primary range test recorded. */
export function gridFor(startLr: number, lastLr: number, n: number): number[] {
  const lo = Math.log10(startLr), hi = Math.log10(3 * lastLr);
  return Array.from({ length: n }, (_, i) => Number((10 ** (lo + (hi - lo) * i / (n - 1))).toPrecision(6)));
}

interface RawRun {
  benchmark: string;
  version: number;
  command: string;
  date: string;
  seconds: number;
  workers: number;
  backend: string;
  /** Sum of the jobs' own durations (range tests + trainings), a load-independent measure of the work. */
  jobSeconds: number;
  /** Wall time of `--from ... --verify` runs added to this record (included in `seconds`). */
  verifySeconds?: number;
  /** A record merged with --from (or completed by --from ... --verify): each run that made it, in order. */
  runs?: RunInfo[];
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverageStart: number[]; loadAverageEnd: number[] };
  options: {
    quick: boolean; lrs: number; seeds: number; curves: number; protocols: Protocol[]; budgetSteps: number; validationSplit: number; oneCycle: typeof ONE_CYCLE; momentumCycling: boolean;
    /** Verify's options (absent: recorded without Verify). */
    verify?: VerifyOptions & { heldOut: string };
  };
  tasks: TaskRecord[];
}

interface RunInfo {
  command: string;
  date: string;
  seconds: number;
  jobSeconds: number;
  tasks: string[];
  loadAverageStart?: number[];
  loadAverageEnd?: number[];
}

function runInfo(r: RawRun): RunInfo {
  return {
    command: r.command, date: r.date, seconds: r.seconds, jobSeconds: r.jobSeconds, tasks: r.tasks.map((t) => t.name),
    loadAverageStart: r.machine?.loadAverageStart, loadAverageEnd: r.machine?.loadAverageEnd,
  };
}

const VERIFY_HELD_OUT = 'the last 20% of the task\'s training rows (verifySplit with no validationSplit); the validation rows are never used';

/** Verify on one task, its trainings through the pool (ahead of the grid's). */
function verifyTask(pool: Pool, task: string, curve: CurveRecord, sweep: TaskRecord['sweep'], onJob: () => void): Promise<VerifyRecord> {
  const center = picksFor(curve, sweep).recommended;
  return runVerify(center, { steps: sweep.numIter, points: curve.lrs.length }, (lr, seed) =>
    pool.run<CandidateJobResult>({ kind: 'verify', task, lr, seed, options: BENCH_VERIFY }, true).then((r) => { onJob(); return r; }));
}

const verifySeconds = (v: VerifyRecord | undefined) => (v ? v.candidates.reduce((a, c) => a + c.seconds, 0) : 0);

async function runBenchmark(o: Options, defs: TaskDef[]): Promise<RawRun> {
  const t0 = Date.now();
  const loadStart = os.loadavg();
  const pool = new Pool();
  await pool.start(o.workers);
  let done = 0, total = 0;
  const progress = () => {
    done++;
    if (process.stderr.isTTY || done % 25 === 0 || done === total) {
      process.stderr.write(`\r[quality] ${done}/${total} jobs, ${((Date.now() - t0) / 1000).toFixed(0)} s${process.stderr.isTTY ? '' : '\n'}`);
    }
  };
  try {
    const infos = await Promise.all(defs.map((d) => pool.run<Record<string, unknown>>({ kind: 'info', task: d.name })));
    const seedsOfCurves = (i: number) => Array.from({ length: o.curves }, (_, k) => (infos[i].configSeed as number) + k);
    total = defs.reduce((s, _, i) => s + seedsOfCurves(i).length, 0) + defs.length * o.lrs * o.seeds * o.protocols.length;
    const curves = await Promise.all(defs.map((d, i) => Promise.all(seedsOfCurves(i).map((seed) =>
      pool.run<CurveRecord>({ kind: 'curve', task: d.name, seed }).then((c) => { progress(); return c; })))));
    // Trainings: the costliest tasks first (cost ~ range-test seconds per step), so the two workers end together.
    const order = defs.map((_, i) => i).sort((a, b) => curves[b][0].seconds / curves[b][0].lrs.length - curves[a][0].seconds / curves[a][0].lrs.length);
    const trainSeeds = Array.from({ length: o.seeds }, (_, k) => 1000 + k);
    const grids: Partial<Record<Protocol, GridRecord>>[] = defs.map(() => ({}));
    const jobs: Promise<void>[] = [];
    const verifies: (VerifyRecord | undefined)[] = defs.map(() => undefined);
    if (o.verify) {
      defs.forEach((d, i) => {
        jobs.push(verifyTask(pool, d.name, curves[i][0], infos[i].sweep as TaskRecord['sweep'], () => { total++; progress(); })
          .then((v) => { verifies[i] = v; }));
      });
    }
    for (const i of order) {
      const primary = curves[i][0];
      const sweep = infos[i].sweep as { startLr: number };
      const lrs = gridFor(sweep.startLr, primary.lrs[primary.lrs.length - 1], o.lrs);
      for (const protocol of o.protocols) {
        const g: GridRecord = {
          lrs, seeds: trainSeeds, seconds: 0,
          scores: lrs.map(() => trainSeeds.map(() => NaN)),
          valLosses: lrs.map(() => trainSeeds.map(() => null)),
          diverged: lrs.map(() => trainSeeds.map(() => false)),
        };
        grids[i][protocol] = g;
        lrs.forEach((lr, li) => trainSeeds.forEach((seed, si) => {
          jobs.push(pool.run<{ valLoss: number; score: number; diverged: boolean; seconds: number }>({ kind: 'train', task: defs[i].name, protocol, lr, seed })
            .then((r) => {
              g.scores[li][si] = r.score;
              g.valLosses[li][si] = Number.isFinite(r.valLoss) ? r.valLoss : null;
              g.diverged[li][si] = r.diverged;
              g.seconds += r.seconds;
              progress();
            }));
        }));
      }
    }
    await Promise.all(jobs);
    if (!process.stderr.isTTY) process.stderr.write('\n'); else process.stderr.write('\n');
    const tasks: TaskRecord[] = defs.map((d, i) => ({
      name: d.name, description: d.description, holdout: d.holdout, set: taskSet(d),
      loss: infos[i].loss as string, optimizer: infos[i].optimizer as string, batchSize: infos[i].batchSize as number,
      epochs: infos[i].epochs as number, steps: infos[i].steps as number, trainRows: infos[i].trainRows as number,
      validationRows: infos[i].validationRows as number, prior: infos[i].prior as number,
      sweep: infos[i].sweep as TaskRecord['sweep'], curves: curves[i], grids: grids[i], ...(verifies[i] ? { verify: verifies[i] } : {}),
    }));
    const cpus = os.cpus();
    return {
      benchmark: 'lr-finder quality', version: 1,
      command: `node out/bench/quality.js ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, workers: o.workers, backend: pool.backend,
      jobSeconds: tasks.reduce((s, t) => s + t.curves.reduce((a, c) => a + c.seconds, 0) + Object.values(t.grids).reduce((a, g) => a + g!.seconds, 0) + verifySeconds(t.verify), 0),
      machine: {
        cpus: cpus.length, cpuModel: cpus[0]?.model ?? '', node: process.version, platform: `${process.platform} ${process.arch}`,
        loadAverageStart: loadStart.map((x) => Number(x.toFixed(2))), loadAverageEnd: os.loadavg().map((x) => Number(x.toFixed(2))),
      },
      options: {
        quick: o.quick, lrs: o.lrs, seeds: o.seeds, curves: o.curves, protocols: o.protocols, budgetSteps: BUDGET_STEPS,
        validationSplit: VALIDATION_SPLIT, oneCycle: ONE_CYCLE, momentumCycling: false,
        ...(o.verify ? { verify: { ...BENCH_VERIFY, heldOut: VERIFY_HELD_OUT } } : {}),
      },
      tasks,
    };
  } finally {
    pool.stop();
  }
}

export interface Results {
  scores: TaskScore[];
  summaries: SummaryBlock[];
}

export function analyse(raw: RawRun): Results {
  const scores = raw.tasks.map(scoreTask);
  const variants: Variant[] = raw.options.curves > 1 ? ['single', 'meanK1', 'K3'] : ['single'];
  return { scores, summaries: summaryBlocks(scores, raw.options.protocols, variants) };
}

function verifyLabel(raw: RawRun): string {
  const v = raw.options.verify ?? raw.tasks.find((t) => t.verify)?.verify?.options;
  if (!v) return 'not run';
  return `core/verify.ts with ${v.steps} steps per candidate, ${v.seeds} seed(s) (the config's), at most ${v.maxCandidates} candidates, ` +
    `spacing ${v.spacing} decade; held-out rows: 20% of each task's training rows, never its validation rows`;
}

function report(raw: RawRun, res: Results): string {
  const lines: string[] = [];
  lines.push(`LR Finder outcome benchmark: ${raw.tasks.length} tasks, ${raw.options.lrs} LRs x ${raw.options.seeds} seeds per protocol, ` +
    `${raw.options.curves} range test(s) per task; backend ${raw.backend}, ${raw.workers} worker(s), ${raw.seconds.toFixed(0)} s wall ` +
    `(${(raw.jobSeconds ?? NaN).toFixed(0)} s of jobs; load average ${raw.machine.loadAverageStart?.[0]} at the start).`);
  for (const t of raw.tasks) {
    const c = t.curves[0];
    const set = t.set ?? taskSet(t);
    lines.push(`  ${t.name}${set !== 'design' ? ` [${SET_LABEL[set]}]` : ''}: ${t.description}; ${t.steps} steps (${t.epochs} epochs), ` +
      `prior loss ${t.prior.toPrecision(3)}; range test ${c.lrs.length} points, ${c.reason}`);
  }
  if (raw.tasks.some((t) => t.verify)) {
    lines.push('', `Verify per task (${verifyLabel(raw)}):`);
    lines.push(textTable(verifyRows(raw.tasks, res.scores)));
  }
  for (const p of raw.options.protocols) {
    lines.push('', `Per task, ${PROTOCOL_LABEL[p]} (LR picked on the primary range test, regret in parentheses):`);
    lines.push(textTable(taskRows(raw.tasks, res.scores, p)));
    if (raw.options.curves > 1) {
      lines.push('', `Per task, ${PROTOCOL_LABEL[p]}: regret averaged over the ${raw.options.curves} range tests:`);
      lines.push(textTable(taskVariantRows(raw.tasks, res.scores, p, 'meanK1')));
    }
  }
  const variants = [...new Set(res.summaries.map((b) => b.variant))];
  for (const p of raw.options.protocols) {
    for (const v of variants) {
      const blocks = res.summaries.filter((b) => b.protocol === p && b.variant === v);
      lines.push('', `Summary, ${PROTOCOL_LABEL[p]}, ${variantLabel(v)}: regret median / worst / tasks within 10% of best`);
      lines.push(textTable(summaryRows(blocks)));
      for (const b of blocks) lines.push(`  ${b.label}: ${barLine(b.table)}`);
      for (const b of blocks) { const l = verifyLine(b); if (l) lines.push(`  ${b.label}: ${l}`); }
    }
  }
  return lines.join('\n');
}

/** The markdown results section (between the markers in docs/quality.md). */
function markdownResults(raw: RawRun, res: Results): string {
  const out: string[] = [];
  if (raw.runs && raw.runs.length > 1) {
    out.push(`Recorded in ${raw.runs.length} runs, merged with \`--from\` (backend \`${raw.backend}\`, ${raw.workers} worker process(es) on ` +
      `${raw.machine.cpus} × ${raw.machine.cpuModel}, Node ${raw.machine.node}); ${raw.tasks.length} tasks in all, **${(raw.seconds / 60).toFixed(1)} min** wall time ` +
      `(the jobs themselves took ${((raw.jobSeconds ?? NaN) / 60).toFixed(1)} min of one core):`, '');
    for (const r of raw.runs) {
      const load = r.loadAverageStart ? `; 1-minute load average ${r.loadAverageStart[0]} at the start, ${r.loadAverageEnd?.[0]} at the end` : '';
      out.push(`- \`${r.command}\` on ${r.date.slice(0, 10)}: ${(r.seconds / 60).toFixed(1)} min wall (${(r.jobSeconds / 60).toFixed(1)} min of jobs${load}); ` +
        `${r.tasks.length ? `${r.tasks.length} task(s) from it` : 'no task from it'}.`);
    }
    out.push('', `Grid of ${raw.options.lrs} LRs × ${raw.options.seeds} training seeds per protocol, ${raw.options.curves} range test(s) per task.` +
      (raw.tasks.some((t) => t.verify) ? ` Verify: ${raw.tasks.filter((t) => t.verify).length} tasks (${verifyLabel(raw)}).` : ''));
  } else out.push(`Run: \`${raw.command}\` on ${raw.date.slice(0, 10)}, backend \`${raw.backend}\`, ${raw.workers} worker process(es) on ` +
    `${raw.machine.cpus} × ${raw.machine.cpuModel}, Node ${raw.machine.node}: **${(raw.seconds / 60).toFixed(1)} min** wall time ` +
    `(the jobs themselves took ${((raw.jobSeconds ?? NaN) / 60).toFixed(1)} min of one core; 1-minute load average ${raw.machine.loadAverageStart?.[0]} at the start, ` +
    `${raw.machine.loadAverageEnd?.[0]} at the end). ` +
    `${raw.tasks.length} tasks, grid of ${raw.options.lrs} LRs × ${raw.options.seeds} training seeds per protocol, ` +
    `${raw.options.curves} range test(s) per task.` +
    (raw.tasks.some((t) => t.verify) ? ` Verify: ${raw.tasks.filter((t) => t.verify).length} tasks (${verifyLabel(raw)}).` : ''));
  out.push('', '### Tasks', '', markdownTable([
    ['task', 'set', 'what', 'budget', 'prior loss', 'primary range test'],
    ...raw.tasks.map((t) => [t.name, SET_LABEL[t.set ?? taskSet(t)], t.description, `${t.steps} steps (${t.epochs} epochs)`,
      t.prior.toPrecision(3), `${t.curves[0].lrs.length} points, ${t.curves[0].reason}`]),
  ]));
  const variants = [...new Set(res.summaries.map((b) => b.variant))];
  for (const p of raw.options.protocols) {
    for (const v of variants) {
      const blocks = res.summaries.filter((b) => b.protocol === p && b.variant === v);
      out.push('', `### Summary: ${PROTOCOL_LABEL[p]}, ${variantLabel(v)}`, '', 'Regret: median / worst / tasks within 10% of the best grid loss. ∞: a range test on which the method gave no suggestion. ' +
        'verified: Verify\'s LR, centred on the primary range test\'s recommendation, scored under one-cycle only; – = not measured (that protocol or variant, or tasks recorded without Verify).', '');
      out.push(markdownTable(summaryRows(blocks)), '');
      for (const b of blocks) out.push(`- ${b.label}: ${barLine(b.table)}`);
      for (const b of blocks) { const l = verifyLine(b); if (l) out.push(`- ${b.label}: ${l}`); }
    }
  }
  if (raw.tasks.some((t) => t.verify)) {
    out.push('', '### Per task: Verify', '', `${verifyLabel(raw)}. Candidates in LR order with their held-out loss; * the verified LR (the lowest loss). ` +
      'Cost: total training steps, in range tests\' worth (÷ the sweep\'s 100 steps) and relative to the points the primary range test recorded. ' +
      'Regrets on the one-cycle grid.', '');
    out.push(markdownTable(verifyRows(raw.tasks, res.scores)));
  }
  for (const p of raw.options.protocols) {
    out.push('', `### Per task: ${PROTOCOL_LABEL[p]}`, '', 'LR each method picks on the primary range test (the config\'s seed), and its regret.', '');
    out.push(markdownTable(taskRows(raw.tasks, res.scores, p)));
    if (raw.options.curves > 1) {
      out.push('', `### Per task: ${PROTOCOL_LABEL[p]}, regret averaged over the ${raw.options.curves} range tests`, '');
      out.push(markdownTable(taskVariantRows(raw.tasks, res.scores, p, 'meanK1')));
      out.push('', `### Per task: ${PROTOCOL_LABEL[p]}, K = ${raw.options.curves}: regret of the median of the ${raw.options.curves} picks`, '');
      out.push(markdownTable(taskVariantRows(raw.tasks, res.scores, p, 'K3')));
    }
  }
  return out.join('\n');
}

const BEGIN = '<!-- quality-results:begin (generated by bench/quality.ts --md; do not edit by hand) -->';
const END = '<!-- quality-results:end -->';

function writeMarkdown(file: string, section: string): void {
  const block = `${BEGIN}\n${section}\n${END}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# LR suggestion quality\n\n${BEGIN}\n${END}\n`;
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

function toJson(raw: RawRun, res: Results): string {
  // JSON has no NaN or Infinity: they are written as the strings "NaN", "Infinity" (as `lr-finder suggest` reads them).
  const text = JSON.stringify({ ...raw, results: res }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1);
  // Arrays of plain values on one line each: readable, and a third of the size.
  return text.replace(/\[\n\s*((?:(?:-?[\d.eE+-]+|"(?:NaN|-?Infinity)"|null|true|false),\n\s*)*(?:-?[\d.eE+-]+|"(?:NaN|-?Infinity)"|null|true|false))\n\s*\]/g,
    (_, body: string) => `[${body.replace(/,\n\s*/g, ',')}]`);
}

/**
 * Read one recorded run, or several (comma-separated files, e.g. a later run of new tasks) merged into one: tasks are
 * concatenated (a task recorded twice keeps its first record), times are summed. Whether a task is held out is a
 * property of the current rule's design, so it comes from bench/quality/tasks.ts, not from the file.
 */
function fromJson(files: string): RawRun {
  const num = (v: unknown) => (typeof v === 'string' ? Number(v) : v as number);
  let merged: RawRun | undefined;
  for (const file of files.split(',').map((f) => f.trim()).filter(Boolean)) {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as RawRun & { results?: unknown };
    delete j.results;
    for (const t of j.tasks) {
      for (const c of t.curves) c.losses = c.losses.map(num);
      if (t.verify) {
        t.verify.center = num(t.verify.center);
        for (const c of t.verify.candidates) { c.loss = num(c.loss); c.trainLoss = num(c.trainLoss); }
      }
    }
    if (!merged) { merged = j; continue; }
    merged.runs ??= [runInfo(merged)];
    const have = new Set(merged.tasks.map((t) => t.name));
    const added = j.tasks.filter((t) => !have.has(t.name));
    merged.tasks.push(...added);
    merged.runs.push(...(j.runs ?? [runInfo(j)]).map((r) => ({ ...r, tasks: r.tasks.filter((n) => added.some((t) => t.name === n)) })));
    if (!merged.options.verify && j.options.verify) merged.options.verify = j.options.verify;
    for (const p of j.options.protocols) if (!merged.options.protocols.includes(p)) merged.options.protocols.push(p);
    merged.seconds += j.seconds;
    merged.jobSeconds += j.jobSeconds;
    merged.command = `${merged.command}; ${j.command}`;
  }
  if (!merged) throw new Error('--from needs a file');
  for (const t of merged.tasks) {
    const def = TASKS.find((d) => d.name === t.name);
    if (def) { t.holdout = def.holdout; t.set = taskSet(def); } else t.set ??= taskSet(t);
  }
  return merged;
}

/**
 * --from ... --verify: Verify on every recorded task that has no verify data, centred on its recorded primary range
 * test's recommendation (the curve is not re-run), its trainings as in a full run.
 */
async function verifyRecorded(o: Options, raw: RawRun): Promise<void> {
  if (o.redoVerify) for (const t of raw.tasks) delete t.verify;
  const todo = raw.tasks.filter((t) => !t.verify);
  const unknown = todo.filter((t) => !TASKS.some((d) => d.name === t.name));
  if (unknown.length) throw new Error(`--verify: task(s) ${unknown.map((t) => t.name).join(', ')} are not in bench/quality/tasks.ts`);
  if (!todo.length) return;
  const t0 = Date.now();
  const loadStart = os.loadavg();
  const pool = new Pool();
  await pool.start(o.workers);
  let done = 0;
  try {
    await Promise.all(todo.map(async (t) => {
      t.verify = await verifyTask(pool, t.name, t.curves[0], t.sweep, () => {
        done++;
        if (process.stderr.isTTY || done % 25 === 0) process.stderr.write(`\r[quality] verify: ${done} trainings, ${((Date.now() - t0) / 1000).toFixed(0)} s${process.stderr.isTTY ? '' : '\n'}`);
      });
    }));
    process.stderr.write(`\n[quality] verify: ${done} trainings on ${todo.length} recorded tasks, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  } finally {
    pool.stop();
  }
  const seconds = (Date.now() - t0) / 1000;
  const jobSeconds = todo.reduce((a, t) => a + verifySeconds(t.verify), 0);
  raw.runs ??= [runInfo(raw)];
  const command = `node out/bench/quality.js ${process.argv.slice(2).join(' ')}`;
  raw.runs.push({
    command, date: new Date().toISOString(), seconds, jobSeconds, tasks: todo.map((t) => t.name),
    loadAverageStart: loadStart.map((x) => Number(x.toFixed(2))), loadAverageEnd: os.loadavg().map((x) => Number(x.toFixed(2))),
  });
  raw.seconds += seconds;
  raw.jobSeconds += jobSeconds;
  raw.command = `${raw.command}; ${command}`;
  raw.options.verify = { ...BENCH_VERIFY, heldOut: VERIFY_HELD_OUT };
  raw.verifySeconds = (raw.verifySeconds ?? 0) + seconds;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.worker) return workerMain();
  let raw: RawRun;
  if (o.from) {
    raw = fromJson(o.from);
    if (o.tasks || o.set !== 'all') {
      const keep = new Set(selectTasks({ ...o, quick: false }).map((t) => t.name));
      raw.tasks = raw.tasks.filter((t) => keep.has(t.name));
    }
    if (o.verify) await verifyRecorded(o, raw);
  } else {
    raw = await runBenchmark(o, selectTasks(o));
  }
  const res = analyse(raw);
  process.stdout.write(report(raw, res) + '\n');
  if (o.json) fs.writeFileSync(o.json, toJson(raw, res) + '\n');
  if (o.md) writeMarkdown(o.md, markdownResults(raw, res));
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`quality: ${(e as Error)?.message ?? e}\n`);
    process.exit(2);
  });
}
