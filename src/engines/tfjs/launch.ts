/** How to launch the tfjs engine (dist/engine.js) on a training config. No vscode import. */
import type { Launch } from '../../runner/sweepProcess';

export interface TfjsRun {
  /** dist/engine.js */
  enginePath: string;
  configFile: string;
  root?: string;
  /** Sweep settings and overrides as engine flags, e.g. ['--num-iter', '50']. */
  args?: string[];
  /** The Node binary; defaults to the current one (VS Code's own Node inside the extension host). */
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
}

export function tfjsLaunch(r: TfjsRun): Launch {
  return {
    command: r.nodePath ?? process.execPath,
    args: [r.enginePath, '--config', r.configFile, '--stdin-cancel', ...(r.root ? ['--root', r.root] : []), ...(r.args ?? [])],
    env: { ...r.env, ELECTRON_RUN_AS_NODE: '1' },
    protocol: 'stdout',
    cancel: 'stdin',
    label: 'the engine',
  };
}
