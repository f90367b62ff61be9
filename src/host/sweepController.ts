/**
 * Runs sweeps for the extension: trust check, what to run (a training config or a Python script: the engine follows),
 * the child process with a cancellable progress notification, live updates to the panel, diagnostics and errors, and
 * click-to-insert. One sweep at a time. Which engine runs matters only in `configSource` / `scriptSource`.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { FASTAI_DEFAULTS, isSuggestion, type SweepSettings } from '../core/analysis';
import { parseConfigText, type TrainingConfig } from '../engines/tfjs/config';
import { commandLine } from '../core/engineSummary';
import { formatLoss, formatLr } from '../core/format';
import { PickResultMessage, type SweepView } from '../core/messages';
import type { ErrorEvent } from '../core/protocol';
import { reportLine } from '../core/scriptReport';
import { buildView, curveCsv, curveJson, LiveRows, statusText, analyzeRecord, type SweepRecord, type VerifyRecord } from '../core/sweepView';
import { VerifyRun } from '../runner/verifyRun';
import { adopt } from '../core/settingsAdopt';
import { chooseConfig, isTrainingConfig, looksLikeTrainingConfig } from './configFiles';
import type { ConfigDiagnostics } from './diagnostics';
import { describeScriptTarget, insertIntoScript, insertLearningRate, resolveTarget, scriptCandidates } from './insert';
import { log, showError } from './log';
import { LrPanel } from './panel';
import { readSettings } from './settings';
import { processesAtOnce, RepeatedSweep, type RepeatedOutcome } from '../runner/repeatedSweep';
import { findHookDir, scriptLaunch } from '../engines/torch/launch';
import { planScriptRun, type ScriptPlan } from './scriptRun';
import type { Launch } from '../runner/sweepProcess';
import { tfjsLaunch } from '../engines/tfjs/launch';

/** What a sweep runs: made by the config or the script flow; the rest of the controller does not care which. */
interface Source {
  kind: 'config' | 'script';
  uri: vscode.Uri;
  settings: SweepSettings;
  repeats: number;
  launchFor(run: number): Launch;
  /** One Verify training: max LR `lr`, seed offset `seed`, `steps` one-cycle steps. */
  verifyLaunch(lr: number, seed: number, steps: number): Launch;
  /** Script runs: what ran. */
  plan?: ScriptPlan;
  /** The config's `sweep.verify`: verify once the sweep has ended, with these options over the settings'. */
  verify?: TrainingConfig['sweep']['verify'];
}

export function isPythonFile(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && uri.scheme === 'file' && /\.pyw?$/i.test(uri.fsPath);
}

const LAST_SWEEP_KEY = 'lrFinder.lastSweep';

/** Engine processes at once: a script shares the user's folder (processesAtOnce). */
const parallelFor = (kind: Source['kind']) => processesAtOnce(kind === 'script');

interface Running {
  /** The sweep, or Verify's trainings. */
  proc: { cancel(): Promise<void>; readonly pids: number[] };
  record: SweepRecord;
  done: Promise<void>;
}

export class SweepController implements vscode.Disposable {
  private panel: LrPanel | undefined;
  private running: Running | undefined;
  private record: SweepRecord | undefined;
  private configUri: vscode.Uri | undefined;
  private source: Source | undefined;
  private target = '';
  lastEditor: vscode.TextEditor | undefined;

  /**
   * `memento` (workspaceState) keeps the last finished sweep too: the webview's own saved state can be lost when the
   * window reloads right after a sweep, before the workbench has stored it.
   */
  constructor(private readonly extensionUri: vscode.Uri, private readonly diagnostics: ConfigDiagnostics, private readonly memento?: vscode.Memento) {}

  /** A setting the view depends on changed (the starred suggestion, the digits): show it in the open panel. */
  refreshView() {
    if (this.record && this.panel) this.panel.setView(this.view());
  }

  /** The last sweep's record (for tests and "Insert Suggested Learning Rate"). */
  get lastRecord(): SweepRecord | undefined {
    return this.record;
  }

  get isRunning(): boolean {
    return !!this.running;
  }

  /** Resolves when no sweep is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running.done;
  }

  /** `repeats` overrides the config's sweep.repeats (the panel's "Repeat ×3"). `uri`: a config or a Python script. */
  async findLearningRate(uri?: vscode.Uri, repeats?: number): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      // Notifications are not awaited: the command returns while the message is shown.
      void vscode.window.showWarningMessage(
        'LR Finder runs the training config or script, its data and model from this workspace, so it only runs in a trusted workspace.',
        'Manage Workspace Trust').then((choice) => { if (choice) void vscode.commands.executeCommand('workbench.trust.manage'); });
      return;
    }
    const editor = vscode.window.activeTextEditor ?? this.lastEditor;
    const active = editor?.document.uri;
    const script = isPythonFile(uri) ? uri
      : !uri && isPythonFile(active) && !isTrainingConfig(active) && !looksLikeTrainingConfig(editor?.document) ? active : undefined;
    const source = script ? await this.scriptSource(script, repeats) : await this.configSource(uri, repeats);
    if (!source) return;
    if (this.running) {
      const answer = await vscode.window.showWarningMessage(
        `A sweep is running on ${this.running.record.configName}. Stop it and start a new one?`, { modal: true }, 'Stop and Start');
      if (answer !== 'Stop and Start') return;
      await this.stop();
    }
    await this.start(source);
  }

  private async configSource(uri: vscode.Uri | undefined, repeatsOverride?: number): Promise<Source | undefined> {
    const configUri = await chooseConfig(uri, this.lastEditor);
    if (!configUri) return undefined;
    const doc = await vscode.workspace.openTextDocument(configUri);
    if (doc.isDirty) await doc.save();
    const issues = this.diagnostics.validate(doc);
    if (issues.length) {
      const i = issues[0];
      void vscode.window.showErrorMessage(`${path.basename(configUri.fsPath)}:${i.line}:${i.column}: ${i.message}`, 'Show Problems')
        .then((choice) => { if (choice) void vscode.commands.executeCommand('workbench.actions.view.problems'); });
      return undefined;
    }
    const s = readSettings(configUri);
    const cfg = parseConfigText(configUri.fsPath, doc.getText()).config!;
    const own = new Set(cfg.sweepKeys);
    const pick = <K extends 'startLr' | 'endLr' | 'numIter' | 'stopFactor' | 'smoothing'>(k: K): number =>
      own.has(k) ? cfg.sweep[k] : s[k] ?? FASTAI_DEFAULTS[k];
    const settings: SweepSettings = {
      startLr: pick('startLr'), endLr: pick('endLr'), numIter: pick('numIter'), mode: cfg.sweep.mode,
      stopFactor: pick('stopFactor'), smoothing: pick('smoothing'),
    };
    const args = ['--start-lr', String(settings.startLr), '--end-lr', String(settings.endLr), '--num-iter', String(settings.numIter),
      '--stop-factor', String(settings.stopFactor), '--smoothing', String(settings.smoothing), '--backend', s.backend];
    const repeats = repeatsOverride ?? cfg.sweep.repeats;
    const root = vscode.workspace.getWorkspaceFolder(configUri)?.uri.fsPath;
    const enginePath = vscode.Uri.joinPath(this.extensionUri, 'dist', 'engine.js').fsPath;
    return {
      kind: 'config', uri: configUri, settings, repeats, verify: cfg.sweep.verify,
      launchFor: (run) => tfjsLaunch({ enginePath, configFile: configUri.fsPath, root, args: [...args, ...(repeats > 1 ? ['--seed', String(cfg.seed + run)] : [])] }),
      verifyLaunch: (lr, run, steps) => tfjsLaunch({
        enginePath, configFile: configUri.fsPath, root, args: [...args, '--seed', String(cfg.seed + run), '--verify-lr', String(lr), '--verify-steps', String(steps)],
      }),
    };
  }

  private async scriptSource(uri: vscode.Uri, repeatsOverride?: number): Promise<Source | undefined> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty) await doc.save();
    let plan: ScriptPlan | undefined;
    try { plan = await planScriptRun(uri); } catch (e) { void showError(`LR Finder: ${(e as Error).message}`); return undefined; }
    if (!plan) return undefined;
    const s = readSettings(uri);
    const settings: SweepSettings = {
      startLr: s.startLr ?? FASTAI_DEFAULTS.startLr, endLr: s.endLr ?? FASTAI_DEFAULTS.endLr, numIter: s.numIter ?? FASTAI_DEFAULTS.numIter,
      mode: 'exponential', stopFactor: s.stopFactor ?? FASTAI_DEFAULTS.stopFactor, smoothing: s.smoothing ?? FASTAI_DEFAULTS.smoothing,
    };
    const hookDir = findHookDir(vscode.Uri.joinPath(this.extensionUri, 'dist').fsPath);
    const p = plan;
    return {
      kind: 'script', uri, settings, repeats: repeatsOverride ?? 1, plan,
      launchFor: (run) => scriptLaunch({
        python: p.python, script: p.script, module: p.module, args: p.args, cwd: p.cwd, root: p.root, settings, seedOffset: run,
        allowLoad: s.scriptAllowLoad, hookDir, env: p.env, firstStepTimeoutMs: s.firstStepTimeout * 1000, launcher: p.launcher,
      }),
      // Verify trains in one process, without the launcher (each candidate is a short single-process training).
      verifyLaunch: (lr, run, steps) => scriptLaunch({
        python: p.python, script: p.script, module: p.module, args: p.args, cwd: p.cwd, root: p.root, settings, seedOffset: run,
        allowLoad: s.scriptAllowLoad, hookDir, env: p.env, firstStepTimeoutMs: s.firstStepTimeout * 1000, verify: { lr, steps },
      }),
    };
  }

  private async start(source: Source): Promise<void> {
    const { settings, repeats } = source;
    const record: SweepRecord = { configPath: source.uri.fsPath, configName: vscode.workspace.asRelativePath(source.uri), settings, points: [], repeats };
    this.record = record;
    this.configUri = source.uri;
    this.source = source;
    if (source.kind === 'config') {
      try { this.target = (await resolveTarget(source.uri)).description; } catch (e) { this.target = (e as Error).message; }
    } else {
      this.target = 'found when the script has built its optimizer';
    }
    this.ensurePanel();
    this.panel!.setView(this.view());

    const live = new LiveRows(settings.smoothing);
    const t0 = Date.now();
    let progressPoints = 0;
    const tag = source.kind === 'script' ? '[script]' : '[engine]';
    const proc = new RepeatedSweep({
      repeats, parallel: parallelFor(source.kind),
      // Each launch is made once (a launcher's makes a folder): the first one is logged as it is made.
      launchFor: (run) => {
        const l = source.launchFor(run);
        if (run === 0) {
          log().info(`sweep: ${[l.command, ...l.args].join(' ')}${l.cwd ? ` (in ${l.cwd})` : ''}` +
            (source.plan ? ` · interpreter from ${source.plan.pythonSource} · arguments from ${source.plan.argsSource}` : ''));
        }
        return l;
      },
      onEvent: (run, e) => {
        log().debug(`run ${run + 1}: ${JSON.stringify(e)}`);
        if (e.type === 'point') progressPoints++;
        if (run !== 0) return; // the first run draws live; the others join the result at the end
        if (e.type === 'hello') {
          record.hello = e;
          record.settings = adopt(record.settings, e.config);
          for (const w of e.warnings) log().warn(w);
          if (e.script) log().info(`ran: ${commandLine(e.script)} (in ${e.script.cwd})`);
          this.panel?.setView(this.view());
          if (source.kind === 'script') void this.updateScriptTarget(record);
        } else if (e.type === 'point') {
          record.points.push(e);
          this.panel?.pushPoints([live.next(e)], statusText(record), e.valLoss !== undefined);
        }
      },
      onStdout: (line) => log().info(`${tag} ${line}`),
      onStderr: (line) => log().info(`${tag} ${line}`),
      onMalformed: (line, error) => log().warn(`ignored a malformed line from the engine (${error}): ${line}`),
    });
    const title = path.basename(source.uri.fsPath);
    const done = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `LR Finder: ${title}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => { void proc.cancel(); });
        let reported = 0;
        const timer = setInterval(() => {
          const n = progressPoints;
          const total = record.settings.numIter * repeats;
          const last = record.points[record.points.length - 1];
          if (n === reported || !last) return;
          const runs = repeats > 1 ? ` · ${repeats} runs` : '';
          progress.report({ increment: ((n - reported) / total) * 100, message: `step ${n}/${total}${runs} · LR ${formatLr(last.lr)} · loss ${formatLoss(last.loss)}` });
          reported = n;
        }, 200);
        try { return await proc.done; } finally { clearInterval(timer); }
      },
    ).then((outcome) => { record.wallSeconds = (Date.now() - t0) / 1000; return this.finish(record, outcome, source); });
    this.running = { proc, record, done: Promise.resolve(done).then(() => undefined, () => undefined) };
    void this.running.done.then(() => { if (this.running?.proc === proc) this.running = undefined; });
  }

  private async updateScriptTarget(record: SweepRecord) {
    const src = this.source;
    if (!src?.plan || this.record !== record) return;
    try {
      const c = await scriptCandidates(src.uri, record.hello?.script, src.plan.root);
      this.target = describeScriptTarget(c, record.hello?.script, src.plan.root);
    } catch (e) { this.target = (e as Error).message; }
    if (this.record === record) this.panel?.setView(this.view());
  }

  private async finish(record: SweepRecord, outcome: RepeatedOutcome, source: Source): Promise<void> {
    record.end = outcome.end;
    if (outcome.end && outcome.runs.length > 1) {
      record.points = outcome.points; // the median curve
      record.runs = outcome.runs;
    }
    if (outcome.report) {
      record.notice = reportLine(outcome.report);
      log().info(record.notice);
    }
    if (outcome.error) {
      record.error = outcome.error.message;
      if (source.kind === 'config') {
        if (outcome.error.line && outcome.error.file) this.diagnostics.report(vscode.Uri.file(outcome.error.file), outcome.error.line, outcome.error.column ?? 1, outcome.error.message);
        void showError(`LR Finder: ${outcome.error.message}`);
      } else {
        if (outcome.exitCode) log().error(`${path.basename(source.uri.fsPath)} exited with code ${outcome.exitCode}`);
        void this.showScriptError(outcome.error, outcome.exitCode);
      }
    } else if (!outcome.end) {
      const who = source.kind === 'script' ? path.basename(source.uri.fsPath) : 'the engine';
      const why = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
      const last = outcome.stderrTail.filter((l) => l.trim()).slice(-1)[0];
      record.error = `${who} ${why} before finishing the sweep${last ? `: ${last.trim()}` : ''}`;
      for (const l of outcome.stderrTail) log().error(`[${source.kind === 'script' ? 'script' : 'engine'}] ${l}`);
      void showError(`LR Finder: ${record.error}`);
    } else {
      log().info(`sweep ended: ${outcome.end.reason}, ${outcome.end.points} points in ${outcome.end.seconds?.toFixed(2)} s`);
    }
    if (this.record === record) {
      const v = this.view();
      this.panel?.setView(v);
      await this.memento?.update(LAST_SWEEP_KEY, v.persist);
      // The config asks for Verify (`sweep.verify`): it starts once this sweep is no longer the running one.
      if (source.verify?.enabled && outcome.end && outcome.end.reason !== 'cancelled' && !outcome.error) {
        void this.idle().then(() => { if (this.record === record && !this.running) void this.verify(); });
      }
    }
  }

  private argsOrigin() {
    const plan = this.source?.plan;
    if (!plan || !this.configUri) return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(this.configUri)?.uri;
    return plan.launchName !== undefined || plan.argsSource.startsWith('launch.json')
      ? { kind: 'launch' as const, name: plan.launchName, folder } : { kind: 'setting' as const, folder };
  }

  /** A script's failure: its message, a link to the traceback's line, and what to do. */
  private async showScriptError(e: ErrorEvent, exitCode: number | null) {
    const actions: string[] = [];
    if (e.file && e.line) actions.push(`Open ${path.basename(e.file)}:${e.line}`);
    if (e.code === 'no-torch') actions.push(vscode.extensions.getExtension('ms-python.python') ? 'Select Interpreter' : 'Set lrFinder.python');
    actions.push('Show Log');
    const code = exitCode ? ` (exit code ${exitCode})` : '';
    log().error(`${e.message}${code}`);
    const choice = await vscode.window.showErrorMessage(`LR Finder: ${e.message}${code}`, ...actions);
    if (!choice) return;
    if (choice.startsWith('Open ') && e.file && e.line) {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(e.file));
      const pos = new vscode.Position(Math.max(0, e.line - 1), 0);
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos) });
    } else if (choice === 'Select Interpreter') void vscode.commands.executeCommand('python.setInterpreter');
    else if (choice === 'Set lrFinder.python') void vscode.commands.executeCommand('workbench.action.openSettings', 'lrFinder.python');
    else log().show(true);
  }

  private view() {
    const s = readSettings(this.configUri);
    const v = buildView(this.record!, { recommended: s.recommended, digits: s.significantDigits, target: this.target, verify: s.verify, parallel: parallelFor(this.source?.kind ?? (this.configUri && isPythonFile(this.configUri) ? 'script' : 'config')) });
    return { ...v, persist: { record: this.record, configUri: this.configUri?.toString(), target: this.target } };
  }

  private ensurePanel() {
    if (this.panel) { this.panel.reveal(); return; }
    this.panel = LrPanel.create(this.extensionUri, this.handlers());
  }

  private handlers() {
    return {
      onPick: (lr: number) => void this.pick(lr),
      onStop: () => void this.stop(),
      onRerun: (repeats?: number) => { if (this.configUri) void this.findLearningRate(this.configUri, repeats); },
      onExport: (format: 'svg' | 'png' | 'csv' | 'json', data?: string) => void this.exportCurve(format, data),
      onVerify: () => void this.verify(),
      onDispose: () => { this.panel = undefined; void this.stop(); },
    };
  }

  /** Rebuild the panel after a window reload, from the record the webview saved. */
  restore(webviewPanel: vscode.WebviewPanel, state: unknown) {
    type Saved = { record?: SweepRecord; configUri?: string; target?: string } | undefined;
    let st = state as Saved;
    if (!st?.record) st = this.memento?.get<Saved>(LAST_SWEEP_KEY);
    this.panel = new LrPanel(webviewPanel, this.extensionUri, this.handlers());
    if (st?.record && st.configUri) {
      this.record = st.record;
      this.configUri = vscode.Uri.parse(st.configUri);
      this.target = st.target ?? '';
      if (!this.record.end && !this.record.error) this.record.error = 'interrupted by a window reload';
      this.panel.setView(this.view());
    }
  }

  async pick(lr: number): Promise<boolean> {
    if (!this.configUri) return false;
    const s = readSettings(this.configUri);
    const opts = { digits: s.significantDigits, confirm: s.confirmBeforeWriting };
    try {
      const script = this.source?.kind === 'script' || (!this.source && isPythonFile(this.configUri));
      const root = vscode.workspace.getWorkspaceFolder(this.configUri)?.uri.fsPath ?? path.dirname(this.configUri.fsPath);
      const r = script
        ? await insertIntoScript(this.configUri, this.record?.hello?.script, this.source?.plan?.root ?? root, lr, opts, this.argsOrigin())
        : await insertLearningRate(this.configUri, lr, opts);
      this.panel?.post(PickResultMessage.make(r));
      if (r.ok) log().info(r.text); else if (!/^(Cancelled|Not written)/.test(r.text)) void vscode.window.showWarningMessage(r.text);
      return r.ok;
    } catch (e) {
      const text = (e as Error).message;
      this.panel?.post(PickResultMessage.make({ ok: false, text }));
      void showError(`LR Finder: ${text}`);
      return false;
    }
  }

  async insertSuggested(): Promise<void> {
    const r = this.record;
    if (!r?.end || !r.points.length) {
      void vscode.window.showInformationMessage('Run "Find Learning Rate" first; then the suggested LR can be inserted.');
      return;
    }
    if (r.verify?.verified) { await this.pick(r.verify.verified.lr); return; }
    const s = readSettings(this.configUri);
    const a = analyzeRecord(r);
    const sug = a.suggestions[s.recommended];
    if (!isSuggestion(sug)) { void vscode.window.showWarningMessage(`No ${s.recommended} suggestion for this curve: ${sug.reason}.`); return; }
    await this.pick(sug.lr);
  }

  /**
   * Verify the last sweep's LR: short one-cycle trainings around its recommendation, scored on held-out loss
   * (core/verify.ts, runner/verifyRun.ts). The budget is in the panel before it runs; progress and cancel are the
   * notification's and the panel's; what finished before a stop is kept.
   */
  async verify(): Promise<void> {
    if (!vscode.workspace.isTrusted) { void vscode.window.showWarningMessage('LR Finder trains the workspace\'s code and data, so it only runs in a trusted workspace.'); return; }
    const record = this.record;
    if (this.running) { void vscode.window.showInformationMessage('LR Finder is running; Verify when it has finished.'); return; }
    if (!record?.end || record.end.reason === 'cancelled' || !this.configUri) {
      void vscode.window.showInformationMessage('Run "Find Learning Rate" first: Verify trains candidate LRs around its recommendation.');
      return;
    }
    const rec = analyzeRecord(record).suggestions.recommended;
    if (!isSuggestion(rec)) { void vscode.window.showWarningMessage(`Nothing to verify: ${rec.reason}.`); return; }
    // After a window reload the launch is made again from the file (the same settings and interpreter).
    const source = this.source ?? (isPythonFile(this.configUri) ? await this.scriptSource(this.configUri) : await this.configSource(this.configUri));
    if (!source) return;
    this.source = source;
    const own = source.verify;
    const set = readSettings(this.configUri).verify;
    const options = { ...set, steps: own?.steps ?? set.steps, seeds: own?.seeds ?? set.seeds, maxCandidates: own?.maxCandidates ?? set.maxCandidates };
    const v: VerifyRecord = { status: 'running', options, center: rec.lr, results: [], planned: 0 };
    record.verify = v;
    this.ensurePanel();
    this.panel!.setView(this.view());
    const tag = source.kind === 'script' ? '[verify]' : '[engine]';
    let logged = false;
    const run = new VerifyRun({
      center: rec.lr, options, parallel: parallelFor(source.kind),
      launchFor: (lr, seed) => {
        const l = source.verifyLaunch(lr, seed, options.steps);
        if (!logged) { logged = true; log().info(`verify: ${[l.command, ...l.args].join(' ')}${l.cwd ? ` (in ${l.cwd})` : ''}`); }
        return l;
      },
      onEvent: (job, e) => { if (e.type !== 'point') log().debug(`verify ${job.index + 1} (LR ${formatLr(job.lr)}, seed +${job.seed}): ${JSON.stringify(e)}`); },
      onCandidate: (r, _done, planned) => {
        v.results.push(r);
        v.planned = planned;
        log().info(`verify: LR ${formatLr(r.lr)}${options.seeds > 1 ? ` seed +${r.seed}` : ''}: ${r.diverged ? 'diverged' : `${r.signal} loss ${formatLoss(r.loss)}`} after ${r.steps} steps`);
        if (this.record === record) this.panel?.setView(this.view());
      },
      onStdout: (line) => log().info(`${tag} ${line}`),
      onStderr: (line) => log().info(`${tag} ${line}`),
    });
    const done = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `LR Finder: verifying ${path.basename(this.configUri.fsPath)}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => { void run.cancel(); });
        let shown = 0;
        const timer = setInterval(() => {
          if (v.results.length === shown) return;
          shown = v.results.length;
          progress.report({ message: `${shown} of ${v.planned}${v.planned < options.maxCandidates * options.seeds ? '+' : ''} trainings` });
        }, 300);
        try { return await run.done; } finally { clearInterval(timer); }
      },
    ).then(async (outcome) => {
      v.results = outcome.results;
      if (outcome.verified) v.verified = outcome.verified;
      v.status = outcome.error ? 'failed' : outcome.cancelled ? 'cancelled' : outcome.verified ? 'done' : 'failed';
      if (outcome.error) {
        v.reason = outcome.error.message;
        if (source.kind === 'script') void this.showScriptError(outcome.error, outcome.failed?.exitCode ?? null);
        else void showError(`LR Finder: Verify: ${outcome.error.message}`);
      } else if (!outcome.verified) v.reason = outcome.reason;
      log().info(`verify ${v.status}: ${outcome.verified?.explanation ?? v.reason ?? ''}`);
      if (this.record === record) {
        const view = this.view();
        this.panel?.setView(view);
        await this.memento?.update(LAST_SWEEP_KEY, view.persist);
      }
    });
    this.running = { proc: run, record, done: Promise.resolve(done).then(() => undefined, () => undefined) };
    void this.running.done.then(() => { if (this.running?.proc === run) this.running = undefined; });
  }

  async stop(): Promise<void> {
    const r = this.running;
    if (!r) return;
    await r.proc.cancel();
    await r.done;
  }

  private async exportCurve(format: 'svg' | 'png' | 'csv' | 'json', data?: string) {
    const r = this.record;
    if (!r) return;
    const base = path.join(path.dirname(r.configPath), `${path.basename(r.configPath).replace(/\.[^.]+$/, '')}-lr-curve.${format}`);
    const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(base), filters: { [format.toUpperCase()]: [format] } });
    if (!uri) return;
    let bytes: Buffer;
    if (format === 'csv') bytes = Buffer.from(curveCsv(r));
    else if (format === 'json') bytes = Buffer.from(curveJson(r));
    else if (format === 'svg' && data) bytes = Buffer.from(data);
    else if (format === 'png' && data?.startsWith('data:image/png;base64,')) bytes = Buffer.from(data.slice(22), 'base64');
    else return;
    await vscode.workspace.fs.writeFile(uri, new Uint8Array(bytes));
    log().info(`exported ${uri.fsPath}`);
  }

  /** For tests: route a message exactly as if the webview had posted it. */
  simulateWebviewMessage(m: unknown) {
    (this.panel as unknown as { receive(m: unknown): void } | undefined)?.receive(m);
  }

  get panelView() {
    return this.panel;
  }

  /** The narrow view tests read (no private fields): what the panel shows, and the running engines' process ids. */
  get panelSnapshot(): SweepView | undefined {
    return this.panel?.current;
  }

  get runningPids(): number[] {
    return this.running?.proc.pids ?? [];
  }

  dispose() {
    void this.stop();
    this.panel?.dispose();
  }
}
