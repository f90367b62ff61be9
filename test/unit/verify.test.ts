import * as assert from 'assert';
import { chooseVerified, describeBudget, nextCandidates, summarize, VERIFY_DEFAULTS, type CandidateResult, type Verified } from '../../src/core/verify';

/** Runs the method against a loss landscape (held-out loss as a function of log10 LR), as the runner does. */
function simulate(center: number, loss: (lr: number) => number, options = {}): { v: Verified; rounds: number[][] } {
  const results: CandidateResult[] = [];
  const rounds: number[][] = [];
  for (let guard = 0; guard < 20; guard++) {
    const next = nextCandidates(center, results, options);
    if (!next.length) break;
    rounds.push(next);
    for (const lr of next) {
      const l = loss(lr);
      results.push({ lr, seed: 0, loss: l, diverged: !Number.isFinite(l), steps: 250, signal: 'held-out' });
    }
  }
  const v = chooseVerified(center, results, options);
  assert.ok('lr' in v, JSON.stringify(v));
  return { v: v as Verified, rounds };
}

const bowl = (best: number, divergeAbove = Infinity) => (lr: number) => (lr > divergeAbove ? Infinity : 0.3 + (Math.log10(lr / best)) ** 2);
const close = (a: number, b: number, rel = 1e-9) => Math.abs(a / b - 1) < rel;

describe('verify: candidates and the measured best', () => {
  it('starts with the recommendation and half a decade either side', () => {
    const first = nextCandidates(1e-2, []);
    assert.strictEqual(first.length, 3);
    assert.ok(close(first[0], 1e-2 / Math.sqrt(10)) && close(first[1], 1e-2) && close(first[2], 1e-2 * Math.sqrt(10)));
  });

  it('best at the recommendation: 5 trainings, the quarter-decade midpoints refine it', () => {
    const { v, rounds } = simulate(1e-2, bowl(1.5e-2));
    assert.deepStrictEqual(rounds.map((r) => r.length), [3, 2]);
    assert.strictEqual(v.candidates.length, 5);
    assert.ok(close(v.lr, 1e-2 * 10 ** 0.25), `picked ${v.lr}`);
    assert.strictEqual(v.atEdge, undefined);
    assert.strictEqual(v.totalSteps, 5 * 250);
    assert.match(v.explanation, /trained best of 5 candidates after 250 steps of one-cycle \(held-out loss/);
  });

  it('follows a best far below the curve (small data that overfits) and refines there', () => {
    const { v } = simulate(1e-1, bowl(3e-3));
    assert.ok(Math.abs(Math.log10(v.lr / 3e-3)) <= 0.125 + 1e-9, `picked ${v.lr}`);
    assert.strictEqual(v.atEdge, undefined);
    assert.ok(v.candidates.length <= VERIFY_DEFAULTS.maxCandidates);
  });

  it('stops at maxCandidates and says the best is at the edge (widen and retry)', () => {
    const { v } = simulate(1e-2, bowl(1e3));
    assert.strictEqual(v.atEdge, 'high');
    assert.ok(v.candidates.length <= VERIFY_DEFAULTS.maxCandidates);
    assert.match(v.explanation, /highest candidate, so a higher LR may train better still/);
  });

  it('a diverged candidate scores as the worst, and says so', () => {
    const { v } = simulate(1e-2, bowl(2e-2, 2.5e-2));
    assert.ok(v.lr < 2.5e-2);
    assert.ok(v.candidates.some((c) => c.diverged));
    const all = chooseVerified(1, [{ lr: 1, seed: 0, loss: Infinity, diverged: true, steps: 10, signal: 'held-out' }]);
    assert.ok('reason' in all && /every candidate diverged/.test(all.reason));
  });

  it('seeds: each LR is measured with every seed before moving on; mean and spread per LR', () => {
    const results: CandidateResult[] = [];
    const first = nextCandidates(1e-2, results, { seeds: 2 });
    results.push({ lr: first[0], seed: 0, loss: 1, diverged: false, steps: 10, signal: 'validation' });
    assert.deepStrictEqual(nextCandidates(1e-2, results, { seeds: 2 }).length, 1, 'the other seed of the one measured LR first');
    results.push({ lr: first[0], seed: 1, loss: 2, diverged: false, steps: 10, signal: 'validation' });
    const s = summarize(results);
    assert.strictEqual(s[0].loss, 1.5);
    assert.strictEqual(s[0].spread, 1);
  });

  it('a cancelled verify keeps what finished, and says so', () => {
    const v = chooseVerified(1e-2, [
      { lr: 1e-2, seed: 0, loss: 0.5, diverged: false, steps: 250, signal: 'training' },
      { lr: 3e-3, seed: 0, loss: 0.6, diverged: false, steps: 250, signal: 'training' },
    ], {}, true);
    assert.ok('lr' in v);
    assert.strictEqual(v.lr, 1e-2);
    assert.strictEqual(v.partial, true);
    assert.match(v.explanation, /Only 2 candidates finished before the stop/);
    assert.match(v.explanation, /Nothing was held out/);
  });

  it('the budget in words, from the sweep just run', () => {
    assert.strictEqual(describeBudget({}, { steps: 100, seconds: 2 }, 2),
      '5 to 8 trainings of 250 steps: 13 to 20× this sweep\'s 100 steps, about 13 s to 20 s (from this sweep\'s 2.0 s, 2 at a time, plus each training\'s start-up)');
  });
});
