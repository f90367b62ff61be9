/**
 * The recommended LR: unit tests on hand-made curves, and the CI regression guard — the reduced outcome benchmark
 * (`bench/quality.ts --quick`: real trainings, Verify included) must keep the recommendation's and the verified LR's
 * median and worst regret under the thresholds recorded in bench/quality-threshold.json.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeCurve, isSuggestion } from '../../src/core/analysis';
import { scheduleLr } from '../../src/core/fastai';
import { findEdge, recommend, type Recommendation } from '../../src/core/recommend';
import { recommendFromRuns } from '../../src/core/repeats';
import { formatLr } from '../../src/core/format';
import { interpolateLog, medianPick, summarize, summaryTable, type TaskScore } from '../../bench/quality/score';
import { pct, summaryRows, type SummaryBlock } from '../../bench/quality/report';
import { oneCycleLr } from '../../bench/quality/schedule';

const ROOT = path.resolve(__dirname, '../../..');

function lrsOf(n: number, start = 1e-7, end = 10): number[] {
  return Array.from({ length: n }, (_, i) => scheduleLr(i, 100, start, end, 'exponential'));
}

/** A range-test-like curve: flat, a descent centred at `mid` (log10 LR), a minimum, then divergence at `div`. */
function synthetic(mid: number, div: number, noise = 0, seed = 1, n = 100): { lrs: number[]; losses: number[] } {
  const lrs = lrsOf(n);
  let s = seed;
  const rand = () => { s = (s * 16807) % 2147483647; return s / 2147483647 - 0.5; };
  const losses = lrs.map((lr) => {
    const x = Math.log10(lr);
    const fall = 2 / (1 + Math.exp(-(x - mid) * 3)); // loss falls from 2.3 to 0.3 around `mid`
    const blow = x > div ? Math.exp((x - div) * 4) - 1 : 0;
    return 2.3 - fall + blow + noise * rand();
  });
  return { lrs, losses };
}

function rec(lrs: number[], losses: number[]) {
  return recommend(lrs, losses, analyzeCurve(lrs, losses));
}

function isRec(r: unknown): r is Recommendation {
  return !!r && typeof (r as Recommendation).lr === 'number';
}

/** One sentence: no line break, ends with a full stop, no full stop followed by a capital inside it. */
function isOneSentence(s: string): boolean {
  return s.length > 10 && !/\n/.test(s) && /[.!]$/.test(s) && !/[.!?]\s+[A-Z]/.test(s);
}

describe('recommend: the recommended LR on hand-made curves', () => {
  const degenerate: [string, number[], number[]][] = [
    ['no points', [], []],
    ['one point', [1e-3], [1]],
    ['two points', [1e-3, 1e-2], [1, 0.5]],
    ['all NaN', lrsOf(100), new Array(100).fill(NaN)],
    ['Infinity from the start', lrsOf(100), new Array(100).fill(Infinity)],
    ['NaN after 5 points', lrsOf(100), lrsOf(100).map((_, i) => (i < 5 ? 2 - i * 0.1 : NaN))],
    ['constant loss', lrsOf(100), new Array(100).fill(1)],
    ['only rising', lrsOf(100), lrsOf(100).map((_, i) => 1 + i * 0.01)],
    ['only falling', lrsOf(100), lrsOf(100).map((_, i) => 2 - i * 0.01)],
    ['lengths differ', lrsOf(100), [1, 0.9, 0.8]],
    ['zero and negative LRs', [0, -1, 1e-3, 1e-2, 1e-1, 1, 10], [1, 1, 0.9, 0.5, 0.3, 0.6, 5]],
  ];
  for (const [name, lrs, losses] of degenerate) {
    it(`never throws: ${name}`, () => {
      let r: ReturnType<typeof recommend> | undefined;
      assert.doesNotThrow(() => { r = rec(lrs, losses); });
      if (isRec(r)) {
        assert.ok(Number.isFinite(r.lr) && r.lr > 0, `lr ${r.lr}`);
        assert.ok(r.index >= 0 && r.index < Math.min(lrs.length, losses.length), `index ${r.index}`);
        assert.ok(isOneSentence(r.explanation), r.explanation);
        assert.ok(r.method.length > 0);
      } else {
        assert.ok(r && typeof r.reason === 'string' && r.reason.length > 0, 'a reason when there is no recommendation');
      }
    });
  }

  it('never throws on an analysis that does not match the curve', () => {
    const c = synthetic(-3, -1);
    assert.doesNotThrow(() => recommend(c.lrs, c.losses, analyzeCurve([], [])));
    assert.doesNotThrow(() => recommend([], [], analyzeCurve(c.lrs, c.losses)));
  });

  for (const [mid, div] of [[-4, -1], [-3, 0], [-2, 0.5], [-5, -3]]) {
    for (const noise of [0, 0.1]) {
      it(`descent at 1e${mid}, divergence at 1e${div}, noise ${noise}: inside the descent, left of the minimum`, () => {
        const c = synthetic(mid, div, noise);
        const a = analyzeCurve(c.lrs, c.losses);
        const r = recommend(c.lrs, c.losses, a);
        assert.ok(isRec(r), !isRec(r) ? (r as { reason: string }).reason : '');
        const min = a.suggestions.minimumPoint;
        assert.ok(isSuggestion(min));
        assert.ok(r.lr < min.lr, `recommended ${r.lr} < minimum point ${min.lr}`);
        assert.ok(r.index <= min.index);
        assert.ok(Math.log10(r.lr) > mid - 2 && Math.log10(r.lr) < div, `recommended ${r.lr} lies in the useful range (descent 1e${mid}, divergence 1e${div})`);
        assert.ok(isOneSentence(r.explanation), r.explanation);
        assert.strictEqual(c.lrs[r.index] > 0, true);
      });
    }
  }

  it('the median of five estimates: fastai\'s four and a third of the edge, each named in the explanation', () => {
    const c = synthetic(-3, -0.5, 0.02);
    const a = analyzeCurve(c.lrs, c.losses);
    const r = recommend(c.lrs, c.losses, a);
    assert.ok(isRec(r));
    assert.match(r.method, /^median of 5 estimates \((valley|slide|minimum|steep|edge \/ 3)\)$/);
    const picks = (['valley', 'slide', 'minimum', 'steep'] as const).map((m) => {
      const s = a.suggestions[m];
      assert.ok(isSuggestion(s), m);
      assert.ok(r.explanation.includes(`${m} ${formatLr(s.lr)}`), `${m} in: ${r.explanation}`);
      return s.lr;
    });
    const edge = findEdge(c.lrs, c.losses, a);
    assert.ok('lr' in edge);
    const all = [...picks, edge.lr / 3].sort((x, y) => x - y);
    assert.strictEqual(r.lr, all[2]);
    assert.match(r.explanation, /edge\/3 .*; the edge, .* is where the loss stops improving\)/);
    assert.ok(isOneSentence(r.explanation), r.explanation);
    assert.ok(r.lr > 1e-4 && r.lr < 10 ** -0.5, `${r.lr} inside the descent around 1e-3, below the divergence`);
  });

  it('one wild estimate does not move it: an early spike sends fastai\'s steep to the flat start', () => {
    const c = synthetic(-3, -0.5, 0.01);
    c.losses[15] = 30; // one huge loss early in the sweep
    const a = analyzeCurve(c.lrs, c.losses);
    const r = recommend(c.lrs, c.losses, a);
    const steep = a.suggestions.steep;
    assert.ok(isSuggestion(steep) && steep.lr < 1e-5, 'the spike fools fastai\'s steep');
    assert.ok(isRec(r));
    assert.ok(r.lr > 1e-4 && r.lr < 10 ** -0.5, `${r.lr} still inside the descent around 1e-3`);
  });

  it('no clear descent: the median of fastai\'s four, with a warning in the explanation', () => {
    const lrs = lrsOf(100);
    const r = rec(lrs, lrs.map((_, i) => 1 + i * 0.01));
    assert.ok(isRec(r));
    assert.match(r.method, /^median of 4 estimates/);
    assert.match(r.explanation, /never clearly falls/);
    assert.ok(isOneSentence(r.explanation), r.explanation);
  });

  it('a curve still falling at the end of the sweep says so', () => {
    const lrs = lrsOf(100);
    const r = rec(lrs, lrs.map((_, i) => 2 - i * 0.015));
    assert.ok(isRec(r));
    assert.match(r.explanation, /end of the sweep/);
    assert.ok(isOneSentence(r.explanation), r.explanation);
  });

  it('the explanation names the LR it recommends', () => {
    const c = synthetic(-3, -1);
    const r = rec(c.lrs, c.losses);
    assert.ok(isRec(r));
    assert.match(r.explanation, /\d/);
  });

  it('several runs: the median of the per-run recommendations', () => {
    const runs = [synthetic(-4, -2, 0.05, 1), synthetic(-3, -1, 0.05, 2), synthetic(-2, 0, 0.05, 3)];
    const single = runs.map((c) => rec(c.lrs, c.losses)).filter(isRec).map((r) => r.lr).sort((a, b) => a - b);
    const r = recommendFromRuns(runs);
    assert.ok(isRec(r));
    assert.strictEqual(r.lr, single[1]);
    assert.match(r.method, /median of 3 runs/);
    assert.ok(!isRec(recommendFromRuns([])));
    assert.ok(!isRec(recommendFromRuns([{ lrs: [], losses: [] }])));
  });
});

describe('quality benchmark: scoring helpers', () => {
  it('interpolates in log LR and clamps outside the grid', () => {
    const grid = [1e-3, 1e-2, 1e-1];
    const v = [3, 1, 2];
    assert.strictEqual(interpolateLog(grid, v, 1e-2), 1);
    assert.ok(Math.abs(interpolateLog(grid, v, Math.sqrt(1e-3 * 1e-2)) - 2) < 1e-12);
    assert.strictEqual(interpolateLog(grid, v, 1e-9), 3);
    assert.strictEqual(interpolateLog(grid, v, 5), 2);
  });
  it('summarises: a missing suggestion counts as an infinite regret', () => {
    const s = summarize([0.05, 0.2, NaN]);
    assert.strictEqual(s.median, 0.2);
    assert.strictEqual(s.worst, Infinity);
    assert.strictEqual(s.within10, 1);
    assert.strictEqual(s.missing, 1);
  });
  it('verified: missing on tasks recorded without Verify ("–", not counted), ∞ when Verify gave no LR', () => {
    const base = { name: 't', holdout: false, set: 'design' as const, bestLr: {}, bestLoss: {}, picksPerCurve: [], picksK: {} as TaskScore['picksK'], regretMeanK1: {}, regretK: {} };
    const curve = { valley: 0.1, slide: 0.1, minimum: 0.1, steep: 0.1, steepest: 0.1, recommended: 0.2 };
    const scores: TaskScore[] = [
      { ...base, picks: { ...curve }, regret: { onecycle: { ...curve } } },
      { ...base, picks: { ...curve, verified: 1e-3 }, regret: { onecycle: { ...curve, verified: 0.05 } } },
      { ...base, picks: { ...curve, verified: undefined }, regret: { onecycle: { ...curve, verified: NaN } } },
    ];
    const t = summaryTable(scores, 'onecycle');
    assert.strictEqual(t.recommended.n, 3);
    assert.strictEqual(t.verified.n, 2);
    assert.strictEqual(t.verified.worst, Infinity);
    assert.strictEqual(t.verified.within10, 1);
    const none = summaryTable([scores[0]], 'onecycle');
    assert.strictEqual(none.verified.n, 0);
    const block: SummaryBlock = { label: 'design', protocol: 'onecycle', variant: 'single', table: none };
    assert.deepStrictEqual(summaryRows([block]).find((r) => r[0] === 'verified'), ['verified', '–', '–', '–']);
    assert.strictEqual(pct(Infinity), '∞');
  });
  it('median pick of three is the middle one', () => {
    assert.strictEqual(medianPick([1e-2, 1e-4, 1e-3]), 1e-3);
    assert.strictEqual(medianPick([undefined, undefined]), undefined);
  });
  it("one-cycle follows fastai's fit_one_cycle (pct_start 0.25, div 25, div_final 1e5)", () => {
    const total = 400;
    assert.ok(Math.abs(oneCycleLr(0, total, 1) - 1 / 25) < 1e-12);
    assert.ok(Math.abs(oneCycleLr(100, total, 1) - 1) < 1e-12);
    assert.ok(Math.abs(oneCycleLr(50, total, 1) - (1 / 25 + (1 - 1 / 25) / 2)) < 1e-12);
    assert.ok(oneCycleLr(399, total, 1) < 1e-3);
    for (let i = 1; i < 100; i++) assert.ok(oneCycleLr(i, total, 1) > oneCycleLr(i - 1, total, 1));
    for (let i = 101; i < total; i++) assert.ok(oneCycleLr(i, total, 1) < oneCycleLr(i - 1, total, 1));
  });
});

describe('quality benchmark: CI regression guard (real trainings, --quick)', function () {
  this.timeout(15 * 60 * 1000);
  it('the recommendation\'s and the verified LR\'s median and worst one-cycle regret stay under the recorded thresholds', () => {
    const threshold = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/quality-threshold.json'), 'utf8')) as {
      quick: { protocol: 'onecycle'; medianRegretMax: number; worstRegretMax: number; verifiedMedianRegretMax: number; verifiedWorstRegretMax: number };
    };
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-quality-')), 'quick.json');
    const t0 = Date.now();
    const p = spawnSync(process.execPath, [path.join(ROOT, 'out/bench/quality.js'), '--quick', '--json', out], { encoding: 'utf8', cwd: ROOT });
    assert.strictEqual(p.status, 0, `quality --quick failed:\n${p.stderr}\n${p.stdout}`);
    const j = JSON.parse(fs.readFileSync(out, 'utf8')) as {
      results: { summaries: { label: string; protocol: string; variant: string; table: Record<string, { median: number | string; worst: number | string; n: number }> }[] };
    };
    const block = j.results.summaries.find((b) => b.label === 'all' && b.protocol === threshold.quick.protocol && b.variant === 'single');
    assert.ok(block, 'the quick run has a one-cycle summary');
    const median = Number(block.table.recommended.median), worst = Number(block.table.recommended.worst);
    process.stdout.write(`      quick benchmark: ${block.table.recommended.n} tasks, recommended median regret ${(100 * median).toFixed(1)}% ` +
      `(threshold ${(100 * threshold.quick.medianRegretMax).toFixed(1)}%), worst ${(100 * worst).toFixed(1)}% ` +
      `(threshold ${(100 * threshold.quick.worstRegretMax).toFixed(1)}%), ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    assert.ok(median <= threshold.quick.medianRegretMax,
      `recommended median regret ${(100 * median).toFixed(1)}% is above the recorded threshold ${(100 * threshold.quick.medianRegretMax).toFixed(1)}%`);
    assert.ok(worst <= threshold.quick.worstRegretMax,
      `recommended worst regret ${(100 * worst).toFixed(1)}% is above the recorded threshold ${(100 * threshold.quick.worstRegretMax).toFixed(1)}%`);
    // Verify ran on every quick task; its LR is held to its own thresholds.
    const v = block.table.verified;
    assert.strictEqual(v.n, block.table.recommended.n, 'Verify ran on every quick task');
    const vMedian = Number(v.median), vWorst = Number(v.worst);
    process.stdout.write(`      verified median regret ${(100 * vMedian).toFixed(1)}% (threshold ${(100 * threshold.quick.verifiedMedianRegretMax).toFixed(1)}%), ` +
      `worst ${(100 * vWorst).toFixed(1)}% (threshold ${(100 * threshold.quick.verifiedWorstRegretMax).toFixed(1)}%)\n`);
    assert.ok(vMedian <= threshold.quick.verifiedMedianRegretMax,
      `verified median regret ${(100 * vMedian).toFixed(1)}% is above the recorded threshold ${(100 * threshold.quick.verifiedMedianRegretMax).toFixed(1)}%`);
    assert.ok(vWorst <= threshold.quick.verifiedWorstRegretMax,
      `verified worst regret ${(100 * vWorst).toFixed(1)}% is above the recorded threshold ${(100 * threshold.quick.verifiedWorstRegretMax).toFixed(1)}%`);
  });
});
