/** The lr-finder command line on a training config: run, suggest, locate, apply, exit codes (bin/lr-finder.js). */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'bin/lr-finder.js');

describe('lr-finder CLI', function () {
  this.timeout(60000);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });

  it('run prints the curve and the suggestions table', () => {
    const r = cli('run', 'examples/iris/lr-finder.yaml', '--num-iter', '60');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /steepest slope/);
    assert.match(r.stdout, /valley \(fastai\)\s+\d/);
    assert.match(r.stdout, /learning rate \(log scale\)/);
    assert.match(r.stdout, /R recommended {3}S steepest slope {3}M minimum {3}V fastai valley/);
    assert.match(r.stdout, /^\s+[\d.]*\s*│.*R/m, 'the recommendation is marked on the text plot');
    assert.match(r.stdout, /recommended \(ours\)\s+\d/);
  });
  it('run --json streams protocol events', () => {
    const r = cli('run', 'examples/iris/lr-finder.yaml', '--num-iter', '20', '--json');
    assert.strictEqual(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.strictEqual(lines[0].type, 'hello');
    assert.strictEqual(lines.filter((l) => l.type === 'point').length, 20);
    assert.strictEqual(lines[lines.length - 1].type, 'end');
  });
  it('run CONFIG --verify: the budget, each candidate, the verified LR; --json ends with the verified event', () => {
    const r = cli('run', 'examples/iris/lr-finder.yaml', '--num-iter', '60', '--verify', '--verify-steps', '30');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /^verify: 5 to 8 trainings of 30 steps: \S+ to \S+× this sweep's \d+ steps, about .* around the recommendation \S+$/m);
    assert.match(r.stderr, /^verify: 1\/3\+ +LR \S+ +held-out loss \d/m);
    assert.match(r.stdout, /^verified: \S+ trained best of \d candidates after 30 steps of one-cycle \(held-out loss /m);
    const j = cli('run', 'examples/iris/lr-finder.yaml', '--num-iter', '60', '--verify', '--verify-steps', '30', '--json');
    assert.strictEqual(j.status, 0, j.stderr);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const v = lines[lines.length - 1];
    assert.strictEqual(v.type, 'verified');
    assert.strictEqual(lines.filter((l) => l.type === 'candidate').length, v.candidates.length);
    assert.match(r.stdout, new RegExp(`^verified: ${String(v.lr).slice(0, 3).replace('.', '\\.')}`, 'm'), 'deterministic: the same LR both times');
  });
  it('Verify flags: checked, and only with --verify', () => {
    const bad = cli('run', 'examples/iris/lr-finder.yaml', '--verify', '--verify-steps', '3');
    assert.strictEqual(bad.status, 2);
    assert.match(bad.stderr, /--verify-steps is "3"; expected an integer from 10 to 100000/);
    const alone = cli('run', 'examples/iris/lr-finder.yaml', '--verify-seeds', '2');
    assert.strictEqual(alone.status, 2);
    assert.match(alone.stderr, /--verify-seeds is an option of --verify/);
  });
  it('run --html writes a self-contained page with the chart spec and data', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-html-')), 'r.html');
    const r = cli('run', 'examples/iris/lr-finder.yaml', '--num-iter', '30', '--html', out);
    assert.strictEqual(r.status, 0, r.stderr);
    const html = fs.readFileSync(out, 'utf8');
    assert.match(html, /"marks":\[\{"name":"steepest"/);
    assert.ok(!/<script src=/.test(html), 'no external scripts');
    assert.ok(html.length > 100000, 'vega is inlined');
  });
  it('a malformed config exits 2 with file:line:column', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-bad-'));
    fs.writeFileSync(path.join(dir, 'c.yaml'), 'model:\n  layers:\n    - Dense: {units: 3, inputShape: [4]}\ndata: {path: x.csv, label: y}\nloss: mse\noptimizer: {name: adam, learningRate: 0.001}\n');
    const r = cli('run', path.join(dir, 'c.yaml'));
    assert.strictEqual(r.status, 2);
    assert.match(r.stderr, /c\.yaml:5:7: loss is "mse"; expected one of/);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  });
  it('usage errors exit 2', () => {
    assert.strictEqual(cli('run').status, 2);
    assert.strictEqual(cli('frobnicate').status, 2);
    assert.strictEqual(cli('run', 'examples/iris/lr-finder.yaml', '--num-iter', 'lots').status, 2);
  });
  it('suggest --json gives fastai suggestions with indices', () => {
    const r = cli('suggest', 'test/fixtures/curves/torch-iris-sgd.json', '--json');
    assert.strictEqual(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const g = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/curves/torch-iris-sgd.json'), 'utf8'));
    for (const m of ['valley', 'slide', 'minimum', 'steep']) assert.deepStrictEqual(j.suggestions[m], g.fastai.expected[m]);
    assert.ok(j.suggestions.steepest && j.suggestions.steepest.lr > 0);
    assert.strictEqual(j.smoothed.length, g.lrs.length);
  });
  it('suggest on a 2-point curve gives nulls, not a crash', () => {
    const r = cli('suggest', 'test/fixtures/curves/synthetic-immediate-divergence.json', '--json');
    assert.strictEqual(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.strictEqual(j.suggestions.valley, null);
    assert.ok(j.reasons.valley);
  });
});
