/**
 * Slurm. `--launcher "srun ..."` runs through launch.ts like any launcher, with its protocol file in `jobsDir()` (a
 * folder in the home directory, which a cluster's nodes share). `--launcher "sbatch ..."` submits the sweep as a batch
 * job: a job script in a job folder under `jobsDir()` (`srun PYTHON SCRIPT ARGS` with the run's environment),
 * submitted with `sbatch --parsable`, watched with `squeue`. `SlurmJob` is what SweepProcess runs in place of a
 * child process: stdout and stderr are the job's output files, stdio[3] the protocol (`status` events while the job
 * waits and when it starts, then the hook's lines from the job's protocol file), `kill()` is `scancel`, and `exit`
 * comes once the job has left the queue. No vscode import: the CLI and the extension use it alike.
 */
import { execFile } from 'child_process';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { LineSplitter, type StatusEvent } from '../../core/protocol';
import { FileTail, type EngineChild, type Launch } from '../../runner/sweepProcess';

/** `srun ...` or `sbatch ...` (by the launcher's first word), else undefined. */
export function slurmKind(words: readonly string[]): 'srun' | 'sbatch' | undefined {
  const cmd = words.length ? path.basename(words[0]) : '';
  return cmd === 'srun' || cmd === 'sbatch' ? cmd : undefined;
}

/**
 * Where a Slurm run's files go (protocol, job script, the job's output): `$LR_FINDER_JOBS_DIR`, else
 * `~/.cache/lr-finder/jobs`. It has to be a path the compute nodes see too: on a cluster, the shared home.
 */
export function jobsDir(): string {
  const dir = process.env.LR_FINDER_JOBS_DIR || path.join(os.homedir(), '.cache', 'lr-finder', 'jobs');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * `srun ...` as a launcher: with a job name of its own (`lr-finder-XXXXXX`, unless the launcher names it), by which
 * `stop` finds its step: srun turns a SIGTERM it receives into a SIGKILL of its tasks, which would leave the
 * workspace unrestored, so the tasks get their SIGTERM from `scancel --signal=TERM STEP` and srun ends with them.
 */
export function srunLauncher(words: readonly string[]): { words: string[]; stop: () => Promise<boolean> } {
  const named = words.findIndex((w) => w === '-J' || w === '--job-name' || w.startsWith('--job-name=') || /^-J./.test(w));
  const name = named < 0 ? `lr-finder-${Math.random().toString(36).slice(2, 8)}`
    : words[named].startsWith('--job-name=') ? words[named].slice('--job-name='.length)
      : /^-J./.test(words[named]) ? words[named].slice(2) : words[named + 1] ?? '';
  return {
    words: named < 0 ? [words[0], `--job-name=${name}`, ...words.slice(1)] : [...words],
    stop: () => signalSteps(name, 'TERM'),
  };
}

/** Signal this user's running job steps named `name` (only the steps' tasks; the jobs go on). False: none found. */
export async function signalSteps(name: string, signal: string): Promise<boolean> {
  if (!name) return false;
  const user = os.userInfo().username;
  const r = await run('squeue', ['-h', '-s', '-u', user, '-o', '%i|%j']);
  const steps = r.stdout.split('\n').map((l) => l.trim().split('|')).filter(([id, n]) => n === name && /^\d+(_\d+)?\.\d+$/.test(id ?? '')).map(([id]) => id);
  if (r.code !== 0 || !steps.length) return false;
  return (await run('scancel', [`--signal=${signal}`, ...steps])).code === 0;
}

export interface BatchRun {
  /** `sbatch` and its options, as words (`sbatch -N1 -n2 --time 10`). */
  launcher: string[];
  /** What each task runs: the interpreter, the script (or -m module) and its arguments. */
  command: string[];
  cwd: string;
  /** The run's environment (PYTHONPATH with the hook first, LR_FINDER_*, ...): exported by the job script. */
  env: NodeJS.ProcessEnv;
  /** The hook folder: copied into the job folder, so that the nodes need not see the extension's install. */
  hookDir: string;
  label: string;
  firstStepTimeoutMs?: number;
}

/** A batch job as a Launch: nothing is written or submitted until SweepProcess starts it. */
export function batchLaunch(b: BatchRun): Launch {
  const options = b.launcher.slice(1);
  return {
    command: b.launcher[0],
    args: [...options, '--parsable', 'lr-finder-job.sh'],
    cwd: b.cwd,
    env: b.env,
    protocol: 'fd3',
    cancel: 'leader',
    // kill() is scancel; the job then ends on Slurm's own terms (SIGTERM, KillWait, SIGKILL) and SlurmJob says when.
    cancelGraceMs: 60000,
    label: `${b.label} (${b.launcher.join(' ')})`,
    firstPointTimeoutMs: b.firstStepTimeoutMs,
    start: () => new SlurmJob(b),
  };
}

/** Job states after which nothing of the job runs any more (squeue's %T). */
const FINISHED = new Set(['BOOT_FAIL', 'CANCELLED', 'COMPLETED', 'DEADLINE', 'FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'REVOKED', 'SPECIAL_EXIT', 'TIMEOUT']);
/** After a cancel, how long scancel may take to get the job out of the queue before we stop waiting. */
const CANCEL_LIMIT_MS = 120000;

/** Single-quoted for bash. */
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Run { stdout: string; stderr: string; code: number | null; missing?: boolean }

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: 60000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      resolve({ stdout: String(stdout), stderr: String(stderr), code: e ? (typeof e.code === 'number' ? e.code : null) : 0, missing: e?.code === 'ENOENT' });
    });
  });
}

/** A submitted batch job, seen by SweepProcess as its child process. */
export class SlurmJob extends EventEmitter implements EngineChild {
  readonly pid = undefined;
  readonly stdin = null;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  private readonly protocol = new PassThrough();
  readonly stdio: readonly unknown[] = [null, this.stdout, this.stderr, this.protocol];
  /** The job's id once sbatch has answered. */
  job?: string;
  /** The job folder (job script, the job's output and protocol, the hook's copy), once made. */
  dir = '';
  private readonly tails: FileTail[] = [];
  private readonly lines = new LineSplitter();
  private lastWord = false;
  private state = '';
  private reason = '';
  private started = false;
  private cancelAt = 0;
  private killSent = false;
  private finished = false;
  private readonly t0 = Date.now();

  constructor(private readonly b: BatchRun) {
    super();
    setImmediate(() => void this.submit()); // after SweepProcess has its listeners
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.finished) return false;
    const first = !this.cancelAt;
    this.cancelAt ||= Date.now();
    if (this.job && (first || (signal === 'SIGKILL' && !this.killSent))) {
      if (!first) this.killSent = true;
      // scancel: Slurm's own end of a job (SIGCONT, SIGTERM to every task, SIGKILL after KillWait); -s KILL at once.
      void run('scancel', [...(first ? [] : ['--signal=KILL', '--full']), this.job]).then((r) => {
        if (r.code !== 0 && r.stderr.trim()) this.stderr.write(`lr-finder: scancel ${this.job}: ${r.stderr.trim()}\n`);
      });
    }
    return true;
  }

  private async submit() {
    const b = this.b;
    const file = (name: string) => path.join(this.dir, name);
    try {
      this.dir = fs.mkdtempSync(path.join(jobsDir(), 'lr-finder-job-'));
      // The hook, where the nodes see it; PYTHONPATH gets the copy in place of the original.
      const hook = file('python');
      fs.cpSync(b.hookDir, hook, { recursive: true, filter: (src) => !src.includes('__pycache__') });
      const rest = (b.env.PYTHONPATH ?? '').split(path.delimiter).filter((p) => p && path.resolve(p) !== path.resolve(b.hookDir));
      const env: NodeJS.ProcessEnv = {
        ...b.env, PYTHONPATH: [hook, ...rest].join(path.delimiter), LR_FINDER_PROTOCOL_FILE: file('protocol.jsonl'),
        LR_FINDER_LAUNCHER: b.launcher.join(' '), LR_FINDER_LAUNCHER_KIND: 'other',
      };
      delete env.LR_FINDER_PROTOCOL_FD;
      for (const f of ['protocol.jsonl', 'job.out', 'job.err']) fs.writeFileSync(file(f), '');
      const exports = Object.entries(env).filter(([k, v]) => v !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)).map(([k, v]) => `export ${k}=${sh(String(v))}`);
      fs.writeFileSync(file('job.sh'), [
        '#!/bin/bash',
        '#SBATCH --job-name=lr-finder',
        `#SBATCH --output=${file('job.out')}`,
        `#SBATCH --error=${file('job.err')}`,
        `# LR Finder: a learning-rate range test of ${b.label}. The folder goes when the sweep ends.`,
        ...exports,
        `cd ${sh(b.cwd)} || exit 1`,
        // Every task of the allocation runs the command; one failing ends the others (they would wait for it).
        `exec srun --kill-on-bad-exit=1 ${b.command.map(sh).join(' ')}`,
        '',
      ].join('\n'), { mode: 0o700 });
      this.follow(file('protocol.jsonl'), (chunk) => this.protocolChunk(chunk));
      this.follow(file('job.out'), (chunk) => this.stdout.write(chunk));
      this.follow(file('job.err'), (chunk) => this.stderr.write(chunk));
      const r = await run(b.launcher[0], [...b.launcher.slice(1), '--parsable', file('job.sh')], { cwd: b.cwd, env: { ...process.env, ...env } });
      const id = /^\s*(\d+(?:_\d+)?)/.exec(r.stdout)?.[1];
      if (r.code !== 0 || !id) {
        const why = r.missing ? `${b.launcher[0]} was not found (is Slurm installed here, or on PATH?)`
          : (r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`).split('\n').slice(-3).join(' ');
        this.stderr.write(r.stderr);
        await this.finish(null, null, new Error(why));
        return;
      }
      this.job = id;
      this.stderr.write(`lr-finder: submitted batch job ${id} (${b.launcher.join(' ')}; files in ${this.dir})\n`);
      if (this.cancelAt) { this.cancelAt = 0; this.kill('SIGTERM'); }
      await this.watch();
    } catch (e) {
      await this.finish(null, null, e as Error);
    }
  }

  private follow(f: string, onData: (chunk: Buffer) => void) {
    const t = new FileTail(f);
    t.on('data', onData);
    this.tails.push(t);
  }

  /** The hook's lines, whole (a status line never lands inside one). */
  private protocolChunk(chunk: Buffer) {
    for (const line of this.lines.push(chunk.toString('utf8'))) {
      if (/"type"\s*:\s*"(report|error)"/.test(line)) this.lastWord = true;
      this.protocol.write(line + '\n');
    }
  }

  private status(state: string, reason: string, message: string) {
    const e: StatusEvent = { type: 'status', state, job: this.job, ...(reason ? { reason } : {}), message };
    this.protocol.write(JSON.stringify(e) + '\n');
  }

  /** Poll squeue until the job has left the queue (or finished), saying when it waits and when it starts. */
  private async watch() {
    const id = this.job!;
    let failures = 0;
    for (;;) {
      const r = await run('squeue', ['-h', '-j', id, '-t', 'all', '-o', '%T|%r|%N']);
      const line = r.stdout.trim().split('\n')[0] ?? '';
      const gone = (r.code === 0 && !line) || /invalid job id/i.test(r.stderr);
      if (r.code !== 0 && !gone) {
        if (++failures === 5) this.stderr.write(`lr-finder: squeue does not answer for job ${id} (${r.stderr.trim()}); still trying\n`);
      } else {
        failures = 0;
        const [state = '', reason = '', nodes = ''] = line.split('|');
        const st = state.split(' ')[0];
        if (gone || FINISHED.has(st)) {
          if (!this.lastWord) this.stderr.write(`lr-finder: job ${id} ended${st ? ` ${st}` : ''} before the sweep had finished\n`);
          break;
        }
        const why = !reason || reason === 'None' || reason === 'Resources' ? '' : ` (${reason})`;
        if (st === 'PENDING' && (st !== this.state || why !== this.reason)) {
          this.status('pending', reason, `job ${id} is waiting for resources${why}`);
        } else if (st !== 'PENDING' && !this.started && st !== this.state) {
          this.started = true;
          this.status('running', '', `job ${id} is running${nodes ? ` on ${nodes}` : ''}`);
        }
        this.state = st;
        this.reason = why;
      }
      if (this.cancelAt && Date.now() - this.cancelAt > CANCEL_LIMIT_MS) {
        this.stderr.write(`lr-finder: job ${id} is still in the queue ${CANCEL_LIMIT_MS / 1000} s after scancel; check it with squeue -j ${id}\n`);
        break;
      }
      // Often while it may change soon, seldom while it waits long in the queue.
      const waited = Date.now() - this.t0;
      await sleep(this.cancelAt || this.lastWord ? 300 : this.state === 'PENDING' && waited > 60000 ? 5000 : 1000);
    }
    const { code, signal } = await this.exitStatus(id);
    await this.finish(code, signal);
  }

  /** The job's exit code (scontrol while the controller remembers the job, else sacct where accounting is on). */
  private async exitStatus(id: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let m = /ExitCode=(\d+):(\d+)/.exec((await run('scontrol', ['show', 'job', '-o', id])).stdout);
    if (!m) m = /^[^|]*\|(\d+):(\d+)/m.exec((await run('sacct', ['-j', id, '-X', '-n', '-P', '-o', 'State,ExitCode'])).stdout);
    if (!m) return { code: null, signal: null };
    const sig = Number(m[2]);
    const name = sig ? (Object.entries(os.constants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined) : undefined;
    return name ? { code: null, signal: name } : { code: Number(m[1]), signal: null };
  }

  private async finish(code: number | null, signal: NodeJS.Signals | null, error?: Error) {
    if (this.finished) return;
    this.finished = true;
    // A shared file system may show the last lines a moment after the job has ended.
    for (let i = 0; i < 30 && !this.lastWord && this.job; i++) await sleep(100);
    for (const t of this.tails) t.finish();
    for (const line of this.lines.flush()) this.protocol.write(line + '\n');
    this.protocol.end();
    this.stdout.end();
    this.stderr.end();
    if (this.dir) try { fs.rmSync(this.dir, { recursive: true, force: true }); } catch { /* left in jobsDir */ }
    if (error) this.emit('error', error);
    else this.emit('exit', code, signal);
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
