/**
 * What a script run runs in VS Code: the interpreter (lrFinder.python, else the Python extension's active
 * environment for the file, else python3 on PATH), and the arguments, environment and working directory of a
 * launch.json Python configuration for this file (picked if there are several) or of lrFinder.script.args/cwd.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { launcherWords, splitLauncherArgs } from '../engines/torch/launch';

export interface ScriptPlan {
  python: string;
  /** Where the interpreter came from, for the log and the panel. */
  pythonSource: string;
  script?: string;
  module?: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  /** "launch.json: Train", "lrFinder.script.args". */
  argsSource: string;
  /** The launch configuration that gave the arguments, if one did. */
  launchName?: string;
  /** torchrun / srun words the command runs under (lrFinder.launcher, or a torchrun launch configuration). */
  launcher?: string[];
  root: string;
}

interface LaunchConfig {
  name?: string;
  type?: string;
  request?: string;
  program?: string;
  module?: string;
  args?: string[] | string;
  env?: Record<string, string>;
  cwd?: string;
  python?: string;
}

export async function planScriptRun(uri: vscode.Uri): Promise<ScriptPlan | undefined> {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const root = folder?.uri.fsPath ?? path.dirname(uri.fsPath);
  const vars = (s: string) => substitute(s, root, uri.fsPath);
  const c = vscode.workspace.getConfiguration('lrFinder', uri);
  const launch = await pickLaunchConfig(uri, folder, vars);
  if (launch === null) return undefined; // the user dismissed the pick
  let plan: Omit<ScriptPlan, 'python' | 'pythonSource'>;
  if (launch) {
    const args = Array.isArray(launch.args) ? launch.args.map(vars) : typeof launch.args === 'string' ? (launcherWords(vars(launch.args)) ?? []) : [];
    const env = launch.env ? Object.fromEntries(Object.entries(launch.env).map(([k, v]) => [k, vars(String(v))])) : undefined;
    const cwd = launch.cwd ? vars(launch.cwd) : root;
    const py = await resolveInterpreter(uri, launch.python ? vars(launch.python) : undefined);
    const ddp = splitLauncherArgs(launch.module, launch.program ? vars(launch.program) : undefined, py.python, args);
    plan = ddp
      ? { ...(ddp.module ? { module: ddp.module } : { script: path.resolve(cwd, ddp.script!) }), args: ddp.args, launcher: ddp.launcher, env, cwd,
        argsSource: `launch.json: ${launch.name ?? '(unnamed)'}`, launchName: launch.name, root }
      : { ...(launch.module ? { module: launch.module } : { script: uri.fsPath }), args, env, cwd,
        argsSource: `launch.json: ${launch.name ?? '(unnamed)'}`, launchName: launch.name, root,
        launcher: launcherWords(c.get<string>('launcher', '')) };
  } else {
    const args = c.get<string[]>('script.args', []).map(vars);
    const cwd = c.get<string>('script.cwd', '');
    plan = { script: uri.fsPath, args, cwd: cwd ? path.resolve(root, vars(cwd)) : root, argsSource: args.length ? 'lrFinder.script.args' : 'no arguments', root,
      launcher: launcherWords(c.get<string>('launcher', '')) };
  }
  if (!fs.existsSync(plan.cwd)) throw new Error(`The working directory ${plan.cwd} (${plan.argsSource}) does not exist.`);
  const py = await resolveInterpreter(uri, launch?.python ? vars(launch.python) : undefined);
  return { ...plan, ...py };
}

/** The interpreter: launch.json's `python`, lrFinder.python, the Python extension's environment, else python3. */
export async function resolveInterpreter(uri: vscode.Uri, fromLaunch?: string): Promise<{ python: string; pythonSource: string }> {
  if (fromLaunch) return { python: fromLaunch, pythonSource: 'the launch configuration' };
  const setting = vscode.workspace.getConfiguration('lrFinder', uri).get<string>('python', '');
  if (setting) return { python: setting, pythonSource: 'lrFinder.python' };
  if (vscode.extensions.getExtension('ms-python.python')) {
    try {
      const { PythonExtension } = await import('@vscode/python-extension');
      const api = await PythonExtension.api();
      const env = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(uri));
      const exe = env?.executable.uri?.fsPath;
      if (exe) return { python: exe, pythonSource: 'the Python extension' };
    } catch { /* fall through to PATH */ }
  }
  return { python: process.platform === 'win32' ? 'python' : 'python3', pythonSource: 'PATH' };
}

async function pickLaunchConfig(uri: vscode.Uri, folder: vscode.WorkspaceFolder | undefined, vars: (s: string) => string): Promise<LaunchConfig | undefined | null> {
  const all = vscode.workspace.getConfiguration('launch', folder?.uri).get<LaunchConfig[]>('configurations', []) ?? [];
  const mine = all.filter((l) => (l.type === 'debugpy' || l.type === 'python') && (l.request ?? 'launch') === 'launch' && runsFile(l, uri.fsPath, folder, vars));
  if (mine.length <= 1) return mine[0];
  const pick = await vscode.window.showQuickPick(mine.map((l) => ({
    label: l.name ?? '(unnamed)', description: Array.isArray(l.args) ? l.args.join(' ') : l.args ?? '', config: l,
  })), { title: `Find Learning Rate on ${path.basename(uri.fsPath)}: which launch configuration?` });
  return pick ? pick.config : null;
}

function runsFile(l: LaunchConfig, file: string, folder: vscode.WorkspaceFolder | undefined, vars: (s: string) => string): boolean {
  if (l.program) return path.resolve(folder?.uri.fsPath ?? '', vars(l.program)) === file;
  if (l.module) {
    const base = l.cwd ? vars(l.cwd) : folder?.uri.fsPath ?? '';
    const rel = l.module.split('.').join(path.sep);
    return [path.join(base, `${rel}.py`), path.join(base, rel, '__main__.py')].includes(file);
  }
  return false;
}

/** launch.json's variables that matter for a run: ${workspaceFolder}, ${file}, ${fileDirname}, ${env:NAME}... */
export function substitute(s: string, root: string, file: string): string {
  return s.replace(/\$\{(\w+)(?::([^}]*))?\}/g, (m, name: string, arg?: string) => {
    switch (name) {
      case 'workspaceFolder': case 'workspaceRoot': return root;
      case 'workspaceFolderBasename': return path.basename(root);
      case 'file': return file;
      case 'fileDirname': return path.dirname(file);
      case 'fileBasename': return path.basename(file);
      case 'fileBasenameNoExtension': return path.basename(file, path.extname(file));
      case 'relativeFile': return path.relative(root, file);
      case 'env': return process.env[arg ?? ''] ?? '';
      case 'pathSeparator': return path.sep;
      default: return m;
    }
  });
}
