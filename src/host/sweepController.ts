/**
 * Runs sweeps for the extension: trust check, which config, the child process with a cancellable progress
 * notification, live updates to the panel, diagnostics and errors, and click-to-insert. One sweep at a time.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { FASTAI_DEFAULTS, isSuggestion, type SweepSettings } from '../core/analysis';
import { parseConfigText } from '../core/config';
import { formatLoss, formatLr } from '../core/format';
import { PickResultMessage } from '../core/messages';
import { buildView, curveCsv, curveJson, LiveRows, statusText, analyzeRecord, type SweepRecord } from '../core/sweepView';
import { chooseConfig } from './configFiles';
import type { ConfigDiagnostics } from './diagnostics';
import { insertLearningRate, resolveTarget } from './insert';
import { log, showError } from './log';
import { LrPanel } from './panel';
import { readSettings } from './settings';
import { RepeatedSweep, type RepeatedOutcome } from './repeatedSweep';

const LAST_SWEEP_KEY = 'lrFinder.lastSweep';

interface Running {
  proc: RepeatedSweep;
  record: SweepRecord;
  done: Promise<void>;
}

export class SweepController implements vscode.Disposable {
  private panel: LrPanel | undefined;
  private running: Running | undefined;
  private record: SweepRecord | undefined;
  private configUri: vscode.Uri | undefined;
  private target = '';
  lastEditor: vscode.TextEditor | undefined;

  /**
   * `memento` (workspaceState) keeps the last finished sweep too: the webview's own saved state can be lost when the
   * window reloads right after a sweep, before the workbench has stored it.
   */
  constructor(private readonly extensionUri: vscode.Uri, private readonly diagnostics: ConfigDiagnostics, private readonly memento?: vscode.Memento) {}

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

  /** `repeats` overrides the config's sweep.repeats (the panel's "Repeat ×3"). */
  async findLearningRate(uri?: vscode.Uri, repeats?: number): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      // Notifications are not awaited: the command returns while the message is shown.
      void vscode.window.showWarningMessage(
        'LR Finder runs the training config, its data and model from this workspace, so it only runs in a trusted workspace.',
        'Manage Workspace Trust').then((choice) => { if (choice) void vscode.commands.executeCommand('workbench.trust.manage'); });
      return;
    }
    const configUri = await chooseConfig(uri, this.lastEditor);
    if (!configUri) return;
    const doc = await vscode.workspace.openTextDocument(configUri);
    if (doc.isDirty) await doc.save();
    const issues = this.diagnostics.validate(doc);
    if (issues.length) {
      const i = issues[0];
      void vscode.window.showErrorMessage(`${path.basename(configUri.fsPath)}:${i.line}:${i.column}: ${i.message}`, 'Show Problems')
        .then((choice) => { if (choice) void vscode.commands.executeCommand('workbench.actions.view.problems'); });
      return;
    }
    if (this.running) {
      const answer = await vscode.window.showWarningMessage(
        `A sweep is running on ${this.running.record.configName}. Stop it and start a new one?`, { modal: true }, 'Stop and Start');
      if (answer !== 'Stop and Start') return;
      await this.stop();
    }
    await this.start(configUri, doc.getText(), repeats);
  }

  private async start(configUri: vscode.Uri, text: string, repeatsOverride?: number): Promise<void> {
    const s = readSettings(configUri);
    const cfg = parseConfigText(configUri.fsPath, text).config!;
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
    const record: SweepRecord = { configPath: configUri.fsPath, configName: vscode.workspace.asRelativePath(configUri), settings, points: [], repeats };
    this.record = record;
    this.configUri = configUri;
    try { this.target = (await resolveTarget(configUri)).description; } catch (e) { this.target = (e as Error).message; }
    this.ensurePanel();
    this.panel!.setView(this.view());
    const folder = vscode.workspace.getWorkspaceFolder(configUri);
    log().info(`sweep: ${configUri.fsPath} ${args.join(' ')}`);

    const live = new LiveRows(settings.smoothing);
    let progressPoints = 0;
    const proc = new RepeatedSweep({
      enginePath: vscode.Uri.joinPath(this.extensionUri, 'dist', 'engine.js').fsPath,
      configFile: configUri.fsPath,
      root: folder?.uri.fsPath,
      args,
      repeats,
      seed: cfg.seed,
      onEvent: (run, e) => {
        log().debug(`run ${run + 1}: ${JSON.stringify(e)}`);
        if (e.type === 'point') progressPoints++;
        if (run !== 0) return; // the first run draws live; the others join the result at the end
        if (e.type === 'hello') {
          record.hello = e;
          for (const w of e.warnings) log().warn(w);
          this.panel?.setView(this.view());
        } else if (e.type === 'point') {
          record.points.push(e);
          this.panel?.pushPoints([live.next(e)], statusText(record), e.valLoss !== undefined);
        }
      },
      onStderr: (line) => log().info(`[engine] ${line}`),
      onMalformed: (line, error) => log().warn(`ignored a malformed line from the engine (${error}): ${line}`),
    });
    const done = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `LR Finder: ${path.basename(configUri.fsPath)}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => { void proc.cancel(); });
        let reported = 0;
        const total = settings.numIter * repeats;
        const timer = setInterval(() => {
          const n = progressPoints;
          const last = record.points[record.points.length - 1];
          if (n === reported || !last) return;
          const runs = repeats > 1 ? ` · ${repeats} runs` : '';
          progress.report({ increment: ((n - reported) / total) * 100, message: `step ${n}/${total}${runs} · LR ${formatLr(last.lr)} · loss ${formatLoss(last.loss)}` });
          reported = n;
        }, 200);
        try { return await proc.done; } finally { clearInterval(timer); }
      },
    ).then((outcome) => this.finish(record, outcome));
    this.running = { proc, record, done: Promise.resolve(done).then(() => undefined, () => undefined) };
    void this.running.done.then(() => { if (this.running?.proc === proc) this.running = undefined; });
  }

  private async finish(record: SweepRecord, outcome: RepeatedOutcome): Promise<void> {
    record.end = outcome.end;
    if (outcome.end && outcome.runs.length > 1) {
      record.points = outcome.points; // the median curve
      record.runs = outcome.runs;
    }
    if (outcome.error) {
      record.error = outcome.error.message;
      if (outcome.error.line && outcome.error.file) this.diagnostics.report(vscode.Uri.file(outcome.error.file), outcome.error.line, outcome.error.column ?? 1, outcome.error.message);
      void showError(`LR Finder: ${outcome.error.message}`);
    } else if (!outcome.end) {
      const why = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
      record.error = `the engine ${why} before finishing the sweep`;
      for (const l of outcome.stderrTail) log().error(`[engine] ${l}`);
      void showError(`LR Finder: ${record.error}.`);
    } else {
      log().info(`sweep ended: ${outcome.end.reason}, ${outcome.end.points} points in ${outcome.end.seconds?.toFixed(2)} s`);
    }
    if (this.record === record) {
      const v = this.view();
      this.panel?.setView(v);
      await this.memento?.update(LAST_SWEEP_KEY, v.persist);
    }
  }

  private view() {
    const s = readSettings(this.configUri);
    const v = buildView(this.record!, { recommended: s.recommended, digits: s.significantDigits, target: this.target });
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
    try {
      const r = await insertLearningRate(this.configUri, lr, { digits: s.significantDigits, confirm: s.confirmBeforeWriting });
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
    const s = readSettings(this.configUri);
    const a = analyzeRecord(r);
    const sug = a.suggestions[s.recommended];
    if (!isSuggestion(sug)) { void vscode.window.showWarningMessage(`No ${s.recommended} suggestion for this curve: ${sug.reason}.`); return; }
    await this.pick(sug.lr);
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

  dispose() {
    void this.stop();
    this.panel?.dispose();
  }
}
