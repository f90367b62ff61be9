/**
 * runner/verifyRun.ts with the real tfjs engine (dist/engine.js) in child processes: the rounds core/verify.ts asks
 * for, a cancel that keeps what finished, and a training that fails.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tfjsLaunch } from '../../src/engines/tfjs/launch';
import { VerifyRun } from '../../src/runner/verifyRun';
import { VERIFY_DEFAULTS } from '../../src/core/verify';

const ROOT = path.resolve(__dirname, '../../..');
const ENGINE = path.join(ROOT, 'dist/engine.js');
const IRIS = path.join(ROOT, 'examples/iris/lr-finder.yaml');
const launch = (config: string, steps: number) => (lr: number, seed: number) =>
  tfjsLaunch({ enginePath: ENGINE, configFile: config, args: ['--seed', String(42 + seed), '--verify-lr', String(lr), '--verify-steps', String(steps)] });
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('Verify runner (real tfjs engine)', function () {
  this.timeout(120000);

  it('runs the rounds to a verified LR: every candidate trained once, the lowest held-out loss chosen', async () => {
    const options = { ...VERIFY_DEFAULTS, steps: 40 };
    const seen: number[] = [];
    const out = await new VerifyRun({ center: 0.05, options, parallel: 2, launchFor: launch(IRIS, 40), onCandidate: (r) => seen.push(r.lr) }).done;
    assert.ok(out.verified, out.reason);
    assert.ok(!out.cancelled && !out.error);
    assert.strictEqual(seen.length, out.results.length);
    assert.ok(out.results.length >= 5 && out.results.length <= 8);
    assert.strictEqual(out.verified!.totalSteps, 40 * out.results.length);
    assert.ok(out.results.every((r) => r.signal === 'held-out' && r.steps === 40));
    assert.strictEqual(out.verified!.partial, false);
  });

  it('a cancel stops every training at once and keeps what finished (partial)', async () => {
    const options = { ...VERIFY_DEFAULTS, steps: 3000 };
    let pids: number[] = [];
    const t0 = Date.now();
    // Cancel while the second training is under way (it has sent a point).
    const run: VerifyRun = new VerifyRun({
      center: 0.05, options, parallel: 1, launchFor: launch(IRIS, 3000),
      onEvent: (job, e) => { if (job.index === 1 && e.type === 'point' && !pids.length) { pids = run.pids; void run.cancel(); } },
    });
    const out = await run.done;
    assert.strictEqual(pids.length, 1, 'the second training was running');
    assert.ok(out.cancelled);
    assert.strictEqual(out.results.length, 1, 'the one that finished before the cancel');
    assert.ok(out.verified && out.verified.partial);
    assert.match(out.verified.explanation, /Only 1 candidate finished before the stop/);
    assert.ok(pids.every((p) => !alive(p)), 'no training left running');
    console.log(`      cancelled after ${Date.now() - t0} ms`);
  });

  it('a training that fails ends Verify with its error, naming the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-verify-'));
    const cfg = path.join(dir, 'lr-finder.yaml');
    fs.writeFileSync(cfg, fs.readFileSync(IRIS, 'utf8').replace(/path: .*\.csv/, 'path: missing.csv'));
    const out = await new VerifyRun({ center: 0.05, options: { ...VERIFY_DEFAULTS, steps: 20 }, parallel: 2, launchFor: launch(cfg, 20) }).done;
    fs.rmSync(dir, { recursive: true, force: true });
    assert.ok(out.error, 'an error');
    assert.match(out.error!.message, /missing\.csv/);
    assert.strictEqual(out.verified, undefined);
    assert.ok(!out.cancelled);
  });
});
