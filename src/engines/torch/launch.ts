/**
 * How to launch the script engine: the user's own command (`python train.py ARGS`, `python -m pkg.train ARGS`) with
 * the hook folder (python/, shipped with the extension) first on PYTHONPATH and the run request in the environment
 * (docs/script-engine.md). No vscode import: the CLI and the extension use it alike.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SweepSettings } from '../../core/analysis';
import type { Launch } from '../../runner/sweepProcess';
import { batchLaunch, jobsDir, slurmKind, srunLauncher } from './slurm';

export interface ScriptRun {
  /** The interpreter: a path or a name on PATH. */
  python: string;
  /** The script file (absolute), or `module` for `python -m`. */
  script?: string;
  module?: string;
  args: string[];
  cwd: string;
  /** The workspace folder: files the script changes inside it are put back; weights inside it are not loaded. */
  root: string;
  settings: SweepSettings;
  /** Added to the seeds the script sets (Repeat ×K: run k gets k). */
  seedOffset?: number;
  /** Let `torch.load` read workspace files (pretrained weights a fine-tuning script starts from). */
  allowLoad?: boolean;
  /**
   * Verify mode instead of a range test: train `steps` steps with a one-cycle schedule at max LR `lr`, then score the
   * loss on held-out data (`holdout`: the fraction of each map-style dataset left out, default 0.2; `evalBatches`: at
   * most that many held-out batches, default 50). The seed is `seedOffset`. docs/script-engine.md, "Verify mode".
   */
  verify?: { lr: number; steps: number; holdout?: number; evalBatches?: number };
  /** The folder holding sitecustomize.py and lr_finder_hook/. */
  hookDir: string;
  /** The script's own environment (launch.json `env`), under ours. */
  env?: NodeJS.ProcessEnv;
  /** Fail when no step has come after this many ms. */
  firstStepTimeoutMs?: number;
  /**
   * A launcher the command runs under, as words: `torchrun --nproc_per_node 2` (the script follows it), or
   * `srun -n 2` / `mpirun -np 2` (the interpreter and the script follow it), or `sbatch -n 2 ...` (a batch job:
   * slurm.ts). Every rank sweeps; rank 0 reports.
   */
  launcher?: string[];
}

/** Settings that keep experiment trackers from reporting a sweep as a run (and from writing their files). */
const QUIET_TRACKERS: NodeJS.ProcessEnv = {
  WANDB_MODE: 'disabled', WANDB_DISABLED: 'true', DISABLE_MLFLOW_INTEGRATION: 'TRUE', COMET_MODE: 'disabled',
  NEPTUNE_MODE: 'debug', CLEARML_OFFLINE_MODE: '1',
};

export function scriptLaunch(r: ScriptRun): Launch {
  if (!r.script === !r.module) throw new Error('a script run needs exactly one of script or module');
  const request = {
    startLr: r.settings.startLr, endLr: r.settings.endLr, numIter: r.settings.numIter, mode: r.settings.mode,
    stopFactor: r.settings.stopFactor, smoothing: r.settings.smoothing,
    root: r.root, seedOffset: r.seedOffset ?? 0, allowLoad: !!r.allowLoad,
    ...(r.verify ? { verify: r.verify } : {}),
  };
  const userPath = r.env?.PYTHONPATH ?? process.env.PYTHONPATH;
  const target = r.module ? ['-m', r.module] : [r.script!];
  const env: NodeJS.ProcessEnv = {
    ...QUIET_TRACKERS,
    ...r.env,
    PYTHONPATH: [r.hookDir, ...(userPath ? [userPath] : [])].join(path.delimiter),
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    LR_FINDER_REQUEST: JSON.stringify(request),
    LR_FINDER_MAIN_PID: '',
  };
  const label = r.module ? `python -m ${r.module}` : path.basename(r.script!);
  if (r.launcher?.length) {
    // Slurm (slurm.ts): sbatch submits the sweep as a batch job; srun's protocol file goes where the nodes see it.
    const slurm = slurmKind(r.launcher);
    if (slurm === 'sbatch') {
      return batchLaunch({ launcher: r.launcher, command: [r.python, ...target, ...r.args], cwd: r.cwd, env, hookDir: r.hookDir, label, firstStepTimeoutMs: r.firstStepTimeoutMs });
    }
    // A launcher closes inherited descriptors (torchrun starts its ranks with close_fds): the protocol goes
    // through a file outside the workspace, which rank 0 appends to.
    const dir = fs.mkdtempSync(path.join(slurm ? jobsDir() : os.tmpdir(), 'lr-finder-run-'));
    const srun = slurm === 'srun' ? srunLauncher(r.launcher) : undefined;
    const words = srun ? srun.words : [...r.launcher];
    const torchrun = isTorchrun(words);
    if (torchrun && !words.some((w) => /^--(redirects|tee|log[_-]dir)\b/.test(w))) {
      // torch 1.13 on Python 3.11 (Debian's) crashes at start-up without these ('NoneType' object has no attribute 'get').
      words.push('--redirects', '2', '--tee', '2', '--log_dir', path.join(dir, 'torchrun-logs'));
    }
    return {
      command: words[0],
      args: [...words.slice(1), ...(torchrun ? [] : [r.python]), ...target, ...r.args],
      cwd: r.cwd,
      env: { ...env, LR_FINDER_LAUNCHER: r.launcher.join(' '), LR_FINDER_LAUNCHER_KIND: torchrun ? 'torchrun' : 'other', LR_FINDER_PROTOCOL_FILE: path.join(dir, 'protocol.jsonl') },
      protocol: { file: path.join(dir, 'protocol.jsonl') },
      cancel: 'leader',
      ...(srun ? { stop: srun.stop } : {}),
      // The launcher passes the stop on to its ranks, which restore the workspace before they exit.
      cancelGraceMs: 15000,
      label: `${label} (${r.launcher.join(' ')})`,
      firstPointTimeoutMs: r.firstStepTimeoutMs,
    };
  }
  return {
    command: r.python,
    args: [...target, ...r.args],
    cwd: r.cwd,
    env: { ...env, LR_FINDER_PROTOCOL_FD: '3' },
    protocol: 'fd3',
    cancel: 'leader',
    label,
    firstPointTimeoutMs: r.firstStepTimeoutMs,
  };
}

/** `torchrun ...` or `python -m torch.distributed.run ...`: the script follows the launcher's own options. */
export function isTorchrun(words: readonly string[]): boolean {
  return words.some((w) => path.basename(w) === 'torchrun' || w === 'torch.distributed.run' || w === 'torch.distributed.launch');
}

/** A launcher setting or flag as words, split as a POSIX shell would (quotes and backslashes; no expansion). */
export function launcherWords(s: string | undefined): string[] | undefined {
  if (!s || !s.trim()) return undefined;
  const out: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) word += s[++i];
      else word += c;
    } else if (c === '"' || c === "'") { quote = c; word ??= ''; }
    else if (c === '\\' && i + 1 < s.length) word = (word ?? '') + s[++i];
    else if (/\s/.test(c)) { if (word !== undefined) out.push(word); word = undefined; }
    else word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out.length ? out : undefined;
}

/** The hook folder next to the bundle (dist/ → ../python), or under the extension root. */
export function findHookDir(from: string): string {
  for (const d of [path.join(from, '..', 'python'), path.join(from, 'python')]) {
    if (fs.existsSync(path.join(d, 'lr_finder_hook', '__init__.py'))) return path.resolve(d);
  }
  throw new Error(`the script engine's Python files (python/lr_finder_hook) are missing beside ${from}; reinstall LR Finder`);
}

/**
 * A launch.json configuration that runs torchrun (`"module": "torch.distributed.run"` or `"program": ".../torchrun"`)
 * with the script among its args: the launcher words and the script's own arguments.
 */
export function splitLauncherArgs(module: string | undefined, program: string | undefined, python: string, args: readonly string[]):
  { launcher: string[]; script?: string; module?: string; args: string[] } | undefined {
  const torchrun = module === 'torch.distributed.run' || module === 'torch.distributed.launch' || (program && path.basename(program) === 'torchrun');
  if (!torchrun) return undefined;
  const launcher = module ? [python, '-m', module] : [program!];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-m' && i + 1 < args.length) return { launcher: [...launcher, ...args.slice(0, i)], module: args[i + 1], args: args.slice(i + 2) };
    if (/\.pyw?$/.test(args[i])) return { launcher: [...launcher, ...args.slice(0, i)], script: args[i], args: args.slice(i + 1) };
  }
  return undefined;
}
