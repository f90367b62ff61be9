/**
 * The tfjs engine's verify mode (--verify-lr X --verify-steps N): the bundled engine (dist/engine.js) in a child
 * process, its JSON lines read directly, and the same candidate in-process (verifyCandidate).
 */
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { FASTAI_ONE_CYCLE, oneCycleLr } from '../../src/core/oneCycle';
import { initBackend, type BackendPreference } from '../../src/engines/tfjs/backend';
import { loadConfig, loadDataset } from '../../src/engines/tfjs/load';
import { lastTenthMean } from '../../src/engines/tfjs/training';
import { verifyCandidate } from '../../src/engines/tfjs/verify';

const ROOT = path.resolve(__dirname, '../../..');
const ENGINE = path.join(ROOT, 'dist/engine.js');
const IRIS = path.join(ROOT, 'examples/iris/lr-finder.yaml');

type Json = Record<string, unknown>;
interface Run { events: Json[]; code: number | null; stderr: string }

/** Run the engine; `onEvent` may act on the child (e.g. SIGTERM it). */
function engine(config: string, args: string[], onEvent?: (e: Json, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENGINE, '--config', config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Json[] = [];
    let buf = '', stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as Json;
        events.push(e);
        onEvent?.(e, () => child.kill('SIGTERM'));
      }
    });
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ events, code, stderr }));
  });
}

const ofType = (r: Run, type: string) => r.events.filter((e) => e.type === type);
const one = (r: Run, type: string) => {
  const es = ofType(r, type);
  assert.strictEqual(es.length, 1, `one ${type} event; events: ${JSON.stringify(r.events.filter((e) => e.type !== 'point')).slice(0, 600)}`);
  return es[0];
};

describe('tfjs engine: verify mode (--verify-lr, --verify-steps)', function () {
  this.timeout(40000);
  let base: Run;

  before(async () => {
    base = await engine(IRIS, ['--verify-lr', '0.01', '--verify-steps', '60']);
  });

  it('announces verify, sends a point per step at the one-cycle LR, then the candidate and the end', () => {
    assert.strictEqual(base.code, 0, base.stderr);
    assert.strictEqual(base.events[0].type, 'hello');
    const hello = base.events[0] as { verify: unknown; config: { samples: number; validationSamples: number; seed: number } };
    assert.deepStrictEqual(hello.verify, { lr: 0.01, steps: 60, seed: 42 });
    assert.strictEqual(hello.config.samples, 120);
    assert.strictEqual(hello.config.validationSamples, 30);
    const points = ofType(base, 'point') as { iteration: number; lr: number; loss: number }[];
    assert.strictEqual(points.length, 60);
    points.forEach((p, t) => {
      assert.strictEqual(p.iteration, t);
      assert.strictEqual(p.lr, oneCycleLr(0.01, t / 60, FASTAI_ONE_CYCLE), `LR at step ${t}`);
      assert.ok(Number.isFinite(p.loss));
    });
    assert.strictEqual(points[15].lr, oneCycleLr(0.01, 0.25)); // the peak
    const c = one(base, 'candidate');
    assert.deepStrictEqual(Object.keys(c).sort(), ['batches', 'diverged', 'loss', 'lr', 'rows', 'seconds', 'seed', 'signal', 'steps', 'trainLoss', 'type']);
    assert.strictEqual(c.lr, 0.01);
    assert.strictEqual(c.seed, 42);
    assert.strictEqual(c.steps, 60);
    assert.strictEqual(c.diverged, false);
    assert.strictEqual(c.signal, 'held-out'); // iris has no validationSplit: the engine held out 20% itself
    assert.strictEqual(c.rows, 30);
    assert.strictEqual(c.batches, 1);
    assert.ok(typeof c.loss === 'number' && Number.isFinite(c.loss) && c.loss > 0 && c.loss < Math.log(3), `held-out loss ${String(c.loss)} below chance`);
    assert.strictEqual(c.trainLoss, lastTenthMean(points.map((p) => p.loss)));
    assert.ok(typeof c.seconds === 'number' && c.seconds >= 0);
    const end = base.events[base.events.length - 1];
    assert.deepStrictEqual({ ...end, seconds: 0 }, { type: 'end', reason: 'completed', points: 60, seconds: 0 });
    assert.strictEqual(base.events[base.events.length - 2].type, 'candidate');
  });

  it('is deterministic: the same candidate gives the same held-out loss; another seed another one', async () => {
    const again = await engine(IRIS, ['--verify-lr', '0.01', '--verify-steps', '60']);
    assert.strictEqual(one(again, 'candidate').loss, one(base, 'candidate').loss);
    assert.deepStrictEqual(ofType(again, 'point'), ofType(base, 'point'));
    const other = await engine(IRIS, ['--verify-lr', '0.01', '--verify-steps', '60', '--seed', '43']);
    assert.deepStrictEqual((other.events[0] as { verify: unknown }).verify, { lr: 0.01, steps: 60, seed: 43 });
    assert.strictEqual(one(other, 'candidate').seed, 43);
    assert.notStrictEqual(one(other, 'candidate').loss, one(base, 'candidate').loss);
  });

  it('--holdout sets the held-out fraction; a config validationSplit takes precedence (signal "validation")', async () => {
    const h = await engine(IRIS, ['--verify-lr', '0.01', '--verify-steps', '6', '--holdout', '0.4']);
    assert.strictEqual(one(h, 'candidate').rows, 60);
    assert.strictEqual((h.events[0] as { config: { samples: number } }).config.samples, 90);
    const v = await engine(path.join(ROOT, 'examples/digits-cnn/lr-finder.yaml'), ['--verify-lr', '0.003', '--verify-steps', '4', '--holdout', '0.4']);
    const c = one(v, 'candidate');
    assert.strictEqual(c.signal, 'validation');
    assert.strictEqual(c.rows, 359); // data.validationSplit 0.2 of 1797 rows
    assert.ok(((v.events[0] as { warnings: string[] }).warnings).some((w) => w.includes('--holdout 0.4 is not used')));
  });

  it('too few rows to hold any out: trains on all and scores the training rows (signal "training")', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-verify-'));
    try {
      fs.writeFileSync(path.join(dir, 'tiny.csv'), 'a,b,y\n0,1,1\n1,0,2\n1,1,3\n0,0,0\n');
      fs.writeFileSync(path.join(dir, 'lr-finder.yaml'), [
        'model:', '  layers:', '    - Dense: { units: 1, inputShape: [2] }',
        'data: { path: tiny.csv, label: y }', 'loss: meanSquaredError', 'optimizer: { name: sgd, learningRate: 0.01 }', 'batchSize: 2', 'seed: 1', '',
      ].join('\n'));
      const r = await engine(path.join(dir, 'lr-finder.yaml'), ['--verify-lr', '0.01', '--verify-steps', '5']);
      const c = one(r, 'candidate');
      assert.deepStrictEqual([c.signal, c.rows, c.diverged], ['training', 4, false]);
      assert.ok(typeof c.loss === 'number' && Number.isFinite(c.loss));
      assert.ok(((r.events[0] as { warnings: string[] }).warnings).some((w) => w.includes('signal "training"')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a huge LR diverges: training stops at the non-finite loss, loss "Infinity"', async () => {
    // MSE with SGD momentum overflows; (Iris' clipped cross-entropy stays finite even at 1e4, just bad.)
    const r = await engine(path.join(ROOT, 'examples/diabetes/lr-finder.json'), ['--verify-lr', '1e4', '--verify-steps', '60']);
    assert.strictEqual(r.code, 0, r.stderr);
    const c = one(r, 'candidate');
    assert.strictEqual(c.diverged, true);
    assert.strictEqual(c.loss, 'Infinity');
    const points = ofType(r, 'point');
    assert.ok(points.length < 60 && points.length >= 1);
    assert.strictEqual(c.steps, points.length);
    assert.ok(typeof points[points.length - 1].loss === 'string', 'the last point carries the non-finite loss');
    assert.deepStrictEqual({ ...r.events[r.events.length - 1], seconds: 0 }, { type: 'end', reason: 'diverged', points: points.length, seconds: 0 });
  });

  it('SIGTERM stops between steps: end cancelled, no candidate', async () => {
    const r = await engine(IRIS, ['--verify-lr', '0.01', '--verify-steps', '1000000'], (e, kill) => {
      if (e.type === 'point' && e.iteration === 20) kill();
    });
    assert.strictEqual(ofType(r, 'candidate').length, 0);
    const end = r.events[r.events.length - 1] as { type: string; reason: string; points: number };
    assert.strictEqual(end.type, 'end');
    assert.strictEqual(end.reason, 'cancelled');
    assert.strictEqual(end.points, ofType(r, 'point').length);
  });

  const bad: [string[], RegExp][] = [
    [['--verify-lr', '-1', '--verify-steps', '60'], /--verify-lr -1 is out of range; expected a max LR from 1e-30 to 1e30/],
    [['--verify-lr', '0.01', '--verify-steps', '0'], /--verify-steps 0 is out of range; expected an integer from 1 to/],
    [['--verify-lr', '0.01', '--verify-steps', '2.5'], /--verify-steps 2.5 is out of range; expected an integer/],
    [['--verify-lr', '0.01'], /--verify-lr 0.01 needs --verify-steps N .*both --verify-lr X and --verify-steps N/],
    [['--verify-steps', '60'], /--verify-steps 60 needs --verify-lr X .*both --verify-lr X and --verify-steps N/],
    [['--verify-lr', '0.01', '--verify-steps', '60', '--holdout', '1'], /--holdout 1 is out of range; expected a fraction above 0 and below 1/],
    [['--holdout', '0.3'], /--holdout 0.3 applies to verify mode only/],
    [['--verify-lr', 'x', '--verify-steps', '60'], /--verify-lr expects a number, got "x"/],
    [['--verify-lr', '1e-27', '--verify-steps', '1000'], /--verify-lr 1e-27: step \d+ of 1000 would set LR .*expected LRs from 1e-30 to 1e30/],
  ];
  it('bad flags: an error event naming the flag and what is expected, exit code 1', async () => {
    for (const [args, want] of bad) {
      const r = await engine(IRIS, args);
      assert.strictEqual(r.code, 1, args.join(' '));
      assert.strictEqual(r.events.length, 1, args.join(' '));
      assert.strictEqual(r.events[0].type, 'error');
      assert.match(String(r.events[0].message), want);
    }
  });

  describe('in-process (verifyCandidate)', () => {
    let previous = '';
    before(() => { previous = tf.getBackend() ?? ''; });
    after(async () => { if (previous && previous !== tf.getBackend()) await tf.setBackend(previous); });

    it('gives the child\'s candidate, to the bit', async () => {
      const hello = base.events[0] as { backend: string };
      const choice = await initBackend(hello.backend as BackendPreference);
      assert.strictEqual(choice.backend, hello.backend);
      const loaded = loadConfig(IRIS);
      const { dataset } = loadDataset(loaded, path.dirname(IRIS));
      const lrs: number[] = [];
      const r = await verifyCandidate(loaded, dataset, { lr: 0.01, steps: 60, onStep: (_t, lr) => lrs.push(lr) });
      const c = one(base, 'candidate');
      assert.strictEqual(r.loss, c.loss);
      assert.strictEqual(r.trainLoss, c.trainLoss);
      assert.deepStrictEqual(r.trainLosses, ofType(base, 'point').map((p) => p.loss));
      assert.deepStrictEqual(lrs, ofType(base, 'point').map((p) => p.lr));
      assert.deepStrictEqual({ seed: r.seed, steps: r.steps, rows: r.rows, signal: r.signal, diverged: r.diverged, cancelled: r.cancelled },
        { seed: 42, steps: 60, rows: 30, signal: 'held-out', diverged: false, cancelled: false });
      await assert.rejects(verifyCandidate(loaded, dataset, { lr: 0, steps: 10 }), /lr 0 is out of range/);
    });
  });
});
