/**
 * Runs the engine as a child process and reads its protocol events. Shared by the CLI and the extension host
 * (no vscode import). The child gets its own process group so that cancel ends it and anything it started.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as readline from 'readline';
import { parseEventLine, type EndEvent, type ErrorEvent, type HelloEvent, type PointEvent, type SweepEvent } from '../core/protocol';

export interface SweepProcessOptions {
  /** dist/engine.js */
  enginePath: string;
  configFile: string;
  root?: string;
  /** Extra engine arguments, e.g. ['--num-iter', '50']. */
  args?: string[];
  /** The Node binary; defaults to the current one (VS Code's own Node inside the extension host). */
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
  onEvent?(e: SweepEvent): void;
  onStderr?(line: string): void;
  onMalformed?(line: string, error: string): void;
}

export interface SweepOutcome {
  hello?: HelloEvent;
  points: PointEvent[];
  end?: EndEvent;
  error?: ErrorEvent;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the child wrote to stderr (for crash reports). */
  stderrTail: string[];
  cancelled: boolean;
}

export class SweepProcess {
  readonly done: Promise<SweepOutcome>;
  private readonly child: ChildProcess;
  private cancelRequested = false;
  private exited = false;

  constructor(opts: SweepProcessOptions) {
    const args = [opts.enginePath, '--config', opts.configFile, '--stdin-cancel', ...(opts.root ? ['--root', opts.root] : []), ...(opts.args ?? [])];
    this.child = spawn(opts.nodePath ?? process.execPath, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      env: { ...process.env, ...opts.env, ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    const outcome: SweepOutcome = { points: [], exitCode: null, signal: null, stderrTail: [], cancelled: false };
    const out = readline.createInterface({ input: this.child.stdout! });
    const err = readline.createInterface({ input: this.child.stderr! });
    out.on('line', (line) => {
      if (!line.trim()) return;
      const r = parseEventLine(line);
      if (!r.ok) { opts.onMalformed?.(line, r.error); return; }
      const e = r.event;
      if (e.type === 'hello') outcome.hello = e;
      else if (e.type === 'point') outcome.points.push(e);
      else if (e.type === 'end') outcome.end = e;
      else outcome.error = e;
      opts.onEvent?.(e);
    });
    err.on('line', (line) => {
      outcome.stderrTail.push(line);
      if (outcome.stderrTail.length > 40) outcome.stderrTail.shift();
      opts.onStderr?.(line);
    });
    this.child.stdin!.on('error', () => { /* the child may exit before reading stdin */ });
    const outClosed = new Promise<void>((r) => out.on('close', () => r()));
    const errClosed = new Promise<void>((r) => err.on('close', () => r()));
    this.done = new Promise<SweepOutcome>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exited = true;
        outcome.exitCode = code;
        outcome.signal = signal;
        outcome.cancelled = this.cancelRequested;
        // Wait for the remaining buffered lines, but never hang on a grandchild holding the pipes open.
        void Promise.race([Promise.all([outClosed, errClosed]), new Promise((r) => setTimeout(r, 500))]).then(() => {
          out.removeAllListeners(); err.removeAllListeners();
          resolve(outcome);
        });
      };
      this.child.on('exit', finish);
      this.child.on('error', (e) => {
        outcome.error = { type: 'error', message: `could not start the engine (${opts.nodePath ?? process.execPath}): ${e.message}` };
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
  async cancel(graceMs = 700): Promise<SweepOutcome> {
    if (!this.exited) {
      this.cancelRequested = true;
      this.child.stdin?.end();
      this.signalGroup('SIGTERM');
      const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
      await this.done;
      clearTimeout(timer);
      this.signalGroup('SIGKILL'); // anything left in the group
    }
    return this.done;
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
