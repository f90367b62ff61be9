/** Inside a real VS Code (code-server) extension host, on a copy of the examples: the real API, no mocks. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, until } from './helpers';
import { PickMessage, RerunMessage, VerifyMessage } from '../../src/core/messages';
import { isSuggestion } from '../../src/core/analysis';
import { analyzeRecord } from '../../src/core/sweepView';

const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;



function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); } catch { return false; }
  try { return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'); } catch { return true; }
}

describe('LR Finder in a real VS Code host', () => {
  before(async () => {
    await vscode.workspace.getConfiguration('lrFinder').update('confirmBeforeWriting', false, vscode.ConfigurationTarget.Global);
  });

  it('activates with the commands contributed, quickly', async () => {
    const a = await api();
    const cmds = await vscode.commands.getCommands(true);
    for (const c of ['lrFinder.findLearningRate', 'lrFinder.insertSuggested', 'lrFinder.stop']) assert.ok(cmds.includes(c), c);
    console.log(`      activation took ${a.activationMs} ms`);
    assert.ok(a.activationMs < 1000);
  });

  it('Find Learning Rate on the iris example produces a curve and suggestions in the panel', async () => {
    const a = await api();
    const cfg = vscode.Uri.file(path.join(ws(), 'iris', 'lr-finder.yaml'));
    await vscode.window.showTextDocument(cfg);
    await vscode.commands.executeCommand('lrFinder.findLearningRate');
    await a.controller.idle();
    const r = a.controller.lastRecord!;
    assert.ok(r.end, `sweep ended (error: ${r.error})`);
    assert.strictEqual(r.points.length, r.end!.points);
    assert.ok(r.points.length >= 50);
    assert.ok(a.controller.panelView, 'panel is open');
    const snapshot = a.controller.panelSnapshot!;
    assert.strictEqual(snapshot.status, 'done');
    assert.ok(snapshot.suggestions.find((s) => s.name === 'valley')?.lr);
    assert.ok(snapshot.marks.length >= 2, 'steepest and minimum annotations');
  });

  it('a settings change reaches the open panel: the starred suggestion follows lrFinder.recommendedSuggestion', async () => {
    const a = await api();
    const c = vscode.workspace.getConfiguration('lrFinder');
    await c.update('recommendedSuggestion', 'valley', vscode.ConfigurationTarget.Global);
    try {
      const snap = await until(() => a.controller.panelSnapshot?.suggestions[0]?.name === 'valley' && a.controller.panelSnapshot, 10000, 'valley listed first');
      assert.ok(snap.suggestions[0].recommended);
      assert.ok(snap.marks.some((m) => m.name === 'valley' && m.recommended), 'the plot stars it too');
    } finally {
      await c.update('recommendedSuggestion', undefined, vscode.ConfigurationTarget.Global);
    }
    await until(() => a.controller.panelSnapshot?.suggestions[0]?.name === 'recommended', 10000, 'back to recommended');
  });

  it('runs on the active editor\'s config even when it has another name (same shape)', async () => {
    const a = await api();
    const other = path.join(ws(), 'iris', 'my-experiment.yaml');
    fs.writeFileSync(other, fs.readFileSync(path.join(ws(), 'iris', 'lr-finder.yaml'), 'utf8').replace('numIter: 100', 'numIter: 30'));
    try {
      await vscode.window.showTextDocument(vscode.Uri.file(other));
      await vscode.commands.executeCommand('lrFinder.findLearningRate');
      await a.controller.idle();
      assert.strictEqual(a.controller.lastRecord?.configPath, other);
      assert.strictEqual(a.controller.lastRecord?.points.length, 30);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      fs.rmSync(other, { force: true });
    }
    // Back to the example, for the tests that follow.
    await vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(path.join(ws(), 'iris', 'lr-finder.yaml')));
    await a.controller.idle();
  });

  it('the panel runs under a strict Content Security Policy', async () => {
    const a = await api();
    const html = a.controller.panelView!.panel.webview.html;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]{20,}'/);
    assert.ok(!/unsafe-eval|unsafe-inline/.test(csp), csp);
    // Resources only from the webview's own origin (VS Code's cspSource), never a CDN or the network at large.
    const allowed = new Set(["'self'", 'data:', 'blob:', "'none'", ...a.controller.panelView!.panel.webview.cspSource.split(/\s+/)]);
    for (const dir of csp.split(';')) for (const src of dir.trim().split(/\s+/).slice(1)) assert.ok(allowed.has(src) || src.startsWith("'nonce-"), `${src} in ${dir}`);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.ok(scripts.length > 0 && scripts.every((t) => t.includes(`nonce="${nonce}"`)), 'every script carries the nonce');
  });

  it('a plot click (through the webview message path) writes the LR; Undo restores the file', async () => {
    const a = await api();
    const file = path.join(ws(), 'iris', 'lr-finder.yaml');
    const before = fs.readFileSync(file, 'utf8');
    a.controller.simulateWebviewMessage(PickMessage.make({ lr: 0.0031622, source: 'plot' }));
    const doc = await until(() => vscode.workspace.textDocuments.find((d) => d.fileName === file && d.getText().includes('learningRate: 0.0032')), 20000, 'the edit');
    const after = doc.getText();
    assert.strictEqual(after, before.replace('learningRate: 0.001', 'learningRate: 0.0032'), 'only the literal changed');
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    await until(() => doc.getText() === before, 10000, 'undo');
  });

  it('writes into the training script named by lrTarget, keeping its number style', async () => {
    const a = await api();
    const cfg = vscode.Uri.file(path.join(ws(), 'breast-cancer', 'lr-finder.yaml'));
    await vscode.commands.executeCommand('lrFinder.findLearningRate', cfg);
    await a.controller.idle();
    assert.ok(a.controller.lastRecord?.end);
    const train = path.join(ws(), 'breast-cancer', 'train.py');
    const before = fs.readFileSync(train, 'utf8');
    assert.ok(await a.controller.pick(0.0456));
    const doc = vscode.workspace.textDocuments.find((d) => d.fileName === train)!;
    assert.strictEqual(doc.getText(), before.replace('"--lr", type=float, default=0.01,', '"--lr", type=float, default=0.046,'));
    assert.ok(doc.getText().includes('# lr = 0.5 diverged'), 'the comment is untouched');
    await vscode.commands.executeCommand('undo');
  });

  it('Insert Suggested Learning Rate writes the recommended suggestion', async () => {
    const a = await api();
    const r = a.controller.lastRecord!;
    const rec = analyzeRecord(r).suggestions.recommended;
    assert.ok(isSuggestion(rec), 'the default lrFinder.recommendedSuggestion is "recommended"');
    const train = path.join(ws(), 'breast-cancer', 'train.py');
    await vscode.commands.executeCommand('lrFinder.insertSuggested');
    const doc = vscode.workspace.textDocuments.find((d) => d.fileName === train)!;
    const m = /"--lr", type=float, default=([0-9.e-]+)/.exec(doc.getText());
    assert.ok(m);
    assert.strictEqual(Number(m![1]), Number(rec.lr.toPrecision(2)));
    await vscode.commands.executeCommand('undo');
  });

  it('Verify trains candidates around the recommendation, shows them and the measured LR; Insert Suggested writes it', async () => {
    const a = await api();
    const conf = vscode.workspace.getConfiguration('lrFinder');
    await conf.update('verify.steps', 60, vscode.ConfigurationTarget.Global);
    try {
      a.controller.refreshView();
      const before = a.controller.panelSnapshot!;
      assert.strictEqual(before.verify?.status, 'ready');
      assert.match(before.verify!.budget, /^Verify trains 5 to 8 trainings of 60 steps: \d+ to \d+× this sweep's \d+ steps, about /);
      a.controller.simulateWebviewMessage(VerifyMessage.make({}));
      await until(() => a.controller.isRunning, 10000, 'Verify to start');
      await a.controller.idle();
      const r = a.controller.lastRecord!;
      assert.strictEqual(r.verify?.status, 'done', r.verify?.reason);
      const v = r.verify!.verified!;
      assert.ok(v.candidates.length >= 5 && v.candidates.length <= 8, `${v.candidates.length} candidates`);
      assert.strictEqual(v.totalSteps, 60 * r.verify!.results.length);
      assert.ok(r.verify!.results.every((x) => x.signal === 'held-out' && x.steps === 60 && (x.diverged || x.loss > 0)));
      const best = Math.min(...v.candidates.map((c) => c.loss));
      assert.strictEqual(v.candidates.find((c) => c.lr === v.lr)!.loss, best, 'the verified LR has the lowest held-out loss');
      const snap = a.controller.panelSnapshot!;
      assert.strictEqual(snap.suggestions[0].name, 'verified');
      assert.strictEqual(snap.verify?.status, 'done');
      assert.strictEqual(snap.verify?.rows.length, v.candidates.length);
      assert.ok(snap.marks.some((m) => m.name === 'verified' && m.recommended));
      const train = path.join(ws(), 'breast-cancer', 'train.py');
      await vscode.commands.executeCommand('lrFinder.insertSuggested');
      const doc = vscode.workspace.textDocuments.find((d) => d.fileName === train)!;
      const m = /"--lr", type=float, default=([0-9.e-]+)/.exec(doc.getText());
      assert.strictEqual(Number(m![1]), Number(v.lr.toPrecision(2)));
      await vscode.commands.executeCommand('undo');
    } finally {
      await conf.update('verify.steps', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('Stop ends the child process (and its group) within a second', async () => {
    const a = await api();
    const cfg = path.join(ws(), 'digits-cnn', 'lr-finder.yaml');
    const text = fs.readFileSync(cfg, 'utf8');
    fs.writeFileSync(cfg, text.replace('numIter: 100', 'numIter: 20000'));
    try {
      void vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(cfg));
      await until(() => (a.controller.lastRecord?.points.length ?? 0) > 5 && a.controller.lastRecord?.configPath === cfg, 60000, 'points');
      const pid = a.controller.runningPids[0];
      assert.ok(alive(pid), 'engine is running');
      const t0 = Date.now();
      await vscode.commands.executeCommand('lrFinder.stop');
      await until(() => !alive(pid), 1000, 'the child to exit');
      assert.ok(Date.now() - t0 < 1500);
      assert.strictEqual(a.controller.lastRecord?.end?.reason, 'cancelled');
      assert.ok(!a.controller.isRunning);
    } finally {
      fs.writeFileSync(cfg, text);
    }
  });

  it('a broken config shows a diagnostic at its line, cleared when fixed', async () => {
    const a = await api();
    const uri = vscode.Uri.file(path.join(ws(), 'iris', 'lr-finder.yaml'));
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    const text = doc.getText();
    const off = text.indexOf('learningRate: 0.001');
    await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(off), doc.positionAt(off + 'learningRate'.length)), 'learning_rate'));
    const diags = await until(() => { const d = vscode.languages.getDiagnostics(uri); return d.length ? d : undefined; }, 5000, 'a diagnostic');
    assert.strictEqual(diags[0].range.start.line, doc.positionAt(off).line);
    assert.match(diags[0].message, /did you mean "learningRate"/);
    // Running the command on it refuses to start.
    await vscode.commands.executeCommand('lrFinder.findLearningRate', uri);
    assert.ok(!a.controller.isRunning);
    await vscode.commands.executeCommand('undo');
    await until(() => vscode.languages.getDiagnostics(uri).length === 0, 5000, 'diagnostics to clear');
    await doc.save();
  });

  it('an engine-side data error (missing column) becomes a diagnostic and a clear message', async () => {
    const a = await api();
    const cfg = path.join(ws(), 'iris', 'broken.lr-finder.yaml');
    fs.writeFileSync(cfg, fs.readFileSync(path.join(ws(), 'iris', 'lr-finder.yaml'), 'utf8').replace('label: species', 'label: kind'));
    try {
      await vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(cfg));
      await a.controller.idle();
      assert.match(a.controller.lastRecord!.error!, /column "kind" is not in/);
      const d = vscode.languages.getDiagnostics(vscode.Uri.file(cfg));
      assert.ok(d.some((x) => /column "kind"/.test(x.message) && x.range.start.line === 9), JSON.stringify(d.map((x) => [x.message, x.range.start.line])));
      // The extension keeps working afterwards.
      await vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(path.join(ws(), 'iris', 'lr-finder.yaml')));
      await a.controller.idle();
      assert.ok(a.controller.lastRecord?.end);
    } finally {
      fs.rmSync(cfg, { force: true });
    }
  });

  it('Repeat ×3 runs three seeds and shows the median curve, the band and each suggestion\'s spread', async () => {
    const a = await api();
    a.controller.simulateWebviewMessage(RerunMessage.make({ repeats: 3 }));
    await until(() => a.controller.isRunning, 10000, 'the repeated sweep to start');
    await a.controller.idle();
    const r = a.controller.lastRecord!;
    assert.strictEqual(r.runs?.length, 3);
    assert.notDeepStrictEqual(r.runs![0].map((p) => p.loss), r.runs![1].map((p) => p.loss), 'different seeds give different curves');
    const snap = a.controller.panelSnapshot!;
    assert.ok(snap.showBand);
    assert.ok(snap.rows.slice(10, 40).every((x) => typeof x.lo === 'number' && x.hi! >= x.lo!));
    assert.match(snap.suggestions.find((x) => x.name === 'valley')!.spread!, /^3 runs: \S+ … \S+$/);
    assert.match(snap.statusText, /^median of 3 runs/);
  });

  it('the panel restores from the state the webview saved (serializer path)', async () => {
    const a = await api();
    const rec = a.controller.lastRecord!;
    a.controller.panelView!.dispose();
    await until(() => !a.controller.panelView, 5000, 'panel closed');
    const panel = vscode.window.createWebviewPanel('lrFinder.plot', 'LR Finder', vscode.ViewColumn.Beside, {});
    a.controller.restore(panel, { record: rec, configUri: vscode.Uri.file(rec.configPath).toString(), target: 'x' });
    const snap = a.controller.panelSnapshot!;
    assert.strictEqual(snap.status, 'done');
    assert.strictEqual(snap.rows.length, rec.points.length);
  });
});
