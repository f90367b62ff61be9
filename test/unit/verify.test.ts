import * as assert from 'assert';
import { FASTAI_DEFAULTS } from '../../src/core/analysis';
import { buildView, type SweepRecord } from '../../src/core/sweepView';
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
    assert.match(v.explanation, /trained best of 5 candidates after 250 steps of one-cycle \(held-out loss 0\.3\d*\); \S+ trained worse \(0\.\d+\); \S+ learned more slowly/);
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

  it('says "overfit" when a higher LR trained lower but held out worse', () => {
    const r = (lr: number, loss: number, trainLoss: number): CandidateResult => ({ lr, seed: 0, loss, trainLoss, diverged: false, steps: 250, signal: 'held-out' });
    const v = chooseVerified(1e-2, [r(1e-2 / Math.sqrt(10), 0.5, 0.5), r(1e-2, 0.33, 0.3), r(1e-2 * Math.sqrt(10), 0.41, 0.1)]);
    assert.ok('lr' in v);
    assert.match(v.explanation, /; 0\.032 overfit \(0\.41 though its training loss was lower, 0\.1 vs 0\.3\); 3\.2e-3 learned more slowly \(0\.5\)\./);
  });

  it('candidates that all end at the same loss (a training that did not move) measure nothing: no verified LR, the recommendation stands', () => {
    const results: CandidateResult[] = [];
    const next = nextCandidates(2e-4, results);
    for (const lr of next) results.push({ lr, seed: 0, loss: 6.199, trainLoss: 6.254, diverged: false, steps: 250, signal: 'held-out' });
    assert.deepStrictEqual(nextCandidates(2e-4, results), [], 'no widening on a flat result');
    const v = chooseVerified(2e-4, results);
    assert.ok('reason' in v && /ended at the same held-out loss, 6\.199: the training did not move .* the recommendation stands/.test(v.reason), JSON.stringify(v));
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
      '5 to 8 trainings of 250 steps: 13 to 20× this sweep\'s 100 steps, about 13 s to 20 s (from this sweep\'s 2.0 s, plus each training\'s start-up; 2 at a time)');
    // A script's start-up (import torch, loading data) is measured from the sweep's wall time: (5 × (5 + 3)) / 2 = 20 s.
    assert.strictEqual(describeBudget({}, { steps: 100, seconds: 2, startup: 3 }, 2),
      '5 to 8 trainings of 250 steps: 13 to 20× this sweep\'s 100 steps, about 20 s to 32 s (from this sweep\'s 2.0 s and its start-up, 3.0 s; 2 at a time)');
  });
});

describe('verify in the panel view (sweepView)', () => {
  const points = Array.from({ length: 100 }, (_, i) => {
    const lr = 1e-7 * Math.pow(1e8, i / 100);
    const x = Math.log10(lr) + 2;
    return { type: 'point' as const, iteration: i, lr, loss: 1 + 0.3 * Math.tanh(-x) + (x > 1 ? (x - 1) ** 3 : 0) };
  });
  const base: SweepRecord = {
    configPath: '/w/train.py', configName: 'train.py', settings: { ...FASTAI_DEFAULTS }, points,
    end: { type: 'end', reason: 'completed', points: 100, seconds: 2 },
  };
  const opts = { recommended: 'recommended' as const, digits: 2, target: 'x', verify: VERIFY_DEFAULTS, parallel: 2 };

  it('before it runs: the budget, no candidates', () => {
    const v = buildView(base, opts);
    assert.strictEqual(v.verify?.status, 'ready');
    assert.match(v.verify!.budget, /^Verify trains 5 to 8 trainings of 250 steps: 13 to 20× this sweep's 100 steps, about/);
    assert.strictEqual(v.suggestions[0].name, 'recommended');
  });

  it('done: the verified LR is the first suggestion (what Insert Suggested writes), marked on the curve, with its sentence and chart rows', () => {
    const center = buildView(base, opts).suggestions[0].lr!;
    const results: CandidateResult[] = [];
    for (let g = 0; g < 20; g++) {
      const next = nextCandidates(center, results);
      if (!next.length) break;
      for (const lr of next) results.push({ lr, seed: 0, loss: 0.3 + Math.log10(lr / (center / 3)) ** 2, diverged: false, steps: 250, signal: 'held-out' });
    }
    const verified = chooseVerified(center, results) as Verified;
    const v = buildView({ ...base, verify: { status: 'done', options: VERIFY_DEFAULTS, center, results, planned: results.length, verified } }, opts);
    assert.strictEqual(v.suggestions[0].name, 'verified');
    assert.strictEqual(v.suggestions[0].lr, verified.lr);
    assert.ok(v.suggestions[0].recommended && v.suggestions.slice(1).every((s) => !s.recommended));
    const mark = v.marks.find((m) => m.name === 'verified');
    assert.ok(mark && mark.recommended && mark.lr === verified.lr);
    assert.ok(v.marks.filter((m) => m.recommended).length === 1, 'one star');
    assert.strictEqual(v.verify?.status, 'done');
    assert.strictEqual(v.verify?.text, verified.explanation);
    assert.strictEqual(v.verify?.rows.length, verified.candidates.length);
    assert.strictEqual(v.verify?.rows.filter((r) => r.best).length, 1);
  });

  it('a cancelled sweep offers no Verify; a running Verify shows its progress', () => {
    assert.strictEqual(buildView({ ...base, end: { type: 'end', reason: 'cancelled', points: 100 } }, opts).verify, undefined);
    const running = buildView({ ...base, verify: { status: 'running', options: VERIFY_DEFAULTS, center: 1e-2, planned: 3, results: [{ lr: 1e-2, seed: 0, loss: 0.5, diverged: false, steps: 250, signal: 'held-out' }] } }, opts);
    assert.match(running.verify!.text, /^Verifying: 1 of 3\+ trainings done \(last: 0\.01 → 0\.5/);
  });
});
