/**
 * Runs an engine as a child process and reads its protocol events. Shared by the CLI and the extension host
 * (no vscode import). What runs is a `Launch` (command, args, env, cwd, where the protocol comes from, how to
 * cancel), made by the engine's own module (tfjsEngine.ts, scriptEngine.ts): this file does not know which engine it
 * runs. The child gets its own process group so that cancel ends it and everything it started.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { Readable, type Writable } from 'stream';
import { parseEventLine, type CandidateEvent, type EndEvent, type ErrorEvent, type HelloEvent, type PointEvent, type ReportEvent, type SweepEvent } from '../core/protocol';

export interface Launch {
  command: string;
  args: string[];
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where the protocol lines come from: the child's stdout (the tfjs engine), file descriptor 3 (the script
   * engine: the script's own stdout stays the script's), or a file read as it grows (a launcher such as torchrun,
   * which closes inherited descriptors; a cluster job).
   */
  protocol: 'stdout' | 'fd3' | { file: string };
  /**
   * `stdin`: close the child's stdin and SIGTERM the group (the tfjs engine stops between steps).
   * `leader`: SIGTERM the leader only, so that it can clean up before its workers go; then the group.
   */
  cancel: 'stdin' | 'leader';
  /** Shown in errors: "the engine", "train.py". */
  label?: string;
  /** Give up (error `first-step-timeout`, then cancel) when no point has come this long after the start. */
  firstPointTimeoutMs?: number;
  /** After a cancel, how long before the whole process group is killed (default 700 ms). */
  cancelGraceMs?: number;
  /**
   * Instead of spawning `command`: start something that behaves as a child process (a cluster job, slurm.ts), with
   * the protocol on its `stdio[3]` (then `protocol` is 'fd3'). `kill()` is its cancel; it has no process group.
   */
  start?(): EngineChild;
  /**
   * `leader` cancel: how to ask the run to stop instead of SIGTERM to the leader (srun turns its own SIGTERM into a
   * SIGKILL of its tasks, so the tasks are signalled through Slurm). Resolves false when it could not: then SIGTERM.
   */
  stop?(): Promise<boolean>;
}

/** What SweepProcess uses of its child: a spawned ChildProcess has all of it. */
export interface EngineChild {
  readonly pid?: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly stdio: readonly unknown[];
  kill(signal?: NodeJS.Signals): boolean;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

/** How long a cancelled engine that has answered may take to clean up (the script engine restoring files). */
const CLEANUP_LIMIT_MS = 30000;

export interface SweepProcessOptions {
  launch: Launch;
  onEvent?(e: SweepEvent): void;
  onStderr?(line: string): void;
  /** The child's stdout, when the protocol is not on it (the script's own output). */
  onStdout?(line: string): void;
  onMalformed?(line: string, error: string): void;
}

export interface SweepOutcome {
  hello?: HelloEvent;
  points: PointEvent[];
  end?: EndEvent;
  error?: ErrorEvent;
  report?: ReportEvent;
  /** A verify run's result (one candidate training). */
  candidate?: CandidateEvent;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the child wrote to stderr (for crash reports). */
  stderrTail: string[];
  cancelled: boolean;
}

export class SweepProcess {
  readonly done: Promise<SweepOutcome>;
  private readonly child: EngineChild;
  private readonly launch: Launch;
  private cancelRequested = false;
  private exited = false;
  /** The engine has said its last word (end or error): what is left is its clean-up. */
  private ended = false;

  constructor(opts: SweepProcessOptions) {
    const l = opts.launch;
    this.launch = l;
    const fileProtocol = typeof l.protocol === 'object' ? l.protocol.file : undefined;
    if (fileProtocol) fs.writeFileSync(fileProtocol, '');
    this.child = l.start ? l.start() : spawn(l.command, l.args, {
      stdio: l.protocol === 'fd3' ? ['ignore', 'pipe', 'pipe', 'pipe'] : fileProtocol ? ['ignore', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      cwd: l.cwd,
      env: { ...process.env, ...l.env },
      windowsHide: true,
    });
    const outcome: SweepOutcome = { points: [], exitCode: null, signal: null, stderrTail: [], cancelled: false };
    const tail = fileProtocol ? new FileTail(fileProtocol) : undefined;
    const protocolStream = (tail ?? (l.protocol === 'fd3' ? this.child.stdio[3] : this.child.stdout)) as Readable;
    const proto = readline.createInterface({ input: protocolStream });
    const err = readline.createInterface({ input: this.child.stderr! });
    const readers = [proto, err];
    if (tail) this.child.on('exit', () => tail.finish());
    let firstPointTimer: NodeJS.Timeout | undefined;
    // A job waiting in a scheduler's queue has not started: its time limit starts when it runs (`status` events).
    const armFirstPointTimer = () => {
      if (firstPointTimer) clearTimeout(firstPointTimer);
      firstPointTimer = undefined;
      if (!l.firstPointTimeoutMs || l.firstPointTimeoutMs <= 0 || outcome.points.length || this.exited) return;
      firstPointTimer = setTimeout(() => {
        if (outcome.points.length || outcome.error || this.exited) return;
        const s = Math.round(l.firstPointTimeoutMs! / 1000);
        outcome.error = {
          type: 'error', code: 'first-step-timeout',
          message: `${l.label ?? 'the script'} made no optimizer step within ${s} s of starting, so the sweep was stopped. ` +
            'If its start-up (loading data, building the model) takes longer, raise lrFinder.script.firstStepTimeout (--first-step-timeout).',
        };
        opts.onEvent?.(outcome.error);
        void this.cancel();
      }, l.firstPointTimeoutMs);
    };
    armFirstPointTimer();
    proto.on('line', (line) => {
      if (!line.trim()) return;
      const r = parseEventLine(line);
      if (!r.ok) { opts.onMalformed?.(line, r.error); return; }
      const e = r.event;
      if (e.type === 'hello') outcome.hello = e;
      else if (e.type === 'point') outcome.points.push(e);
      else if (e.type === 'end') { outcome.end = e; this.ended = true; }
      else if (e.type === 'report') outcome.report = e;
      else if (e.type === 'status') { if (e.state === 'running') armFirstPointTimer(); else if (firstPointTimer) { clearTimeout(firstPointTimer); firstPointTimer = undefined; } }
      else if (e.type === 'candidate') outcome.candidate = e;
      else if (e.type === 'error') { outcome.error ??= e; this.ended = true; }
      opts.onEvent?.(e);
    });
    err.on('line', (line) => {
      outcome.stderrTail.push(line);
      if (outcome.stderrTail.length > 40) outcome.stderrTail.shift();
      opts.onStderr?.(line);
    });
    if (l.protocol !== 'stdout') {
      const out = readline.createInterface({ input: this.child.stdout! });
      out.on('line', (line) => opts.onStdout?.(line));
      readers.push(out);
    }
    this.child.stdin?.on('error', () => { /* the child may exit before reading stdin */ });
    const closed = Promise.all(readers.map((r) => new Promise<void>((res) => r.on('close', () => res()))));
    this.done = new Promise<SweepOutcome>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exited = true;
        if (firstPointTimer) clearTimeout(firstPointTimer);
        outcome.exitCode = code;
        outcome.signal = signal;
        outcome.cancelled = this.cancelRequested;
        // Anything the child left running (DataLoader workers, a helper process) goes with it.
        if (l.cancel === 'leader') this.signalGroup('SIGKILL');
        // Wait for the remaining buffered lines, but never hang on a grandchild holding the pipes open.
        void Promise.race([closed, new Promise((r) => setTimeout(r, 500))]).then(() => {
          readers.forEach((r) => r.removeAllListeners());
          resolve(outcome);
        });
      };
      this.child.on('exit', finish);
      this.child.on('error', (e) => {
        outcome.error = { type: 'error', message: `could not start ${l.label ?? 'the engine'} (${l.command}): ${e.message}`, code: 'spawn' };
        if (!this.exited) finish(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Ask the engine to stop (it answers with a `cancelled` end event), then kill its whole process group if it has
   * not exited within `graceMs`. Resolves when the child has exited.
   */
  async cancel(graceMs = this.launch.cancelGraceMs ?? 700): Promise<SweepOutcome> {
    if (!this.exited) {
      this.cancelRequested = true;
      const timers: NodeJS.Timeout[] = [];
      if (this.launch.cancel === 'stdin') {
        this.child.stdin?.end();
        this.signalGroup('SIGTERM');
        timers.push(setTimeout(() => this.signalGroup('SIGKILL'), graceMs));
      } else {
        // The leader restores the user's files before it exits: once it has answered, it gets the time that takes;
        // the processes it started (DataLoader workers) go within the grace time either way.
        const term = () => { try { this.child.kill('SIGTERM'); } catch { /* gone */ } };
        if (this.launch.stop) void this.launch.stop().then((asked) => { if (!asked && !this.exited) term(); }, term);
        else term();
        timers.push(setTimeout(() => { if (this.ended) this.killFollowers(); else this.signalGroup('SIGKILL'); }, graceMs));
        timers.push(setTimeout(() => this.signalGroup('SIGKILL'), CLEANUP_LIMIT_MS));
      }
      await this.done;
      timers.forEach(clearTimeout);
      this.signalGroup('SIGKILL'); // anything left in the group
    }
    return this.done;
  }

  /** SIGKILL every process of the child's group but the child itself (Linux: from /proc; elsewhere nothing). */
  private killFollowers() {
    const pid = this.child.pid;
    if (!pid || process.platform !== 'linux') return;
    let entries: string[] = [];
    try { entries = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== pid); } catch { return; }
    for (const d of entries) {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pid) process.kill(Number(d), 'SIGKILL');
      } catch { /* gone */ }
    }
  }

  private signalGroup(sig: NodeJS.Signals) {
    const pid = this.child.pid;
    if (!pid) return;
    try {
      if (process.platform === 'win32') spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true });
      else process.kill(-pid, sig);
    } catch {
      try { this.child.kill(sig); } catch { /* already gone */ }
    }
  }
}

/** A file another process appends lines to, read as it grows (polled), ending when `finish()` has read the rest. */
export class FileTail extends Readable {
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  constructor(private readonly file: string) {
    super();
    this.timer = setInterval(() => this.poll(), 50);
  }
  _read() { /* pushed by poll() */ }
  private poll() {
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.file, 'r');
      const size = fs.fstatSync(fd).size;
      if (size > this.offset) {
        const buf = Buffer.alloc(size - this.offset);
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        this.offset += n;
        this.push(buf.subarray(0, n));
      }
    } catch { /* not there yet */ } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  finish() {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearInterval(this.timer);
    this.poll();
    this.push(null);
    try { fs.rmSync(this.file, { force: true }); fs.rmdirSync(path.dirname(this.file)); } catch { /* ours, in a temp folder */ }
  }
  _destroy(e: Error | null, cb: (e?: Error | null) => void) {
    if (this.timer) clearInterval(this.timer);
    cb(e);
  }
}
