import * as assert from 'assert';
import { FASTAI_ONE_CYCLE, TORCH_ONE_CYCLE, oneCycleCurve, oneCycleLr } from '../../src/core/oneCycle';

describe('one-cycle schedule', () => {
  it('fastai: starts at max/25, peaks at 25%, ends at max/1e5', () => {
    assert.ok(Math.abs(oneCycleLr(1e-2, 0) - 4e-4) < 1e-15);
    assert.strictEqual(oneCycleLr(1e-2, 0.25), 1e-2);
    assert.ok(Math.abs(oneCycleLr(1e-2, 1) - 1e-7) < 1e-18);
  });
  it('torch: peaks at 30%, ends at max/25/1e4', () => {
    assert.strictEqual(oneCycleLr(1, 0.3, TORCH_ONE_CYCLE), 1);
    assert.ok(Math.abs(oneCycleLr(1, 1, TORCH_ONE_CYCLE) - 4e-6) < 1e-15);
  });
  it('rises then falls: /\\', () => {
    const c = oneCycleCurve(3e-3, 100, FASTAI_ONE_CYCLE).map((p) => p.lr);
    const peak = c.indexOf(Math.max(...c));
    assert.strictEqual(peak, 25);
    for (let i = 1; i <= peak; i++) assert.ok(c[i] >= c[i - 1]);
    for (let i = peak + 1; i < c.length; i++) assert.ok(c[i] <= c[i - 1]);
  });
});
