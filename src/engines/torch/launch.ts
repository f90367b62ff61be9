/**
 * How to launch the script engine: the user's own command (`python train.py ARGS`, `python -m pkg.train ARGS`) with
 * the hook folder (python/, shipped with the extension) first on PYTHONPATH and the run request in the environment
 * (docs/script-engine.md). No vscode import: the CLI and the extension use it alike.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { SweepSettings } from '../../core/analysis';
import type { Launch } from '../../runner/sweepProcess';

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
  /** The folder holding sitecustomize.py and lr_finder_hook/. */
  hookDir: string;
  /** The script's own environment (launch.json `env`), under ours. */
  env?: NodeJS.ProcessEnv;
  /** Fail when no step has come after this many ms. */
  firstStepTimeoutMs?: number;
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
  };
  const userPath = r.env?.PYTHONPATH ?? process.env.PYTHONPATH;
  return {
    command: r.python,
    args: [...(r.module ? ['-m', r.module] : [r.script!]), ...r.args],
    cwd: r.cwd,
    env: {
      ...QUIET_TRACKERS,
      ...r.env,
      PYTHONPATH: [r.hookDir, ...(userPath ? [userPath] : [])].join(path.delimiter),
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      LR_FINDER_REQUEST: JSON.stringify(request),
      LR_FINDER_PROTOCOL_FD: '3',
      LR_FINDER_MAIN_PID: '',
    },
    protocol: 'fd3',
    cancel: 'leader',
    label: r.module ? `python -m ${r.module}` : path.basename(r.script!),
    firstPointTimeoutMs: r.firstStepTimeoutMs,
  };
}

/** The hook folder next to the bundle (dist/ → ../python), or under the extension root. */
export function findHookDir(from: string): string {
  for (const d of [path.join(from, '..', 'python'), path.join(from, 'python')]) {
    if (fs.existsSync(path.join(d, 'lr_finder_hook', '__init__.py'))) return path.resolve(d);
  }
  throw new Error(`the script engine's Python files (python/lr_finder_hook) are missing beside ${from}; reinstall LR Finder`);
}

/** `torchrun`, `python -m torch.distributed.run`, or `RANK`/`WORLD_SIZE` set: not supported yet. */
export function distributedLaunch(module: string | undefined, program: string | undefined, env: NodeJS.ProcessEnv | undefined): string | undefined {
  const p = program ? path.basename(program) : '';
  if (module === 'torch.distributed.run' || module === 'torch.distributed.launch' || p === 'torchrun') {
    return 'a torchrun launch (torch.distributed.run)';
  }
  const world = env?.WORLD_SIZE;
  if (world && world !== '1') return `WORLD_SIZE=${world}`;
  return undefined;
}
