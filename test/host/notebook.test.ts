/**
 * Click to insert into a Jupyter notebook, inside a real VS Code (code-server) host: the .ipynb opens as a
 * NotebookDocument through the built-in ipynb extension's serializer, and the LR is written into the cell's document as
 * one WorkspaceEdit (src/host/notebookInsert.ts). The way there is the user's: Find Learning Rate on a config whose
 * lrTarget is the notebook, a click on the plot (the webview message), the real quick pick of the notebook's literals
 * answered with Enter. Fixture: test/fixtures/notebook/fastai_pet_breeds.ipynb, written as Jupyter writes (sorted keys,
 * one-space indent, UTF-8, a final newline), with outputs (stream, HTML tables, an image) and metadata to keep, so that
 * VS Code's save writes it back byte for byte. One change is VS Code's, not ours: its ipynb extension sets an edited code
 * cell's execution_count to null (as for a keystroke), and the text's Undo does not bring it back.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LrFinderApi } from '../../src/extension';
import { EXT_ID, api, sleep, until } from './helpers';
import { PickMessage, PickResultMessage } from '../../src/core/messages';

const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const dir = () => path.join(ws(), 'fastai-pets');
const NAME = 'fastai_pet_breeds.ipynb';
const configPath = () => path.join(dir(), 'lr-finder.yaml');
const fixture = () => path.join(vscode.extensions.getExtension(EXT_ID)!.extensionPath, 'test', 'fixtures', 'notebook', NAME);

/** The cell the LR goes into (the fit after `learn.lr_find()`), its text before and after a pick of 0.0031622. */
const FIT_CELL = 7;
const FIT = 'learn.fine_tune(3, base_lr=2e-3)';
const FIT_WRITTEN = 'learn.fine_tune(3, base_lr=3.2e-3)';
const PICKED = 0.0031622;
/** The fit cell's execution count in the file: VS Code's ipynb extension clears it (null) when the cell's text is edited. */
const FIT_COUNT = '"execution_count": 5,\n   "id": "3d4e5f6a"';
const FIT_COUNT_CLEARED = '"execution_count": null,\n   "id": "3d4e5f6a"';



const texts = (nb: vscode.NotebookDocument) => nb.getCells().map((c) => c.document.getText());

/** Where two byte strings first differ, for a readable failure. */
function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return 'identical';
  return `first difference at byte ${i}: ${JSON.stringify(a.subarray(Math.max(0, i - 40), i + 40).toString())} vs ${JSON.stringify(b.subarray(Math.max(0, i - 40), i + 40).toString())}`;
}

interface Shown { items: readonly vscode.QuickPickItem[]; options?: vscode.QuickPickOptions }

/**
 * The extension's next quick pick, answered as a user would: the real widget is shown (this wraps the real
 * vscode.window.showQuickPick, the same API object the extension calls: one per extension, and these tests live in
 * the extension's folder); `whileOpen` runs while it is open; then Enter accepts the highlighted (first) item.
 */
function answerNextQuickPick(whileOpen?: (shown: Shown) => Promise<void>): { shown: Promise<Shown>; answered: Promise<void>; restore(): void } {
  const win = vscode.window as unknown as { showQuickPick: (...a: unknown[]) => Thenable<unknown> };
  const real = win.showQuickPick;
  let onShown!: (s: Shown) => void;
  let onAnswered!: (e?: unknown) => void;
  const shown = new Promise<Shown>((r) => { onShown = r; });
  const answered = new Promise<void>((resolve, reject) => { onAnswered = (e) => (e ? reject(e) : resolve()); });
  win.showQuickPick = (...args: unknown[]) => {
    win.showQuickPick = real;
    const result = real.apply(vscode.window, args);
    void (async () => {
      const s: Shown = { items: (await args[0]) as vscode.QuickPickItem[], options: args[1] as vscode.QuickPickOptions };
      onShown(s);
      await sleep(300); // the widget has its items
      if (whileOpen) await whileOpen(s);
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    })().then(() => onAnswered(), onAnswered);
    return result;
  };
  return { shown, answered, restore: () => { win.showQuickPick = real; } };
}

/** What the extension posts to the panel after a pick (the panel's "pick result" line). */
function pickResults(a: LrFinderApi): { results: Array<{ ok: boolean; text: string }>; restore(): void } {
  const panel = a.controller.panelView!;
  const post = panel.post;
  const results: Array<{ ok: boolean; text: string }> = [];
  panel.post = (m: unknown) => {
    if (PickResultMessage.is(m)) results.push(m.params);
    post.call(panel, m);
  };
  return { results, restore: () => { panel.post = post; } };
}

/** A click on the plot at `lr`, through the webview message path, with the quick pick answered; the panel's result. */
async function clickPlot(a: LrFinderApi, whileOpen?: (shown: Shown) => Promise<void>): Promise<{ ok: boolean; text: string; shown: Shown }> {
  const qp = answerNextQuickPick(whileOpen);
  const pr = pickResults(a);
  try {
    a.controller.simulateWebviewMessage(PickMessage.make({ lr: PICKED, source: 'plot' }));
    const shown = await Promise.race([qp.shown, sleep(20000).then(() => { throw new Error('no quick pick was shown'); })]);
    await qp.answered;
    const [r] = await until(() => pr.results.length > 0 && pr.results, 20000, 'the pick result');
    return { ...r, shown };
  } finally {
    qp.restore();
    pr.restore();
  }
}

describe('LR Finder writes into a Jupyter notebook in a real VS Code host', function () {
  this.timeout(120000);
  const cfg = () => vscode.workspace.getConfiguration('lrFinder');
  const files = () => vscode.workspace.getConfiguration('files');
  let saved: unknown;
  let savedAutoSave: unknown;
  let original: Buffer;
  let source: string;
  let orig: { cells: Array<Record<string, unknown>>; metadata: unknown };

  /** A fresh copy of the fixture, named `name`, made the config's lrTarget and opened as a notebook. */
  async function notebookCopy(name: string): Promise<vscode.NotebookDocument> {
    fs.writeFileSync(path.join(dir(), name), original);
    // Through VS Code: the config is open (the sweep opened it), and a click reads the open document.
    const doc = await vscode.workspace.openTextDocument(configPath());
    const m = /^lrTarget: .*$/m.exec(doc.getText())!;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(m.index), doc.positionAt(m.index + m[0].length)), `lrTarget: ${name}`);
    assert.ok(await vscode.workspace.applyEdit(edit) && await doc.save());
    return vscode.workspace.openNotebookDocument(vscode.Uri.file(path.join(dir(), name)));
  }
  const onDisk = (nb: vscode.NotebookDocument) => fs.readFileSync(nb.uri.fsPath);

  before(async () => {
    saved = cfg().inspect('confirmBeforeWriting')?.globalValue;
    await cfg().update('confirmBeforeWriting', false, vscode.ConfigurationTarget.Global);
    // code-server saves edited files after a second (files.autoSave "afterDelay"): here the tests save, to see the
    // notebook edited but not yet saved, and the bytes each save writes.
    savedAutoSave = files().inspect('autoSave')?.globalValue;
    await files().update('autoSave', 'off', vscode.ConfigurationTarget.Global);
    await api();
    original = fs.readFileSync(fixture());
    source = original.toString('utf8');
    orig = JSON.parse(source);
    for (const s of [`"${FIT}"`, FIT_COUNT]) assert.strictEqual(source.split(s).length, 2, `the fixture has ${s} once`);
    // A config whose lrTarget is the notebook (the iris model, a short sweep): a pick is written into the notebook.
    fs.mkdirSync(dir(), { recursive: true });
    fs.copyFileSync(path.join(ws(), 'iris', 'iris.csv'), path.join(dir(), 'iris.csv'));
    const iris = fs.readFileSync(path.join(ws(), 'iris', 'lr-finder.yaml'), 'utf8');
    const config = iris.replace('seed: 42\n', `seed: 42\nlrTarget: ${NAME}\n`).replace('numIter: 100', 'numIter: 30');
    assert.notStrictEqual(config, iris);
    fs.writeFileSync(configPath(), config);
  });

  after(async () => {
    await cfg().update('confirmBeforeWriting', saved, vscode.ConfigurationTarget.Global);
    await files().update('autoSave', savedAutoSave, vscode.ConfigurationTarget.Global);
  });

  it('code-server opens the .ipynb as a notebook (the built-in ipynb extension\'s serializer)', async () => {
    assert.ok(vscode.extensions.getExtension('vscode.ipynb'), 'the built-in ipynb extension is there');
    const t0 = Date.now();
    const nb = await notebookCopy(NAME);
    console.log(`      opened as a notebook in ${Date.now() - t0} ms`);
    assert.strictEqual(nb.notebookType, 'jupyter-notebook');
    assert.strictEqual(nb.cellCount, 11);
    const cell = nb.cellAt(FIT_CELL);
    assert.strictEqual(cell.kind, vscode.NotebookCellKind.Code);
    assert.strictEqual(cell.document.languageId, 'python');
    assert.strictEqual(cell.document.getText(), FIT);
    assert.strictEqual(cell.document.uri.scheme, 'vscode-notebook-cell', 'a cell is a document of its own');
    assert.strictEqual(cell.outputs.length, 2, 'its two progress tables');
    assert.strictEqual(cell.executionSummary?.executionOrder, 5);
    assert.strictEqual(nb.cellAt(5).document.getText(), 'learn.lr_find()');
    assert.strictEqual(nb.cellAt(0).kind, vscode.NotebookCellKind.Markup);
    assert.ok(!nb.isDirty);
  });

  it('a plot click writes the LR into the fit after lr_find() (base_lr=2e-3 -> 3.2e-3); saved, only the number changed (and VS Code cleared that cell\'s execution count); one Undo restores the cell', async () => {
    const a = await api();
    const nb = await notebookCopy(NAME);
    const t0 = Date.now();
    await vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(configPath()));
    await a.controller.idle();
    assert.ok(a.controller.lastRecord?.end, `sweep ended (error: ${a.controller.lastRecord?.error})`);
    assert.strictEqual(a.controller.panelSnapshot?.target, NAME, 'the panel says where a click writes');
    const t1 = Date.now();
    const before = texts(nb);

    const r = await clickPlot(a);
    const t2 = Date.now();
    // What the user was offered: every literal of the code cells, the fit after lr_find() first and recommended.
    assert.deepStrictEqual(r.shown.items.map((i) => `${i.label} | ${i.description}`), [
      'base_lr = 2e-3 | cell 8 of 11, line 1 · recommended',
      'lr_max = 1e-4 | cell 10 of 11, line 2',
      'lr_max.start = 1e-6 | cell 10 of 11, line 2',
    ]);
    assert.ok(r.ok, r.text);
    assert.strictEqual(r.text, `Wrote 3.2e-3 to ${NAME}, cell 8 of 11, line 1 (base_lr, was 2e-3).`);
    assert.deepStrictEqual(texts(nb), before.map((t, i) => (i === FIT_CELL ? FIT_WRITTEN : t)), 'only that literal changed, in its own style');
    assert.strictEqual(nb.cellAt(FIT_CELL).outputs.length, 2, 'the outputs are kept');
    assert.ok(nb.isDirty, 'the notebook is edited, not saved behind the user\'s back');
    assert.ok(onDisk(nb).equals(original), 'nothing is written to disk before a save');
    // Shown: the notebook, the written cell selected, the focus in its editor with the new value selected.
    const nbEditor = vscode.window.activeNotebookEditor;
    assert.strictEqual(nbEditor?.notebook.uri.toString(), nb.uri.toString(), 'the notebook is shown');
    assert.ok(nbEditor!.selections.some((s) => s.start <= FIT_CELL && FIT_CELL < s.end), 'with the written cell selected');
    const editor = vscode.window.activeTextEditor;
    assert.strictEqual(editor?.document.uri.toString(), nb.cellAt(FIT_CELL).document.uri.toString());
    assert.strictEqual(editor!.document.getText(editor!.selection), '3.2e-3');

    // Saved through the ipynb serializer: valid JSON, the original bytes but for the number's characters, and the
    // cell's execution count, which VS Code's ipynb extension clears when a cell's text changes (as for a keystroke).
    assert.ok(await nb.save(), 'saved');
    const disk = onDisk(nb);
    const parsed = JSON.parse(disk.toString('utf8'));
    assert.deepStrictEqual(parsed, { ...orig, cells: orig.cells.map((c, i) => (i === FIT_CELL ? { ...c, source: [FIT_WRITTEN], execution_count: null } : c)) });
    const expected = Buffer.from(source.replace(`"${FIT}"`, `"${FIT_WRITTEN}"`).replace(FIT_COUNT, FIT_COUNT_CLEARED), 'utf8');
    assert.ok(disk.equals(expected), firstDifference(disk, expected));

    // One Undo, where the write left the focus: the cell text exactly as it was.
    const t3 = Date.now();
    await vscode.commands.executeCommand('undo');
    await until(() => nb.cellAt(FIT_CELL).document.getText() === FIT, 10000, 'undo');
    assert.deepStrictEqual(texts(nb), before, 'every cell as it was');
    assert.ok(nb.isDirty, 'undone after the save: dirty again');
    assert.ok(await nb.save());
    // The number is back; the execution count VS Code cleared stays cleared (a notebook edit of its own, not the text's).
    const back = onDisk(nb);
    const cleared = Buffer.from(source.replace(FIT_COUNT, FIT_COUNT_CLEARED), 'utf8');
    assert.ok(back.equals(cleared), firstDifference(back, cleared));
    console.log(`      sweep ${t1 - t0} ms, click to written ${t2 - t1} ms, undo and save ${Date.now() - t3} ms`);
  });

  it('a cell inserted above while the user picks: the literal is found again (now cell 9) and written there', async () => {
    const a = await api();
    const name = 'inserted-above.ipynb';
    const nb = await notebookCopy(name);
    const before = texts(nb);
    const inserted = 'lr = 1e-2  # a scratch cell, added while the quick pick was open';
    const r = await clickPlot(a, async () => {
      const edit = new vscode.WorkspaceEdit();
      edit.set(nb.uri, [vscode.NotebookEdit.insertCells(1, [new vscode.NotebookCellData(vscode.NotebookCellKind.Code, inserted, 'python')])]);
      assert.ok(await vscode.workspace.applyEdit(edit), 'the cell is inserted');
      assert.strictEqual(nb.cellCount, 12);
    });
    assert.strictEqual(r.shown.items[0].description, 'cell 8 of 11, line 1 · recommended', 'offered before the change');
    assert.ok(r.ok, r.text);
    assert.strictEqual(r.text, `Wrote 3.2e-3 to ${name}, cell 9 of 12, line 1 (base_lr, was 2e-3).`);
    const expected = [before[0], inserted, ...before.slice(1)];
    expected[FIT_CELL + 1] = FIT_WRITTEN;
    assert.deepStrictEqual(texts(nb), expected, 'the fit written, the new cell (with an lr of its own) untouched');

    assert.ok(await nb.save());
    const disk = JSON.parse(onDisk(nb).toString('utf8'));
    assert.strictEqual(disk.cells.length, 12);
    assert.deepStrictEqual([disk.cells[1].cell_type, disk.cells[1].source], ['code', [inserted]]);
    assert.deepStrictEqual(disk.cells[FIT_CELL + 1], { ...orig.cells[FIT_CELL], source: [FIT_WRITTEN], execution_count: null }, 'outputs, id, metadata kept');
    const others = (cells: unknown[]) => cells.filter((_c, i) => i !== FIT_CELL);
    assert.deepStrictEqual(others([disk.cells[0], ...disk.cells.slice(2)]), others(orig.cells), 'every other cell as it was');
    assert.deepStrictEqual(disk.metadata, orig.metadata);

    await vscode.commands.executeCommand('undo');
    await until(() => nb.cellAt(FIT_CELL + 1).document.getText() === FIT, 10000, 'undo of the write');
    assert.strictEqual(nb.cellAt(1).document.getText(), inserted, 'one Undo: the write, not the user\'s cell');
    assert.ok(await nb.save());
  });

  it('the literal is gone while the user picks: a clear message, and nothing is written', async () => {
    const a = await api();
    const name = 'literal-gone.ipynb';
    const nb = await notebookCopy(name);
    const before = texts(nb);
    const changed = 'learn.fine_tune(3)';
    const warnings: string[] = [];
    const win = vscode.window as unknown as { showWarningMessage: (...a: unknown[]) => Thenable<unknown> };
    const warn = win.showWarningMessage;
    win.showWarningMessage = (...args: unknown[]) => { warnings.push(String(args[0])); return warn.apply(vscode.window, args); };
    try {
      const r = await clickPlot(a, async () => {
        const doc = nb.cellAt(FIT_CELL).document;
        const edit = new vscode.WorkspaceEdit();
        edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), changed);
        assert.ok(await vscode.workspace.applyEdit(edit));
      });
      assert.ok(!r.ok);
      assert.strictEqual(r.text, `${name} changed and its base_lr literal is gone; nothing was written.`);
      await until(() => warnings.length > 0, 5000, 'the warning');
      assert.deepStrictEqual(warnings, [r.text], 'the user is told, not only the panel');
    } finally {
      win.showWarningMessage = warn;
    }
    assert.deepStrictEqual(texts(nb), before.map((t, i) => (i === FIT_CELL ? changed : t)), 'no cell written');
    assert.ok(await nb.save());
    const disk = JSON.parse(onDisk(nb).toString('utf8'));
    assert.deepStrictEqual(disk, { ...orig, cells: orig.cells.map((c, i) => (i === FIT_CELL ? { ...c, source: [changed], execution_count: null } : c)) });
  });
});
