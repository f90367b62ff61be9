/**
 * The script engine inside a real VS Code (code-server) host, on the copy of examples/pytorch: Find Learning Rate on
 * the user's own PyTorch script (run unchanged by the Python interpreter that has torch), click-to-write into the
 * literal the optimizer was built with, Stop, and a script that fails. Needs an interpreter with torch:
 * $LR_FINDER_TEST_PYTHON, else /usr/bin/python3 (set as lrFinder.python for these tests, restored after).
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LrFinderApi } from '../../src/extension';
import { api, until } from './helpers';
import { PickMessage } from '../../src/core/messages';

const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const dir = () => path.join(ws(), 'pytorch');
const trainPy = () => path.join(dir(), 'train.py');
const PYTHON = process.env.LR_FINDER_TEST_PYTHON || '/usr/bin/python3';



/** Every file under `root` (relative path → sha256), and every folder name, to compare before and after. */
function snapshotTree(root: string): { files: Map<string, string>; dirs: string[] } {
  const files = new Map<string, string>();
  const dirs: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { dirs.push(path.relative(root, p)); walk(p); } else files.set(path.relative(root, p), crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return { files, dirs };
}

function assertSameTree(before: ReturnType<typeof snapshotTree>, root: string) {
  const after = snapshotTree(root);
  assert.deepStrictEqual([...after.files.keys()].sort(), [...before.files.keys()].sort(), 'the same files');
  for (const [f, h] of before.files) assert.strictEqual(after.files.get(f), h, `${f} is byte-identical`);
  assert.deepStrictEqual(after.dirs.sort(), before.dirs.sort(), 'the same folders');
  assert.ok(!after.dirs.some((d) => path.basename(d) === '__pycache__'), 'no __pycache__');
}

/** Live (non-zombie) processes whose process group is `pgid` (the sweep's child leads its own group). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] !== 'Z' && rest[0] !== 'X' && Number(rest[2]) === pgid) out.push(Number(name));
  }
  return out;
}

const snapshotOf = (a: LrFinderApi) => a.controller.panelSnapshot!;

describe('LR Finder on a PyTorch script (script engine) in a real VS Code host', function () {
  this.timeout(90000);
  const cfg = () => vscode.workspace.getConfiguration('lrFinder');
  const keys = ['python', 'confirmBeforeWriting', 'sweep.numIter', 'script.args'];
  const saved = new Map<string, unknown>();

  before(async () => {
    for (const k of keys) saved.set(k, cfg().inspect(k)?.globalValue);
    await cfg().update('python', PYTHON, vscode.ConfigurationTarget.Global);
    await cfg().update('confirmBeforeWriting', false, vscode.ConfigurationTarget.Global);
    await api();
  });

  after(async () => {
    for (const k of keys) await cfg().update(k, saved.get(k), vscode.ConfigurationTarget.Global);
  });

  it('Find Learning Rate on the open train.py runs it unchanged with torch, and leaves its folder as it was', async () => {
    const a = await api();
    const before = snapshotTree(dir());
    await vscode.window.showTextDocument(vscode.Uri.file(trainPy()));
    const t0 = Date.now();
    await vscode.commands.executeCommand('lrFinder.findLearningRate');
    await a.controller.idle();
    const r = a.controller.lastRecord!;
    console.log(`      sweep of train.py: ${r.points.length} points in ${Date.now() - t0} ms; ${r.notice}`);
    assert.strictEqual(r.configPath, trainPy());
    assert.ok(r.end, `sweep ended (error: ${r.error})`);
    assert.strictEqual(r.hello?.engine, 'torch');
    assert.ok(r.points.length >= 50, `${r.points.length} points`);
    assert.strictEqual(r.points.length, r.end!.points);
    assert.strictEqual(r.hello?.script?.optimizers[0]?.class, 'Adam');
    const snap = snapshotOf(a);
    assert.strictEqual(snap.status, 'done');
    assert.ok(snap.suggestions.find((s) => s.name === 'valley')?.lr, 'a valley suggestion');
    assert.strictEqual(snap.rows.length, r.points.length);
    assert.match(r.notice ?? '', /^Your folder is as it was/);
    assertSameTree(before, dir());
  });

  it('a click writes the argparse --lr default (the LR Adam was built with) into train.py; Undo restores it byte for byte', async () => {
    const a = await api();
    const file = trainPy();
    const disk = fs.readFileSync(file);
    const before = disk.toString('utf8');
    assert.ok(before.includes('"--lr", type=float, default=1e-3,'), 'the example as expected');
    a.controller.simulateWebviewMessage(PickMessage.make({ lr: 0.0031622, source: 'plot' }));
    const doc = await until(() => vscode.workspace.textDocuments.find((d) => d.fileName === file && d.getText() !== before), 20000, 'the edit');
    assert.strictEqual(doc.getText(), before.replace('"--lr", type=float, default=1e-3,', '"--lr", type=float, default=3.2e-3,'), 'only that literal changed, in its own style');
    const editor = await vscode.window.showTextDocument(doc);
    assert.strictEqual(editor.document, doc);
    await vscode.commands.executeCommand('undo');
    await until(() => doc.getText() === before, 10000, 'undo');
    await until(() => !doc.isDirty, 5000, 'the document to be clean again');
    assert.ok(fs.readFileSync(file).equals(disk), 'the file on disk is byte-identical');
  });

  it('Stop ends the script and its DataLoader workers within a second; the extension keeps working', async () => {
    const a = await api();
    // train.py with two DataLoader worker processes, for children to stop.
    const variant = path.join(dir(), 'train_workers.py');
    const text = fs.readFileSync(trainPy(), 'utf8');
    const withWorkers = text.replace('shuffle=True)', 'shuffle=True, num_workers=2, persistent_workers=True)');
    assert.notStrictEqual(withWorkers, text, 'the DataLoader call as expected');
    fs.writeFileSync(variant, withWorkers);
    try {
      await cfg().update('sweep.numIter', 100000, vscode.ConfigurationTarget.Global);
      await cfg().update('script.args', ['--epochs', '1000'], vscode.ConfigurationTarget.Global);
      void vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(variant));
      await until(() => a.controller.lastRecord?.configPath === variant && a.controller.lastRecord.points.length > 5, 60000, 'points');
      const pid = a.controller.runningPids[0];
      assert.ok(pid, 'a process');
      const members = groupMembers(pid!);
      assert.ok(members.includes(pid!), 'the script is running');
      assert.ok(members.length >= 3, `the script and its 2 workers: ${members.join(' ')}`);
      const t0 = Date.now();
      await vscode.commands.executeCommand('lrFinder.stop');
      await until(() => members.every((p) => !groupMembers(pid!).includes(p)) && groupMembers(pid!).length === 0, 1000, 'the script and its workers to exit');
      const ms = Date.now() - t0;
      console.log(`      stopped ${members.length} processes in ${ms} ms`);
      assert.ok(ms < 1500, `${ms} ms`);
      assert.ok(!a.controller.isRunning);
      const r = a.controller.lastRecord!;
      assert.strictEqual(r.end?.reason, 'cancelled', `end: ${JSON.stringify(r.end)}, error: ${r.error}`);
      assert.ok(r.points.length < 100000);
    } finally {
      await cfg().update('sweep.numIter', saved.get('sweep.numIter'), vscode.ConfigurationTarget.Global);
      await cfg().update('script.args', saved.get('script.args'), vscode.ConfigurationTarget.Global);
      fs.rmSync(variant, { force: true });
    }
    // The extension keeps working: a short sweep of train.py.
    await cfg().update('sweep.numIter', 30, vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(trainPy()));
      await a.controller.idle();
    } finally {
      await cfg().update('sweep.numIter', saved.get('sweep.numIter'), vscode.ConfigurationTarget.Global);
    }
    assert.ok(a.controller.lastRecord?.end, `error: ${a.controller.lastRecord?.error}`);
    assert.strictEqual(a.controller.lastRecord?.points.length, 30);
    assert.ok(!fs.readdirSync(dir()).includes('digits_cnn.pt'), 'no checkpoint was written');
  });

  it('a script that fails in its training loop gives an error naming the script; the extension keeps working', async () => {
    const a = await api();
    const broken = path.join(dir(), 'broken_train.py');
    fs.writeFileSync(broken, [
      'import torch',
      'from torch import nn',
      '',
      'torch.manual_seed(0)',
      'model = nn.Linear(4, 2)',
      'opt = torch.optim.SGD(model.parameters(), lr=0.01)',
      'for step in range(1000):',
      '    loss = model(torch.randn(8, 4)).pow(2).mean()',
      '    opt.zero_grad()',
      '    loss.backward()',
      '    opt.step()',
      '    if step == 10:',
      '        raise RuntimeError("the data pipeline broke")',
      '',
    ].join('\n'));
    try {
      const before = snapshotTree(dir());
      await vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(broken));
      await a.controller.idle();
      const r = a.controller.lastRecord!;
      assert.strictEqual(r.configPath, broken);
      assert.ok(!r.end, 'no end event');
      assert.match(r.error ?? '', /broken_train\.py/);
      assert.match(r.error ?? '', /the data pipeline broke/);
      console.log(`      error: ${r.error}`);
      assert.ok(!a.controller.isRunning);
      assertSameTree(before, dir());
    } finally {
      fs.rmSync(broken, { force: true });
    }
    await cfg().update('sweep.numIter', 30, vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('lrFinder.findLearningRate', vscode.Uri.file(trainPy()));
      await a.controller.idle();
    } finally {
      await cfg().update('sweep.numIter', saved.get('sweep.numIter'), vscode.ConfigurationTarget.Global);
    }
    assert.ok(a.controller.lastRecord?.end, `error: ${a.controller.lastRecord?.error}`);
    assert.strictEqual(a.controller.lastRecord?.configPath, trainPy());
  });
});
