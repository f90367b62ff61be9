/**
 * The wiring between the pure parts: the panel's outbox (ready queue and batching), the sweep view the panel renders
 * in each state, the chart rows and annotations, repeated sweeps (median curve, band, suggestions from the runs, the
 * runner's combine()).
 */
import * as assert from 'assert';
import { FASTAI_DEFAULTS } from '../../src/core/analysis';
import { markRows, yDomain, analysisRows } from '../../src/core/chartSpec';
import { PointsMessage, SnapshotMessage, type SweepView } from '../../src/core/messages';
import { Outbox } from '../../src/core/outbox';
import type { PointEvent } from '../../src/core/protocol';
import { medianRun, runBand, suggestionsFromRuns, recommendFromRuns } from '../../src/core/repeats';
import { analyzeRecord, buildView, statusText, type SweepRecord } from '../../src/core/sweepView';
import { combine } from '../../src/runner/repeatedSweep';
import type { SweepOutcome } from '../../src/runner/sweepProcess';

function curve(shift = 0, n = 100): PointEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const lr = 1e-7 * Math.pow(1e8, i / n);
    const x = Math.log10(lr) + 2 + shift;
    return { type: 'point' as const, iteration: i, lr, loss: 1 + 0.3 * Math.tanh(-x) + (x > 1 ? (x - 1) ** 3 : 0) + 0.002 * Math.sin(i * 12.9) };
  });
}

const settings = { ...FASTAI_DEFAULTS };
const view = (rows = 0): SweepView => ({ title: 't', subtitle: '', status: 'running', statusText: '', rows: Array.from({ length: rows }, (_, i) => ({ i, lr: 1, loss: 1, smoothed: 1 })), marks: [], tangent: [], showValidation: false, suggestions: [], target: '', digits: 2 });

describe('panel outbox: ready queue and batching', () => {
  function setup() {
    const sent: { method: string; params: unknown }[] = [];
    const timers: (() => void)[] = [];
    const box = new Outbox((m) => sent.push(m as never), { set: (f) => timers.push(f), clear: () => { timers.length = 0; } });
    return { sent, timers, box };
  }
  it('holds everything until ready, then sends the latest snapshot alone, with every point in it', () => {
    const { sent, box } = setup();
    box.setView(view(0));
    box.pushPoints([{ i: 0, lr: 1, loss: 1, smoothed: 1 }], 's1', false);
    box.pushPoints([{ i: 1, lr: 2, loss: 1, smoothed: 1 }], 's2', false);
    box.flush();
    box.send({ method: 'pickResult', params: {} });
    assert.strictEqual(sent.length, 0);
    box.onReady();
    assert.deepStrictEqual(sent.map((m) => m.method), ['snapshot', 'pickResult']);
    const snap = sent[0].params as SweepView;
    assert.strictEqual(snap.rows.length, 2, 'the snapshot carries the points: no points message repeats them');
    assert.strictEqual(snap.statusText, 's2');
  });
  it('after ready, points go in batches: one message per timer tick, none lost', () => {
    const { sent, timers, box } = setup();
    box.onReady();
    box.setView(view(0));
    for (let i = 0; i < 25; i++) box.pushPoints([{ i, lr: i + 1, loss: 1, smoothed: 1 }], `s${i}`, false);
    assert.strictEqual(timers.length, 1, 'one timer for the batch');
    timers.shift()!();
    const points = sent.filter((m) => PointsMessage.is(m));
    assert.strictEqual(points.length, 1);
    assert.strictEqual((points[0].params as { rows: unknown[] }).rows.length, 25);
    box.pushPoints([{ i: 25, lr: 26, loss: 1, smoothed: 1 }], 'last', true);
    box.setView(view(0)); // a new snapshot flushes what is pending first
    assert.deepStrictEqual(sent.slice(-2).map((m) => m.method), ['points', 'snapshot']);
    assert.ok(SnapshotMessage.is(sent[sent.length - 1]));
  });
});

describe('sweep view', () => {
  const record = (over: Partial<SweepRecord> = {}): SweepRecord => ({ configPath: '/w/train.py', configName: 'train.py', settings, points: [], repeats: 1, ...over });
  it('says what state a sweep is in', () => {
    assert.strictEqual(statusText(record()), 'Starting…');
    assert.match(statusText(record({ points: curve().slice(0, 5) })), /^Running: step 5 of 100/);
    assert.match(statusText(record({ points: curve(), end: { type: 'end', reason: 'diverged', points: 100, seconds: 1.23, skipped: 2 }, notice: 'Your folder is as it was.' })),
      /^100 steps, stopped: the loss diverged, 2 skipped by GradScaler \(1\.2 s\)\. Your folder is as it was\.$/);
    assert.match(statusText(record({ error: 'boom', notice: 'n' })), /^Failed: boom\. n$/);
  });
  it('a running view has live rows and no suggestions; a finished one has annotations and the starred suggestion first', () => {
    const running = buildView(record({ points: curve().slice(0, 30) }), { recommended: 'recommended', digits: 2, target: 'x' });
    assert.strictEqual(running.status, 'running');
    assert.strictEqual(running.rows.length, 30);
    assert.deepStrictEqual(running.suggestions, []);
    const done = buildView(record({ points: curve(), end: { type: 'end', reason: 'completed', points: 100 } }), { recommended: 'steepest', digits: 2, target: 'x' });
    assert.strictEqual(done.status, 'done');
    assert.strictEqual(done.suggestions[0].name, 'steepest');
    assert.ok(done.marks.some((m) => m.name === 'steepest' && m.recommended));
    assert.ok(done.yDomain && done.yDomain[0] < done.yDomain[1]);
  });
});

describe('chart rows', () => {
  it('rows carry the smoothed loss and the slope; non-finite values become null; the y-range ignores them', () => {
    const pts = curve();
    pts[50] = { ...pts[50], loss: NaN };
    const a = analyzeRecord({ configPath: '', configName: '', settings, points: pts });
    const rows = analysisRows(pts.map((p) => p.lr), pts.map((p) => p.loss), undefined, a);
    assert.strictEqual(rows[50].loss, null);
    assert.ok(rows.slice(0, 50).every((r) => typeof r.smoothed === 'number'));
    const d = yDomain([3, 2, null, 1]);
    assert.ok(d && d[0] < 1 && d[1] >= 3, String(d));
    const clipped = yDomain([1, 0.5, 0.4, 1e6]); // a divergence tail does not flatten the valley
    assert.ok(clipped && clipped[1] < 10, String(clipped));
    const marks = markRows(a, 'recommended');
    assert.ok(marks.length >= 2 && marks.every((m) => Number.isFinite(m.loss)));
  });
});

describe('repeated sweeps', () => {
  const runs = [curve(0), curve(0.1), curve(-0.1)];
  it('the median curve is the per-step median, as long as most runs go on', () => {
    const m = medianRun(runs);
    assert.strictEqual(m.length, 100);
    assert.strictEqual(m[10].loss, runs.map((r) => r[10].loss).sort((a, b) => a - b)[1]);
    assert.strictEqual(medianRun([curve(0, 10), curve(0, 4), curve(0, 3)]).length, 4);
    const band = runBand(runs, 100, 0.98);
    assert.ok(band.every((b) => b.lo <= b.hi));
  });
  it('suggestions come from the runs: each the median of the runs\' own picks, the recommendation from recommendFromRuns', () => {
    const m = medianRun(runs);
    const s = suggestionsFromRuns(runs, settings, m.map((p) => p.lr));
    const rec = recommendFromRuns(runs.map((r) => ({ lrs: r.map((p) => p.lr), losses: r.map((p) => p.loss) })), settings);
    assert.ok('lr' in s.recommended && 'lr' in rec && s.recommended.lr === rec.lr);
    const own = runs.map((r) => analyzeRecord({ configPath: '', configName: '', settings, points: r }).suggestions.valley).map((v) => ('lr' in v ? v.lr : NaN)).sort((a, b) => a - b);
    assert.ok('lr' in s.valley && s.valley.lr === own[1]);
    // And that is what the panel shows for a repeated record.
    const a = analyzeRecord({ configPath: '', configName: '', settings, points: m, runs, repeats: 3, end: { type: 'end', reason: 'completed', points: 100 } });
    assert.deepStrictEqual(a.suggestions.valley, s.valley);
  });
  it('combine(): one failing run fails the whole; otherwise the median curve with every run', () => {
    const ok = (points: PointEvent[]): SweepOutcome => ({ points, end: { type: 'end', reason: 'completed', points: points.length, seconds: 1 }, exitCode: 0, signal: null, stderrTail: [], cancelled: false });
    const c = combine([ok(runs[0]), ok(runs[1]), ok(runs[2])], false);
    assert.strictEqual(c.runs.length, 3);
    assert.strictEqual(c.points.length, 100);
    assert.strictEqual(c.end?.reason, 'completed');
    const bad: SweepOutcome = { points: [], error: { type: 'error', message: 'x' }, exitCode: 1, signal: null, stderrTail: [], cancelled: false };
    assert.strictEqual(combine([ok(runs[0]), bad], false).error?.message, 'x');
    assert.strictEqual(combine([ok(runs[0]), ok(runs[1])], true).end?.reason, 'cancelled');
  });
});
