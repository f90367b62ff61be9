/** Real sweeps: the bundled engine (dist/engine.js) in a child process, on every example, through the protocol. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeCurve, isSuggestion } from '../../src/core/analysis';
import { loadConfig } from '../../src/engines/tfjs/load';
import { SweepProcess, type SweepOutcome } from '../../src/runner/sweepProcess';
import { tfjsLaunch } from '../../src/engines/tfjs/launch';

const ROOT = path.resolve(__dirname, '../../..');
const ENGINE = path.join(ROOT, 'dist/engine.js');
const EXAMPLES = ['iris/lr-finder.yaml', 'digits-cnn/lr-finder.yaml', 'diabetes/lr-finder.json', 'breast-cancer/lr-finder.yaml'];

function sweep(configFile: string, args: string[] = []): Promise<SweepOutcome> {
  return new SweepProcess({ launch: tfjsLaunch({ enginePath: ENGINE, configFile, args }) }).done;
}

describe('engine: real sweeps on the examples', function () {
  this.timeout(120000);
  for (const ex of EXAMPLES) {
    it(`${ex}: the loss falls, then rises or diverges; valley lies where training works`, async () => {
      const file = path.join(ROOT, 'examples', ex);
      const cfg = loadConfig(file).config;
      const numIter = cfg.sweep.numIter; // 100: about a second each
      const out = await sweep(file);
      assert.ok(!out.error, out.error?.message);
      assert.ok(out.hello, 'hello event');
      assert.ok(out.end, 'end event');
      assert.strictEqual(out.end!.points, out.points.length);
      assert.ok(['completed', 'diverged', 'non-finite'].includes(out.end!.reason));
      const lrs = out.points.map((p) => p.lr);
      assert.strictEqual(lrs[0], cfg.sweep.startLr);
      for (let i = 1; i < lrs.length; i++) assert.ok(lrs[i] > lrs[i - 1], 'LR grows every step');
      const a = analyzeCurve(lrs, out.points.map((p) => p.loss), { ...cfg.sweep, numIter });
      const s = a.smoothed;
      const warm = Math.floor(numIter / 10);
      const start = out.points.slice(0, warm).reduce((t, p) => t + p.loss, 0) / warm; // mean raw loss of the first 10%
      const minIdx = s.indexOf(Math.min(...s.slice(warm).filter(Number.isFinite)));
      assert.ok(s[minIdx] < 0.9 * start, `loss falls: start ${start}, min ${s[minIdx]}`);
      const last = s[s.length - 1];
      assert.ok(out.end!.reason !== 'completed' || !Number.isFinite(last) || last > s[minIdx] * 1.05 || ex.startsWith('breast'),
        `loss rises after its minimum (min ${s[minIdx]} at ${minIdx}, last ${last})`);
      const v = a.suggestions.valley;
      assert.ok(isSuggestion(v), !isSuggestion(v) ? v.reason : '');
      assert.ok(v.index < minIdx + 1, 'valley lies before the minimum');
      assert.ok(s[v.index] < start, `training works at the valley: smoothed loss there ${s[v.index]} < start ${start}`);
    });
  }

  it('is deterministic: same config and seed give the same curve', async () => {
    const file = path.join(ROOT, 'examples/digits-cnn/lr-finder.yaml');
    const [a, b] = [await sweep(file, ['--num-iter', '25']), await sweep(file, ['--num-iter', '25'])];
    assert.deepStrictEqual(a.points.map((p) => p.loss), b.points.map((p) => p.loss));
    const c = await sweep(file, ['--num-iter', '25', '--seed', '8']);
    assert.notDeepStrictEqual(a.points.map((p) => p.loss), c.points.map((p) => p.loss));
  });

  it('records a validation loss per step in Leslie Smith mode', async () => {
    const out = await sweep(path.join(ROOT, 'examples/digits-cnn/lr-finder.yaml'), ['--num-iter', '10']);
    assert.ok(out.points.every((p) => typeof p.valLoss === 'number' && Number.isFinite(p.valLoss)));
    assert.strictEqual(out.hello!.config.validationSamples, 359);
  });

  it('SIGTERM ends the sweep promptly with a cancelled end event', async () => {
    const proc = new SweepProcess({ launch: tfjsLaunch({ enginePath: ENGINE, configFile: path.join(ROOT, 'examples/digits-cnn/lr-finder.yaml'), args: ['--num-iter', '100000'] }) });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => { if (fs.existsSync('/proc/' + proc.pid)) { clearInterval(t); resolve(); } }, 20);
    });
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    const out = await proc.cancel();
    assert.ok(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
    assert.strictEqual(out.end?.reason, 'cancelled');
    assert.ok(out.points.length > 0);
    assert.ok(!fs.existsSync(`/proc/${proc.pid}`) || fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8').includes(') Z'), 'child is gone');
  });

  it('builds the model from a model.json topology (model.path), with fresh weights', async () => {
    const cfg = path.join(ROOT, 'test/fixtures/model-json/lr-finder.yaml');
    const out = await new SweepProcess({ launch: tfjsLaunch({ enginePath: ENGINE, configFile: cfg, root: ROOT }) }).done;
    assert.ok(!out.error, out.error?.message);
    assert.strictEqual(out.hello!.config.model, 'Dense(16) → Dropout(0.1) → Dense(3)');
    assert.strictEqual(out.hello!.config.parameters, 131);
    assert.strictEqual(out.points.length, 60);
  });

  it('a model whose input does not match the data is refused with the config position', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-shape-'));
    fs.copyFileSync(path.join(ROOT, 'examples/iris/iris.csv'), path.join(dir, 'iris.csv'));
    fs.writeFileSync(path.join(dir, 'c.yaml'), fs.readFileSync(path.join(ROOT, 'examples/iris/lr-finder.yaml'), 'utf8').replace('inputShape: [4]', 'inputShape: [5]'));
    const out = await new SweepProcess({ launch: tfjsLaunch({ enginePath: ENGINE, configFile: path.join(dir, 'c.yaml'), root: dir }) }).done;
    assert.match(out.error!.message, /the model expects samples of shape \[5\] but the data gives \[4\]/);
    assert.ok(out.error!.line! > 0);
  });

  it('applies kernel regularizers to the loss (same seed, same batches, higher loss with a large l2)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-reg-'));
    fs.copyFileSync(path.join(ROOT, 'examples/iris/iris.csv'), path.join(dir, 'iris.csv'));
    const base = fs.readFileSync(path.join(ROOT, 'examples/iris/lr-finder.yaml'), 'utf8');
    fs.writeFileSync(path.join(dir, 'a.yaml'), base);
    fs.writeFileSync(path.join(dir, 'b.yaml'), base.replace('inputShape: [4] }', 'inputShape: [4], kernelRegularizer: { l2: 1 } }'));
    const [a, b] = [await sweep(path.join(dir, 'a.yaml'), ['--num-iter', '10']), await sweep(path.join(dir, 'b.yaml'), ['--num-iter', '10'])];
    assert.ok(!a.error && !b.error, a.error?.message ?? b.error?.message);
    assert.ok(b.points[0].loss > a.points[0].loss + 0.5, `with l2: ${b.points[0].loss}, without: ${a.points[0].loss}`);
  });

  it('stops on a non-finite loss', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-nan-'));
    fs.copyFileSync(path.join(ROOT, 'examples/diabetes/diabetes.csv'), path.join(dir, 'd.csv'));
    // Raw targets (25..346) with MSE and a huge LR: the loss overflows to Infinity/NaN.
    fs.writeFileSync(path.join(dir, 'c.yaml'), 'model:\n  layers:\n    - Dense: {units: 1, inputShape: [10]}\ndata: {path: d.csv, label: progression}\nloss: meanSquaredError\noptimizer: {name: sgd, learningRate: 0.1}\nsweep: {startLr: 1e-3, endLr: 1e6, numIter: 100, stopFactor: 1e30}\n');
    const out = await sweep(path.join(dir, 'c.yaml'));
    assert.strictEqual(out.end?.reason, 'non-finite');
    assert.ok(!Number.isFinite(out.points[out.points.length - 1].loss));
  });

  it('refuses a data path outside the workspace folder, naming file and line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-ws-'));
    fs.mkdirSync(path.join(dir, 'ws'));
    fs.copyFileSync(path.join(ROOT, 'examples/iris/iris.csv'), path.join(dir, 'iris.csv'));
    const cfg = fs.readFileSync(path.join(ROOT, 'examples/iris/lr-finder.yaml'), 'utf8').replace('path: iris.csv', 'path: ../iris.csv');
    fs.writeFileSync(path.join(dir, 'ws', 'c.yaml'), cfg);
    const out = await new SweepProcess({ launch: tfjsLaunch({ enginePath: ENGINE, configFile: path.join(dir, 'ws', 'c.yaml'), root: path.join(dir, 'ws') }) }).done;
    assert.ok(out.error);
    assert.match(out.error!.message, /outside the workspace folder/);
    assert.strictEqual(out.error!.line, 9);
    assert.strictEqual(out.points.length, 0);
  });
});
