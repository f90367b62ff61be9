/**
 * The second engine behind the same seam: a fake engine through the real process runner, and the real script engine
 * (the user's own PyTorch script, unchanged) through the lr-finder CLI. Plus the pure parts of the script flow.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeCurve, isSuggestion } from '../../src/core/analysis';
import { commandLine, describeRun, subtitle } from '../../src/core/engineSummary';
import { locateLearningRates } from '../../src/core/locate';
import { optimizerConstructions } from '../../src/core/optimizerCalls';
import { parseEventLine, type HelloEvent, type ScriptSummary } from '../../src/core/protocol';
import { reportLine } from '../../src/core/scriptReport';
import { findOptionValue, locateLaunchArg } from '../../src/core/argsLiteral';
import { constructedLrs, lrFromCommandLine, rankCandidates } from '../../src/core/scriptTarget';
import { adopt } from '../../src/core/settingsAdopt';
import { RepeatedSweep } from '../../src/runner/repeatedSweep';
import { launcherWords, scriptLaunch, splitLauncherArgs } from '../../src/engines/torch/launch';
import { SweepProcess, type Launch } from '../../src/runner/sweepProcess';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'bin/lr-finder.js');
const FAKE = path.join(ROOT, 'test/fixtures/fake-engine/engine.js');
const PY = process.env.LR_FINDER_TEST_PYTHON || '/usr/bin/python3';

function fakeLaunch(env: NodeJS.ProcessEnv = {}): Launch {
  return { command: process.execPath, args: [FAKE], env: { FAKE_ENGINE_FD: '3', ...env }, protocol: 'fd3', cancel: 'leader', label: 'fake' };
}

function treeHash(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { out[path.relative(dir, p) + '/'] = 'dir'; walk(p); } else out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-script-'));
  fs.copyFileSync(path.join(ROOT, 'test/fixtures/script-ws/train.py'), path.join(dir, 'train.py'));
  return dir;
}

describe('any engine behind the launch seam (a fake engine)', function () {
  this.timeout(20000);
  it('the process runner reads protocol lines from fd 3, the engine\'s stdout separately', async () => {
    const stdout: string[] = [];
    const out = await new SweepProcess({ launch: fakeLaunch(), onStdout: (l) => stdout.push(l) }).done;
    assert.strictEqual(out.hello?.engine, 'fake');
    assert.strictEqual(out.points.length, 40);
    assert.strictEqual(out.end?.reason, 'completed');
    assert.deepStrictEqual(out.report?.restored, [{ path: 'x.txt', action: 'removed' }]);
    assert.deepStrictEqual(stdout, ['fake engine says hello on its own stdout']);
    // The analysis takes the settings the engine reported, not the ones asked for.
    const settings = adopt({ startLr: 1e-7, endLr: 10, numIter: 100, mode: 'exponential', stopFactor: 4, smoothing: 0.98 }, out.hello!.config);
    assert.strictEqual(settings.numIter, 40);
    assert.strictEqual(settings.smoothing, 0.9);
    const a = analyzeCurve(out.points.map((p) => p.lr), out.points.map((p) => p.loss), settings);
    assert.ok(isSuggestion(a.suggestions.minimumPoint));
    assert.ok(Math.abs(Math.log10(a.suggestions.minimumPoint.lr) + 2) < 0.7, `minimum near 1e-2: ${a.suggestions.minimumPoint.lr}`);
  });
  it('repeats fan out one launch per run and combine into a median curve', async () => {
    const r = await new RepeatedSweep({ repeats: 3, launchFor: (k) => fakeLaunch({ FAKE_ENGINE_SEED: String(k) }) }).done;
    assert.strictEqual(r.runs.length, 3);
    assert.strictEqual(r.points.length, 40);
    assert.ok(Math.abs(r.points[0].loss - r.runs[1][0].loss) < 1e-12, 'the median of three shifted curves is the middle one');
  });
  it('cancel reaches a leader-cancelled engine and returns its cancelled end', async () => {
    const proc = new SweepProcess({ launch: fakeLaunch({ FAKE_ENGINE_POINTS: '100000', FAKE_ENGINE_DELAY: '5' }) });
    await new Promise((r) => setTimeout(r, 300));
    const out = await proc.cancel();
    assert.strictEqual(out.end?.reason, 'cancelled');
    assert.ok(out.points.length > 0);
  });
  it('gives up with a clear error when no point comes within the first-step time limit', async () => {
    const out = await new SweepProcess({ launch: { ...fakeLaunch({ FAKE_ENGINE_POINTS: '0', FAKE_ENGINE_DELAY: '100000' }), command: process.execPath, args: ['-e', 'setTimeout(() => {}, 60000)'], firstPointTimeoutMs: 300 } }).done;
    assert.strictEqual(out.error?.code, 'first-step-timeout');
    assert.match(out.error!.message, /no optimizer step within 0 s|no optimizer step within/);
    assert.match(out.error!.message, /lrFinder\.script\.firstStepTimeout/);
  });
});

describe('the script engine through the CLI (real PyTorch, the script unchanged)', function () {
  this.timeout(120000);
  const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });

  it('run train.py --json: protocol lines only on stdout, one point per optimizer step, the folder byte-identical', () => {
    const dir = workspace();
    const before = treeHash(dir);
    const r = cli(dir, 'run', 'train.py', '--python', PY, '--json', '--num-iter', '60', '--', '--epochs', '3');
    assert.strictEqual(r.status, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => parseEventLine(l));
    assert.ok(events.every((e) => e.ok), 'every stdout line is a protocol event');
    const ev = events.map((e) => (e as { ok: true; event: import('../../src/core/protocol').SweepEvent }).event);
    const hello = ev[0] as HelloEvent;
    assert.strictEqual(hello.type, 'hello');
    assert.strictEqual(hello.engine, 'torch');
    assert.strictEqual(hello.config.numIter, 60);
    assert.deepStrictEqual(hello.script!.optimizers.map((o) => [o.class, o.groups[0].lr]), [['AdamW', 3e-3]]);
    const points = ev.filter((e) => e.type === 'point');
    const end = ev.find((e) => e.type === 'end');
    assert.ok(end && end.type === 'end' && ['completed', 'diverged'].includes(end.reason));
    assert.strictEqual(points.length, end.type === 'end' ? end.points : -1);
    assert.ok(points.every((p, i) => p.type === 'point' && p.iteration === i));
    const report = ev.find((e) => e.type === 'report');
    assert.ok(report && report.type === 'report');
    assert.ok(report.blocked.some((b) => b.what === 'torch.save' && b.path === path.join('runs', 'last.pt')));
    assert.ok(report.restored.some((x) => x.path === 'runs/' && x.action === 'removed'));
    assert.match(r.stderr, /trained|epoch|^/); // the script's own output went to stderr, not into the protocol
    assert.deepStrictEqual(treeHash(dir), before);
  });

  it('run train.py prints the curve, the suggestions and what it kept from the folder', () => {
    const dir = workspace();
    const r = cli(dir, 'run', 'train.py', '--python', PY, '--num-iter', '50', '--', '--epochs', '3');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /LR range test of .*train\.py --epochs 3: AdamW \(LR 3e-3\)/);
    assert.match(r.stderr, /Your folder is as it was: blocked 1 checkpoint save \(runs\/last\.pt\); removed 1 new folder \(runs\/\)/);
    assert.match(r.stdout, /recommended/);
  });

  it('run train.py --verify --json: the sweep, then a candidate per training (held out from its DataLoader), then the verified event; the folder byte-identical', () => {
    const dir = workspace();
    const before = treeHash(dir);
    const r = cli(dir, 'run', 'train.py', '--python', PY, '--json', '--num-iter', '60', '--verify', '--verify-steps', '40', '--', '--epochs', '3');
    assert.strictEqual(r.status, 0, r.stderr);
    const ev = r.stdout.trim().split('\n').map((l) => { const e = parseEventLine(l); assert.ok(e.ok, l); return e.event; });
    const last = ev[ev.length - 1];
    assert.strictEqual(last.type, 'verified');
    const candidates = ev.filter((e) => e.type === 'candidate');
    assert.ok(candidates.length >= 5 && candidates.length <= 8, `${candidates.length} candidates`);
    assert.ok(ev.findIndex((e) => e.type === 'candidate') > ev.findIndex((e) => e.type === 'end'), 'after the sweep');
    assert.ok(candidates.every((c) => c.type === 'candidate' && c.steps === 40 && c.signal === 'held-out' && c.rows! > 0));
    if (last.type !== 'verified') return;
    assert.strictEqual(last.totalSteps, 40 * candidates.length);
    assert.strictEqual(last.candidates.length, candidates.length);
    assert.strictEqual(Math.min(...last.candidates.map((c) => c.loss)), last.candidates.find((c) => c.lr === last.lr)!.loss);
    assert.deepStrictEqual(treeHash(dir), before);
  });

  it('run train.py --repeats 2: the runs go one at a time (each undoes its own changes to the folder), which stays byte-identical', () => {
    const dir = workspace();
    const before = treeHash(dir);
    const r = cli(dir, 'run', 'train.py', '--python', PY, '--json', '--num-iter', '40', '--repeats', '2', '--', '--epochs', '3');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes('"type":"end"'));
    assert.deepStrictEqual(treeHash(dir), before);
  });

  it('a script that ends too early names its --epochs option and how many steps it ran', () => {
    const dir = workspace();
    const r = cli(dir, 'run', 'train.py', '--python', PY, '--num-iter', '100', '--', '--epochs', '1');
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /train\.py ended after 32 of the sweep's 100 optimizer steps/);
    assert.match(r.stderr, /--epochs is 1: run it with --epochs 4 or more/);
  });

  it('a script that fails gives its exception and the file:line of the traceback', () => {
    const dir = workspace();
    const before = treeHash(dir);
    const r = cli(dir, 'run', 'train.py', '--python', PY, '--', '--fail-at', '5');
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /train\.py failed during the sweep, after 5 of 100 steps: RuntimeError: boom at step 5/);
    const line = fs.readFileSync(path.join(dir, 'train.py'), 'utf8').split('\n').findIndex((l) => l.includes('raise RuntimeError')) + 1;
    assert.ok(r.stderr.includes(`train.py:${line})`), r.stderr);
    assert.deepStrictEqual(treeHash(dir), before);
  });

  it('an interpreter without torch is named, with how to choose another', () => {
    const dir = workspace();
    // A virtual environment without torch, the usual way to meet this.
    const venv = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-venv-'));
    const made = spawnSync(PY, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
    assert.strictEqual(made.status, 0, made.stderr);
    const r = cli(dir, 'run', 'train.py', '--python', path.join(venv, 'bin', 'python'));
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /has no torch \(ModuleNotFoundError: No module named 'torch'\)/);
    assert.match(r.stderr, /lrFinder\.python/);
  });

  it('Stop while the script has changed many files: they are all put back before it is killed', async () => {
    const dir = workspace();
    fs.mkdirSync(path.join(dir, 'data'));
    for (let i = 0; i < 1500; i++) fs.writeFileSync(path.join(dir, 'data', `${i}.txt`), `row ${i}\n`);
    fs.writeFileSync(path.join(dir, 'touchy.py'), [
      'import os, time, torch', 'm = torch.nn.Linear(4, 1)', 'opt = torch.optim.SGD(m.parameters(), lr=0.1)',
      'for step in range(100000):', '    opt.zero_grad(); m(torch.randn(8, 4)).pow(2).mean().backward(); opt.step()',
      '    if step == 3:', '        for i in range(1500):', '            open(os.path.join("data", "%d.txt" % i), "a").write("changed\\n")',
      '    time.sleep(0.002)', ''].join('\n'));
    const before = treeHash(dir);
    const settings = { startLr: 1e-7, endLr: 10, numIter: 100000, mode: 'exponential' as const, stopFactor: 1e30, smoothing: 0.98 };
    const hookDir = path.join(ROOT, 'python');
    let points = 0;
    const proc = new SweepProcess({ launch: scriptLaunch({ python: PY, script: path.join(dir, 'touchy.py'), args: [], cwd: dir, root: dir, settings, hookDir }), onEvent: (e) => { if (e.type === 'point') points++; } });
    for (let t = 0; points < 50 && t < 600; t++) await new Promise((r) => setTimeout(r, 50));
    const out = await proc.cancel();
    assert.strictEqual(out.end?.reason, 'cancelled');
    assert.ok(out.report, 'the hook finished its clean-up and reported');
    assert.strictEqual(out.report!.restored.length, 1500);
    assert.deepStrictEqual(treeHash(dir), before);
  });

  it('usage errors exit 2 before anything runs', () => {
    const dir = workspace();
    assert.strictEqual(cli(dir, 'run', 'missing.py', '--python', PY).status, 2);
    assert.match(cli(dir, 'run', 'train.py', '--seed', '3').stderr, /--seed is for training configs/);
    assert.strictEqual(cli(dir, 'run', '-m').status, 2);
  });
});

describe('script flow: pure parts', () => {
  const summary: ScriptSummary = {
    python: '/usr/bin/python3', argv: ['train.py', '--epochs', '3'], module: null, cwd: '/w', torch: '1.13', device: 'cpu',
    optimizers: [{ class: 'AdamW', module: 'torch.optim.adamw', groups: [{ lr: 1e-4, params: 10 }, { lr: 1e-3, params: 5, maxLr: 0.01 }] }],
    options: [{ option: '--lr', dest: 'lr', default: 1e-3, value: 1e-3 }], filesRead: ['config.yaml'],
  };
  it('the constructed LRs, OneCycleLR max_lr first', () => {
    assert.deepStrictEqual(constructedLrs(summary), [0.01, 1e-4, 1e-3]);
  });
  it('ranks the literal with the constructed value first, across files', () => {
    const py = 'import argparse\np.add_argument("--lr", type=float, default=1e-3)\nwarmup_lr = 0.5\nopt = SGD(params, lr=0.1)\n';
    const yaml = 'optimizer:\n  lr: 0.0001\n';
    const c = rankCandidates([{ file: 'train.py', literals: locateLearningRates('train.py', py) }, { file: 'config.yaml', literals: locateLearningRates('config.yaml', yaml) }], constructedLrs(summary));
    assert.deepStrictEqual(c.map((x) => [x.file, x.literal.text, x.matches]), [['config.yaml', '0.0001', true], ['train.py', '1e-3', true], ['train.py', '0.1', false]]);
  });
  it('an LR given on the command line is recognised as such', () => {
    assert.strictEqual(lrFromCommandLine(summary), undefined);
    const cli = { ...summary, argv: ['train.py', '--lr', '0.01'], options: [{ option: '--lr', dest: 'lr', default: 1e-3, value: 0.01 }] };
    assert.deepStrictEqual(lrFromCommandLine(cli), { option: '--lr', value: 0.01 });
  });
  it('describes a script run in one line, as the user would type it', () => {
    const hello = parseEventLine(JSON.stringify({ type: 'hello', protocol: 2, engine: 'torch', backend: 'cpu', config: { startLr: 1e-7, endLr: 10, numIter: 100 }, script: summary }));
    assert.ok(hello.ok && hello.event.type === 'hello');
    assert.strictEqual(commandLine(hello.event.script!), '/usr/bin/python3 train.py --epochs 3');
    assert.match(describeRun(hello.event), /AdamW \(2 groups, LR 1e-4\/1e-3\), LR 1e-7 → 10 over 100 steps/);
    assert.match(subtitle(hello.event), /PyTorch 1\.13 on cpu/);
    assert.strictEqual(commandLine({ ...summary, module: 'pkg.train', argv: ['/w/pkg/train.py', 'a b'] }), "/usr/bin/python3 -m pkg.train 'a b'");
  });
  it('an LR on the command line is found in launch.json args, number only', () => {
    const text = '{\n  // runs\n  "configurations": [\n    {"name": "A", "args": ["--lr", "0.01"]},\n    {"name": "B", "args": ["--epochs", "3", "--lr=3e-4",],},\n  ]\n}\n';
    const a = locateLaunchArg(text, 'A', '--lr')!;
    assert.strictEqual(text.slice(a.offset, a.offset + a.length), '0.01');
    const b = locateLaunchArg(text, 'B', '--lr')!;
    assert.strictEqual(text.slice(b.offset, b.offset + b.length), '3e-4');
    assert.strictEqual(locateLaunchArg(text, 'C', '--lr'), undefined);
    assert.deepStrictEqual(findOptionValue(['--lr=1e-3'], '--lr'), { index: 0, start: 5, text: '1e-3' });
  });
  it('the report in one line', () => {
    assert.strictEqual(reportLine({ type: 'report', blocked: [], restored: [], outside: [], notes: [] }), 'Your folder is as it was: the script wrote nothing there.');
    assert.match(reportLine({ type: 'report', blocked: [{ what: 'torch.save', path: 'a.pt' }], restored: [{ path: 'log.txt', action: 'restored' }], outside: ['/tmp/x'], notes: [] }),
      /blocked 1 checkpoint save \(a\.pt\); restored 1 changed file \(log\.txt\)\. Written outside the workspace, not undone: \/tmp\/x\./);
  });
  it('finds optimizer constructions, not comments or strings', () => {
    const text = 'import torch\nfrom torch.optim import AdamW\nopt = torch.optim.SGD(m.parameters(), lr=0.1)\n# opt = optim.Adam(p)\ns = "optim.Adam("\nopt2 = AdamW(p)\n';
    assert.deepStrictEqual(optimizerConstructions(text), [3, 6]);
  });
  it('a torchrun launch configuration becomes launcher words, the script and its own arguments', () => {
    assert.deepStrictEqual(splitLauncherArgs('torch.distributed.run', undefined, 'py', ['--nproc_per_node', '2', 'train.py', '--epochs', '3']),
      { launcher: ['py', '-m', 'torch.distributed.run', '--nproc_per_node', '2'], script: 'train.py', args: ['--epochs', '3'] });
    assert.deepStrictEqual(splitLauncherArgs(undefined, '/usr/bin/torchrun', 'py', ['--standalone', '-m', 'pkg.train', 'x']),
      { launcher: ['/usr/bin/torchrun', '--standalone'], module: 'pkg.train', args: ['x'] });
    assert.strictEqual(splitLauncherArgs(undefined, '/w/train.py', 'py', []), undefined);
    assert.deepStrictEqual(launcherWords('srun -n 2 --gres="gpu:2"'), ['srun', '-n', '2', '--gres=gpu:2']);
  });
  it('under torchrun the protocol goes through a file, with the start-up fix for torch 1.13', () => {
    const l = scriptLaunch({ python: 'py', script: '/w/train.py', args: ['--x'], cwd: '/w', root: '/w', hookDir: '/ext/python', launcher: ['torchrun', '--nproc_per_node', '2'],
      settings: { startLr: 1e-6, endLr: 1, numIter: 50, mode: 'exponential', stopFactor: 4, smoothing: 0.98 } });
    assert.strictEqual(l.command, 'torchrun');
    assert.deepStrictEqual(l.args.slice(0, 6), ['--nproc_per_node', '2', '--redirects', '2', '--tee', '2']);
    assert.deepStrictEqual(l.args.slice(-2), ['/w/train.py', '--x']);
    assert.ok(typeof l.protocol === 'object' && l.env!.LR_FINDER_PROTOCOL_FILE === l.protocol.file);
    const s = scriptLaunch({ python: 'py', script: '/w/train.py', args: [], cwd: '/w', root: '/w', hookDir: '/h', launcher: ['srun', '-n', '2'],
      settings: { startLr: 1e-6, endLr: 1, numIter: 50, mode: 'exponential', stopFactor: 4, smoothing: 0.98 } });
    // srun gets a job name of its own, by which a cancel finds its step (slurm.ts: srun SIGKILLs its tasks on SIGTERM).
    assert.match(s.args[0], /^--job-name=lr-finder-\w+$/);
    assert.deepStrictEqual([s.command, ...s.args.slice(1)], ['srun', '-n', '2', 'py', '/w/train.py']);
    assert.ok(s.stop && s.env!.LR_FINDER_LAUNCHER === 'srun -n 2' && typeof s.protocol === 'object');
    fs.rmSync(path.dirname(s.protocol.file), { recursive: true, force: true }); // made in ~/.cache/lr-finder/jobs
  });
  it('the launch puts the hook first on PYTHONPATH and the request in the environment, the command as the user typed it', () => {
    const l = scriptLaunch({ python: 'py', script: '/w/train.py', args: ['--epochs', '2'], cwd: '/w', root: '/w', hookDir: '/ext/python',
      settings: { startLr: 1e-6, endLr: 1, numIter: 50, mode: 'exponential', stopFactor: 4, smoothing: 0.98 }, seedOffset: 2, env: { PYTHONPATH: '/mine' } });
    assert.deepStrictEqual([l.command, ...l.args], ['py', '/w/train.py', '--epochs', '2']);
    assert.strictEqual(l.env!.PYTHONPATH, ['/ext/python', '/mine'].join(path.delimiter));
    assert.deepStrictEqual(JSON.parse(l.env!.LR_FINDER_REQUEST!), { startLr: 1e-6, endLr: 1, numIter: 50, mode: 'exponential', stopFactor: 4, smoothing: 0.98, root: '/w', seedOffset: 2, allowLoad: false });
    assert.strictEqual(l.env!.WANDB_MODE, 'disabled');
  });
});
