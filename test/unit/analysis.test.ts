import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { analyzeCurve, explainRegion, isSuggestion, localSlopes } from '../../src/core/analysis';
import { scheduleLr, smoothLosses, stopIndex } from '../../src/core/fastai';
import { parseCurve } from '../../src/cli/suggest';

const CURVES = path.join(__dirname, '../../../test/fixtures/curves');

interface Golden {
  name: string;
  fastai: { recorded: number; smoothed: (number | null)[]; expected: Record<string, { lr: number; index: number } | null> };
}

describe('fastai 2.8 reproduction (golden values computed by fastai code on torch tensors)', () => {
  const files = fs.readdirSync(CURVES).filter((f) => f.endsWith('.json'));
  it('has golden curves from real PyTorch runs and hand-made shapes', () => {
    assert.ok(files.filter((f) => f.startsWith('torch-')).length >= 4);
    assert.ok(files.filter((f) => f.startsWith('synthetic-')).length >= 5);
  });
  for (const f of files) {
    it(`${f}: valley, slide, minimum, steep match fastai exactly`, () => {
      const text = fs.readFileSync(path.join(CURVES, f), 'utf8');
      const g = JSON.parse(text) as Golden;
      const curve = parseCurve(text, f);
      const a = analyzeCurve(curve.lrs, curve.losses, curve.settings);
      // smoothed losses: float32 bit-exact with torch.lerp
      g.fastai.smoothed.forEach((v, i) => {
        if (v === null) assert.ok(!Number.isFinite(a.smoothed[i]), `smoothed[${i}] should be non-finite`);
        else assert.strictEqual(a.smoothed[i], v, `smoothed[${i}]`);
      });
      const recorded = a.stop.reason === 'stop-factor' ? a.stop.index + 1 : curve.lrs.length;
      assert.strictEqual(recorded, g.fastai.recorded, 'points fastai would have recorded before its stop rule');
      for (const m of ['valley', 'slide', 'minimum', 'steep'] as const) {
        const want = g.fastai.expected[m];
        const got = a.suggestions[m];
        if (want === null) {
          assert.ok(!isSuggestion(got), `${m} should be absent`);
          assert.ok(!isSuggestion(got) && got.reason.length > 0, `${m} has a reason`);
        } else {
          assert.ok(isSuggestion(got), `${m} missing: ${!isSuggestion(got) ? got.reason : ''}`);
          assert.strictEqual(got.lr, want.lr, `${m} lr`);
          assert.strictEqual(got.index, want.index, `${m} index`);
        }
      }
    });
  }
});

describe('schedule and stop rule', () => {
  it('exponential schedule starts at startLr and never reaches endLr', () => {
    assert.strictEqual(scheduleLr(0, 100, 1e-7, 10, 'exponential'), 1e-7);
    const last = scheduleLr(99, 100, 1e-7, 10, 'exponential');
    assert.ok(last < 10 && last > 8, String(last));
  });
  it('linear schedule is linear', () => {
    assert.strictEqual(scheduleLr(50, 100, 0, 1, 'linear'), 0.5);
  });
  it('stops when the smoothed loss exceeds 4x the best, keeping the diverging point', () => {
    const losses = [1, 0.9, 0.8, 0.7, 50, 50, 50];
    const s = smoothLosses(losses, 0.98);
    const k = stopIndex(s, 4);
    assert.ok(k > 3, String(k));
    assert.ok(s[k] > 4 * Math.min(...s.slice(0, k)));
  });
  it('NaN never triggers the stop rule', () => {
    assert.strictEqual(stopIndex([1, NaN, NaN], 4), -1);
  });
});

describe('steepest slope and minimum point (ours)', () => {
  const n = 100;
  const lrs = Array.from({ length: n }, (_, i) => scheduleLr(i, n, 1e-7, 10, 'exponential'));
  const sigmoidCurve = lrs.map((lr) => { const x = Math.log10(lr); return 2.3 - 1.8 / (1 + Math.exp(-(x + 3) * 2.5)) + (x > -0.5 ? Math.exp((x + 0.5) * 6) - 1 : 0); });

  it('finds the steepest descent near the inflection of a clean curve', () => {
    const a = analyzeCurve(lrs, sigmoidCurve);
    const s = a.suggestions.steepest;
    assert.ok(isSuggestion(s));
    // Smoothing (beta 0.98) lags the curve by several steps; the inflection of the raw curve is at 1e-3.
    assert.ok(s.lr > 1e-4 && s.lr < 1e-2, `steepest at ${s.lr}`);
    assert.ok(a.regions[s.index] === 'falling-fast');
    assert.match(s.explanation, /falls fastest/);
  });
  it('minimum point is the lowest smoothed loss and its explanation says not to pick it', () => {
    const a = analyzeCurve(lrs, sigmoidCurve);
    const m = a.suggestions.minimumPoint;
    assert.ok(isSuggestion(m));
    const recorded = a.stop.reason === 'stop-factor' ? a.stop.index + 1 : n;
    const finite = a.smoothed.slice(0, recorded);
    assert.strictEqual(a.smoothed[m.index], Math.min(...finite));
    assert.match(m.explanation, /Not the LR to pick/);
    const steepest = a.suggestions.steepest;
    assert.ok(isSuggestion(steepest) && steepest.lr < m.lr, 'steepest slope lies left of the minimum');
  });
  it('reads torch-lr-finder\'s history ({"lr", "loss"}) like {"lrs", "losses"}; beta 0 leaves pre-smoothed losses as they are', () => {
    const lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1], losses = [2, 1.5, 0.5, 0.25, 3];
    const a = parseCurve(JSON.stringify({ lr: lrs, loss: losses, config: { beta: 0 } }), 'history.json');
    const b = parseCurve(JSON.stringify({ lrs, losses, config: { beta: 0 } }), 'curve.json');
    assert.deepStrictEqual(a, b);
    assert.deepStrictEqual(analyzeCurve(a.lrs, a.losses, a.settings).smoothed, losses);
    assert.throws(() => parseCurve(JSON.stringify({ lr: lrs }), 'h.json'), /h\.json: expected an object \{"lrs"/);
    assert.throws(() => parseCurve('[1, 2]', 'arr.json'), /arr\.json: expected an object/);
  });
  it('an early spike does not become the steepest point (unlike fastai steep)', () => {
    const text = fs.readFileSync(path.join(CURVES, 'synthetic-early-spike.json'), 'utf8');
    const c = parseCurve(text, 'spike');
    const a = analyzeCurve(c.lrs, c.losses, c.settings);
    const steep = a.suggestions.steep, ours = a.suggestions.steepest;
    assert.ok(isSuggestion(steep) && isSuggestion(ours));
    assert.ok(steep.lr < 1e-5, 'fastai steep falls for the spike');
    assert.ok(ours.lr > 1e-4 && ours.lr < 1e-2, `steepest at ${ours.lr}`);
  });
  it('every point gets a slope and an explanation; regions go flat -> falling -> rising/diverging', () => {
    const a = analyzeCurve(lrs, sigmoidCurve);
    const recorded = a.stop.reason === 'stop-factor' ? a.stop.index + 1 : n;
    const regions = a.regions.slice(0, recorded);
    assert.ok(a.regions.every((r, i) => explainRegion(r, a.slopes[i]).length > 10));
    assert.strictEqual(regions[5], 'flat');
    const firstFast = regions.indexOf('falling-fast');
    const lastUp = Math.max(regions.lastIndexOf('rising'), regions.lastIndexOf('diverging'));
    assert.ok(firstFast > 0 && lastUp > firstFast, regions.join(','));
    assert.ok(a.regions.includes('flattening'));
  });
  it('a 2-point curve gives reasons, never an exception', () => {
    const a = analyzeCurve([1e-7, 1e-6], [2.3, 400]);
    for (const k of ['valley', 'slide', 'minimum', 'steep'] as const) assert.ok(!isSuggestion(a.suggestions[k]));
    assert.ok(!isSuggestion(a.suggestions.steepest));
  });
  it('empty and all-NaN curves give reasons', () => {
    for (const [l, y] of [[[], []], [[1e-3, 1e-2, 1e-1], [NaN, NaN, NaN]]] as [number[], number[]][]) {
      const a = analyzeCurve(l, y);
      assert.ok(Object.values(a.suggestions).every((s) => !isSuggestion(s)));
    }
  });
  it('local slope is per decade of LR', () => {
    const l = Array.from({ length: 41 }, (_, i) => 10 ** (-5 + i * 0.1));
    const s = localSlopes(l, l.map((lr) => -2 * Math.log10(lr) + 1)).map((v) => v / 2);
    s.forEach((v) => assert.ok(Math.abs(v + 1) < 1e-9, String(v)));
  });
});
