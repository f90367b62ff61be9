/**
 * Bad input never gets past one clear message: the file (and line:column, or the CSV row and column) and what was
 * expected, exit code 2 (1 only for a sweep that failed), no stack trace unless --debug, bounded time and memory, and
 * every file of the workspace byte for byte as it was. CLI cases spawn bin/lr-finder.js (`npm run -s build` first).
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseConfigText } from '../../src/engines/tfjs/config';
import { parseCsv } from '../../src/engines/tfjs/dataset';
import { localSlopes, localSlopesReference, runningMedian, runningMedianReference } from '../../src/core/curve';
import { valley } from '../../src/core/fastai';
import { parseCurve } from '../../src/cli/suggest';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'bin/lr-finder.js');
const BAD = path.join(ROOT, 'test/fixtures/bad');

/** Every file under `dir` with its sha256: the workspace "as it was". */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

interface Run { status: number | null; stdout: string; stderr: string; ms: number }

/**
 * Run the CLI in `cwd` (default: the fixtures), with a bounded heap, and check what every bad input must satisfy:
 * the exit code, one message matching `message`, no stack trace, and the workspace unchanged.
 */
function cli(args: string[], opts: { cwd?: string; status?: number; message?: RegExp; workspace?: string } = {}): Run {
  const workspace = opts.workspace ?? BAD;
  const before = snapshot(workspace);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', cwd: opts.cwd ?? BAD, timeout: 60000, maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=1024', LR_FINDER_DEBUG: '' },
  });
  const run = { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
  assert.deepStrictEqual(snapshot(workspace), before, 'every file of the workspace is as it was');
  if (opts.status !== undefined) assert.strictEqual(r.status, opts.status, `exit code (stderr: ${r.stderr})`);
  if (opts.message) {
    assert.match(r.stderr, opts.message);
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('lr-finder:'));
    assert.strictEqual(lines.length, 1, `one message: ${r.stderr}`);
    assert.ok(lines[0].length < 700, `a message, not a dump (${lines[0].length} characters)`);
  }
  return run;
}

const f = (name: string) => path.join(BAD, name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad input: one clear message, exit 2', function () {
  this.timeout(120000);

  describe('numbers that overflow float32 or are infinite', () => {
    it('a CSV value of 1e308 is refused at its row and column', () => {
      cli(['run', 'big-value.yaml'], { status: 2, message: new RegExp(`${f('big-value.csv')}:3:1: row 2, column "a" is "1e308": too large for float32`) });
    });
    it('a CSV value of Infinity is refused at its row and column', () => {
      cli(['run', 'inf-value.yaml'], { status: 2, message: new RegExp(`${f('inf-value.csv')}:6:11: row 5, column "d" is "Infinity": infinite; expected a finite number`) });
    });
    it('batchSize: .inf', () => {
      cli(['run', 'inf-batch.yaml'], { status: 2, message: new RegExp(`${f('inf-batch.yaml')}:13:12: batchSize is \\.inf \\(infinite\\); expected a finite number`) });
    });
    it('endLr: .inf, endLr: 1e308 and a denormal startLr', () => {
      cli(['run', 'inf-endlr.yaml'], { status: 2, message: /inf-endlr\.yaml:17:10: sweep\.endLr is \.inf \(infinite\); expected a finite number/ });
      cli(['run', 'huge-endlr.yaml'], { status: 2, message: /huge-endlr\.yaml:17:10: sweep\.endLr is 1e\+308; expected an LR from 1e-30 to 1e30/ });
      cli(['run', 'denormal-startlr.yaml'], { status: 2, message: /denormal-startlr\.yaml:16:12: sweep\.startLr is 1e-320; expected an LR from 1e-30 to 1e30/ });
    });
    it('an LR flag outside 1e-30..1e30', () => {
      cli(['run', 'good.yaml', '--start-lr', '1e-320'], { status: 2, message: /good\.yaml: start LR 1e-320 \(--start-lr\) is out of range; expected an LR from 1e-30 to 1e30/ });
    });
    it('NaN anywhere in the config (a layer\'s rate: .nan)', () => {
      cli(['run', 'nan-rate.yaml'], { status: 2, message: /nan-rate\.yaml:4:24: model\.layers\.1\.Dropout\.rate is \.nan \(not a number\); expected a finite number/ });
    });
    it('every non-finite number is named at its position (parseConfigText, as the Problems panel shows it)', () => {
      const text = fs.readFileSync(path.join(BAD, 'good.yaml'), 'utf8').replace('learningRate: 0.001', 'learningRate: -.inf').replace('seed: 1', 'seed: .nan');
      const r = parseConfigText('c.yaml', text);
      assert.ok(!r.config);
      assert.deepStrictEqual(r.issues.map((i) => [i.line, i.key]), [[12, 'optimizer.learningRate'], [14, 'seed']]);
      assert.match(r.issues[0].message, /optimizer\.learningRate is -\.inf \(infinite\); expected a finite number/);
    });
  });

  describe('our messages, not tfjs\' or the YAML parser\'s', () => {
    it('a single class with units: 1 cannot be learned (at data.label)', () => {
      cli(['run', 'one-class.yaml'], { status: 2, message: /one-class\.yaml:7:10: column "species" of .*one-class\.csv has a single class \("setosa"\); a single class cannot be learned/ });
    });
    it('a YAML alias bomb: file and line, at once', () => {
      const r = cli(['run', 'alias-bomb.yaml'], { status: 2, message: /alias-bomb\.yaml:10:8: YAML alias \*b8 expands to millions of nodes \(an alias bomb\)/ });
      assert.ok(r.ms < 30000, `${r.ms} ms`);
    });
    it('thousands of nested brackets or indentation levels: nested too deeply, not a stack overflow', () => {
      let block = '';
      for (let i = 0; i < 5000; i++) block += `${' '.repeat(i)}k${i}:\n`;
      assert.match(parseConfigText('b.yaml', block).issues[0].message, /nested more than 200 levels deep/);
      for (const [file, text] of [['c.yaml', `model: ${'['.repeat(100000)}${']'.repeat(100000)}\n`], ['c.json', `{"model": ${'['.repeat(100000)}${']'.repeat(100000)}}`]]) {
        const r = parseConfigText(file, text);
        assert.ok(!r.config);
        assert.match(r.issues[0].message, /the config is nested more than 200 levels deep here/);
        assert.strictEqual(r.issues[0].line, 1);
      }
    });
    it('a Dense layer with a billion units is "too large" at that layer, before anything is allocated', () => {
      const r = cli(['run', 'billion-units.yaml'], { status: 2, message: /billion-units\.yaml:3:7: layer 1 \(Dense: units 1,000,000,000\) is too large: 5,000,000,000 parameters/ });
      assert.ok(r.ms < 30000, `${r.ms} ms`);
    });
  });

  describe('lr-finder suggest validates the curve like a config', () => {
    const cases: [string, RegExp][] = [
      ['non-monotonic.json', /non-monotonic\.json:1:\d+: lrs\[41\] is [\d.e-]+, not above lrs\[40\] \([\d.e-]+\); expected increasing LRs/],
      ['beta-7.json', /beta-7\.json:1:\d+: config\.beta is 7; expected a number from 0 to below 1/],
      ['num-it-negative.json', /num-it-negative\.json:1:\d+: config\.num_it is -5; expected a whole number of steps/],
      ['start-lr-string.json', /start-lr-string\.json:1:\d+: config\.start_lr is "x"; expected an LR from 1e-30 to 1e30/],
      ['empty.json', /empty\.json:1:\d+: "lrs" and "losses" are empty; expected a curve of at least 2 points/],
      ['one-point.json', /one-point\.json:1:\d+: "lrs" and "losses" hold 1 point/],
      ['length-mismatch.json', /"lrs" has 100 values but "losses" has 97; expected the same length/],
      ['tiny-lr.json', /tiny-lr\.json:1:\d+: lrs\[0\] is 1e-40; expected an LR from 1e-30 to 1e30/],
      ['unknown-key.json', /unknown key "config\.smoothing"; did you mean "beta"\?/],
      ['bad-loss.json', /bad-loss\.json:1:\d+: losses\[7\] is "lots"; expected a number, null, "NaN" or "Infinity"/],
    ];
    for (const [file, message] of cases) {
      it(file, () => { cli(['suggest', path.join('curves', file), '--json'], { status: 2, message }); });
    }
    it('--debug adds the stack trace', () => {
      const r = cli(['suggest', 'curves/empty.json', '--debug']);
      assert.strictEqual(r.status, 2);
      assert.match(r.stderr, /\n\s+at /);
    });
    it('the line and column point at the offending value', () => {
      const text = '{\n  "lrs": [0.001, 0.01, 0.1],\n  "losses": [1, 2, 3],\n  "config": {"beta": 7}\n}\n';
      assert.throws(() => parseCurve(text, 'c.json'), /^LocatedError: c\.json:4:22: config\.beta is 7/);
    });
  });

  describe('the workspace root does not depend on the current directory', () => {
    it('a ../ data path is refused from the workspace folder and from its parent alike', () => {
      const want = /outside\.yaml:6:9: data\.path "\.\.\/iris30\.csv" resolves to .*iris30\.csv, outside the workspace folder .*ws; expected a file inside it/;
      cli(['run', 'outside.yaml'], { cwd: path.join(BAD, 'ws'), status: 2, message: want });
      cli(['run', 'ws/outside.yaml'], { cwd: BAD, status: 2, message: want });
      cli(['run', path.join(BAD, 'ws/outside.yaml')], { cwd: os.tmpdir(), status: 2, message: want });
    });
    it('unless the user says --root', () => {
      const r = cli(['run', 'ws/outside.yaml', '--root', '.', '--num-iter', '6'], { cwd: BAD });
      assert.strictEqual(r.status, 0, r.stderr);
    });
  });

  describe('clearer messages', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-badinput-'));
      for (const name of ['good.yaml', 'iris30.csv']) fs.copyFileSync(path.join(BAD, name), path.join(dir, name));
      let seed = 42;
      const bytes = (n: number, lo: number, hi: number) => Buffer.from(Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) % 2147483648; return lo + (seed % (hi - lo + 1)); }));
      fs.writeFileSync(path.join(dir, 'random.csv'), bytes(4096, 0, 255));
      fs.writeFileSync(path.join(dir, 'latin.csv'), bytes(4096, 0x80, 0xff));
      fs.writeFileSync(path.join(dir, 'random.lr-finder.yaml'), Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n'), bytes(8192, 0, 255)]));
      const cfg = fs.readFileSync(path.join(BAD, 'good.yaml'), 'utf8');
      fs.writeFileSync(path.join(dir, 'random.yaml'), cfg.replace('iris30.csv', 'random.csv'));
      fs.writeFileSync(path.join(dir, 'latin.yaml'), cfg.replace('iris30.csv', 'latin.csv'));
      fs.mkdirSync(path.join(dir, 'folder.yaml'));
    });
    const run = (args: string[], status: number, message: RegExp) => cli(args, { cwd: dir, workspace: dir, status, message });

    it('random bytes as the CSV: not a text file (not "unterminated quoted field")', () => {
      run(['run', 'random.yaml'], 2, /random\.csv:\d+:\d+: not a text file \(it holds NUL bytes, as binary data does\); expected a CSV file with a header row/);
      run(['run', 'latin.yaml'], 2, /latin\.csv:\d+:\d+: not a text file \(it is not valid UTF-8, as binary data is not\)/);
    });
    it('a binary config is not quoted: it is not a text file', () => {
      run(['run', 'random.lr-finder.yaml'], 2, /random\.lr-finder\.yaml:\d+:\d+: not a text file .*; expected a YAML or JSON training config/);
    });
    it('a missing config is "not found", a folder "is a folder", with the path', () => {
      run(['run', 'nothere.yaml'], 2, new RegExp(`config ${path.join(fs.realpathSync(dir), 'nothere.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} not found`));
      run(['run', 'folder.yaml'], 2, /config .*folder\.yaml is a folder; expected a YAML or JSON training config/);
      run(['suggest', 'nothere.json'], 2, /curve nothere\.json not found/);
    });
    it('a 1-row CSV: fewer rows than needed', () => {
      cli(['run', 'one-row.yaml'], { status: 2, message: /one-row\.yaml:6:9: .*one-row\.csv has 1 data row, fewer than needed: a range test needs at least 2 training rows/ });
    });
    it('a JSON-named file holding YAML says so', () => {
      cli(['run', 'yaml-in.lr-finder.json'], { status: 2, message: /yaml-in\.lr-finder\.json:1:1: JSON syntax error: .*holds YAML, not JSON: rename it to yaml-in\.lr-finder\.yaml/ });
    });
    it('several bad CSV rows: the first few and how many', () => {
      cli(['run', 'many-bad.yaml'], { status: 2, message: /many-bad\.csv:4:1: row 3, column "a" is "n\/a": not a number; .*Also line 7 column "a" \("n\/a"\), line 8 .*, line 13 .*, line 19 .* and 2 more: 7 values that are not finite numbers in all/ });
      cli(['run', 'ragged.yaml'], { status: 2, message: /ragged\.csv:4:1: row has 6 fields; expected 5 as in the header .*Also line 10 \(4\), line 22 \(7\): 3 rows with another number of fields in all/ });
    });
    it('a semicolon-separated CSV is read as such; decimal commas are named', () => {
      const r = cli(['run', 'semicolon.yaml', '--num-iter', '6'], { status: 0 });
      assert.match(r.stdout, /completed after 6 steps/);
      cli(['run', 'decimal-comma.yaml'], { status: 2, message: /decimal-comma\.csv:2:1: row 1, column "a" is "5,1": not a number \(a decimal comma\? write 5\.1; the file is read as ";"-separated\)/ });
    });
    it('an unterminated quote is named where it opens', () => {
      cli(['run', 'unterminated.yaml'], { status: 2, message: /unterminated\.csv:5:17: a quoted field starts here and is never closed/ });
    });
    it('CSV parsing: delimiters, quotes and cell positions', () => {
      const csv = parseCsv('x;y;"la;bel"\n1;2;"a\nb"\n3;4;c\n', 'f.csv');
      assert.strictEqual(csv.delimiter, ';');
      assert.deepStrictEqual(csv.header, ['x', 'y', 'la;bel']);
      assert.deepStrictEqual(csv.rows, [['1', '2', 'a\nb'], ['3', '4', 'c']]);
      assert.deepStrictEqual(csv.lines, [2, 4]);
      assert.deepStrictEqual(csv.position(1, 2), { line: 4, column: 5 });
      assert.deepStrictEqual(parseCsv('a,b\n1,x"y\n', 'g.csv').rows, [['1', 'x"y']], 'a quote inside a field is an ordinary character');
    });
  });
});

describe('the analysis is O(n log n): same results, long curves in bounded time', function () {
  this.timeout(120000);
  let seed = 11;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  const curve = (n: number, decades = 8) => {
    const lrs = Array.from({ length: n }, (_, i) => 1e-7 * Math.pow(10, (decades * i) / n));
    const losses = lrs.map((lr) => { const x = Math.log10(lr); return 2.3 - 1.8 / (1 + Math.exp(-(x + 3) * 2.5)) + (x > -0.5 ? Math.exp((x + 0.5) * 3) - 1 : 0) + 0.05 * (rnd() - 0.5); });
    return { lrs, losses };
  };

  it('runningMedian and localSlopes are bit-identical to their definitions (NaN, ±Infinity, ±0, ties, equal LRs)', () => {
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 300);
      const ys = Array.from({ length: n }, () => {
        const r = rnd();
        return r < 0.05 ? NaN : r < 0.08 ? Infinity : r < 0.1 ? -Infinity : r < 0.15 ? 0 : r < 0.18 ? -0 : trial % 2 ? Math.round(rnd() * 4) : rnd() * 3;
      });
      const k = trial % 4 === 0 ? 49 + Math.floor(rnd() * 100) : Math.floor(rnd() * 30); // both of runningMedian's paths
      assert.ok(same(runningMedian(ys, k), runningMedianReference(ys, k)), `median n=${n} k=${k}`);
      const lrs = Array.from({ length: n }, (_, i) => 1e-7 * Math.pow(10, ((rnd() * 10 + 0.01) * i) / n));
      if (trial % 3 === 0) for (let i = 1; i < n; i++) if (rnd() < 0.1) lrs[i] = lrs[i - 1];
      for (const h of [0.2, 0.05]) assert.ok(same(localSlopes(lrs, ys, h), localSlopesReference(lrs, ys, h)), `slopes n=${n} h=${h}`);
      const shuffled = lrs.slice().reverse();
      assert.ok(same(localSlopes(shuffled, ys), localSlopesReference(shuffled, ys)), 'decreasing LRs: the definition itself');
    }
  });
  it('runningMedian on long curves: each of its three ways (insertion, rank walk, Fenwick tree) gives the definition', () => {
    for (const [n, k] of [[9000, 40], [9000, 300], [9000, 60]]) { // 60: a window of 1/74 of the points, the Fenwick tree's
      const ys = Array.from({ length: n }, (_, i) => (i % 97 === 0 ? NaN : i % 89 === 0 ? -0 : Math.round(rnd() * 50) / 10));
      assert.ok(same(runningMedian(ys, k), runningMedianReference(ys, k)), `n=${n} k=${k}`);
    }
  });
  it("fastai's valley in O(n log n) picks what fastai's double loop picks (float32 and double losses, NaN, ±Infinity, ±0, ties)", () => {
    /** fastai/callback/schedule.py valley, loop for loop. */
    const reference = (lrs: number[], losses: number[]) => {
      const n = losses.length, lds = new Array<number>(n).fill(1);
      let maxStart = 0, maxEnd = 0;
      for (let i = 1; i < n; i++) {
        for (let j = 0; j < i; j++) {
          if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
          if (lds[maxEnd] < lds[i]) { maxEnd = i; maxStart = maxEnd - lds[maxEnd]; }
        }
      }
      const sections = (maxEnd - maxStart) / 3;
      const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
      return idx >= 0 && idx < n ? lrs[idx] : undefined;
    };
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rnd() * 200);
      const float32 = trial % 2 === 0;
      const losses = Array.from({ length: n }, () => {
        const r = rnd();
        const v = r < 0.04 ? NaN : r < 0.06 ? Infinity : r < 0.08 ? -Infinity : r < 0.12 ? 0 : r < 0.15 ? -0 : trial % 3 ? Math.round(rnd() * 6) / 2 : 3 - rnd() * 2;
        return float32 ? Math.fround(v) : v;
      });
      const lrs = losses.map((_, i) => 1e-7 * 10 ** (i / 20));
      const got = valley(lrs, losses);
      assert.strictEqual(typeof got === 'string' ? undefined : got.lr, reference(lrs, losses), `trial ${trial} (${float32 ? 'float32' : 'double'})`);
    }
  });
  it('on a dense curve the slopes from the expansion agree with the pairwise sums to rounding', () => {
    for (const decades of [0.5, 2, 8, 12]) {
      const { lrs, losses } = curve(4000, decades);
      if (decades === 2) for (let i = 0; i < losses.length; i += 37) losses[i] = i % 2 ? NaN : Infinity; // gaps in the sums
      if (decades === 8) for (let i = 1; i < lrs.length; i += 53) lrs[i] = lrs[i - 1]; // repeated LRs
      const exact = localSlopes(lrs, losses, 0.2, Infinity), dense = localSlopes(lrs, losses, 0.2, 0);
      exact.forEach((v, i) => assert.ok(Object.is(v, dense[i]) || Math.abs(v - dense[i]) < 1e-12 * Math.max(1, Math.abs(v)), `${decades} decades, point ${i}: ${v} vs ${dense[i]}`));
    }
  });
  it('200,000 points: median and slopes (minutes each at the old O(n^2) speed)', () => {
    const { lrs, losses } = curve(200000);
    const m = runningMedian(losses, Math.floor(200000 / 25));
    const s = localSlopes(lrs, m);
    assert.ok(s.filter(Number.isFinite).length > 199000);
    assert.ok(s.slice(50000, 120000).reduce((a, b) => Math.min(a, b), Infinity) < -0.5, 'the descent is found');
  });
  it('200,000 points through lr-finder suggest', function () {
    // fastai's valley (src/core/fastai.ts) is O(n log n) too; the probe guards against it becoming quadratic again.
    const probe = curve(20000);
    const t0 = Date.now();
    valley(probe.lrs, probe.losses);
    assert.ok(Date.now() - t0 < 2000, `valley on 20,000 points took ${Date.now() - t0} ms`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-long-'));
    const file = path.join(dir, 'long.json');
    fs.writeFileSync(file, JSON.stringify(curve(200000)));
    const r = cli(['suggest', file, '--json'], { workspace: dir, status: 0 });
    const j = JSON.parse(r.stdout);
    assert.strictEqual(j.smoothed.length, 200000);
    assert.ok(j.suggestions.recommended && j.suggestions.recommended.lr > 0);
  });
});
