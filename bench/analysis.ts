/**
 * How long the analysis of a long curve takes: analyzeCurve in-process (each phase timed: the running median, the
 * local slopes, fastai's valley) and `lr-finder suggest` end to end (reading the JSON file, checking it, the analysis,
 * the text plot and table), for 10k, 100k and 1M points.
 *
 *   npm run bench:analysis [-- --sizes 10000,1000000 --repeats 3 --json]
 *
 * The curve is a seeded synthetic range test (a falling sigmoid, divergence after 0.3, noise): the same one
 * test/unit/badInput.test.ts uses. numIter is the number of points, as `suggest` assumes for a curve without a config,
 * so the running median's window is 1/25 of the curve (the analysis' most expensive setting).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { analyzeCurve } from '../src/core/analysis';
import { localSlopes, runningMedian } from '../src/core/curve';
import { smoothLosses, trimForSuggestions, valley } from '../src/core/fastai';

function curve(n: number, decades = 8): { lrs: number[]; losses: number[] } {
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const lrs = Array.from({ length: n }, (_, i) => 1e-7 * Math.pow(10, (decades * i) / n));
  const losses = lrs.map((lr) => {
    const x = Math.log10(lr);
    return 2.3 - 1.8 / (1 + Math.exp(-(x + 3) * 2.5)) + (x > -0.5 ? Math.exp((x + 0.5) * 3) - 1 : 0) + 0.05 * (rnd() - 0.5);
  });
  return { lrs, losses };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const time = (f: () => unknown) => { const t = performance.now(); f(); return (performance.now() - t) / 1000; };

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const sizes = (flag('--sizes') ?? '10000,100000,1000000').split(',').map(Number);
  const repeats = Number(flag('--repeats') ?? 3);
  const json = args.includes('--json');
  if (sizes.some((n) => !Number.isInteger(n) || n < 10) || !(repeats >= 1)) {
    process.stderr.write('usage: analysis [--sizes 10000,100000,1000000] [--repeats 3] [--json]\n');
    process.exit(2);
  }
  const cli = path.join(__dirname, '..', 'bin', 'lr-finder.js'); // dist/ is beside bin/
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrf-bench-analysis-'));
  const rows: Array<Record<string, number>> = [];
  const load = os.loadavg()[0];
  try {
    for (const n of sizes) {
      const { lrs, losses } = curve(n);
      const k = Math.max(2, Math.floor(n / 25));
      const r = { points: n, median: [] as number[], slopes: [] as number[], valley: [] as number[], analyze: [] as number[], suggest: [] as number[] };
      const file = path.join(dir, `curve-${n}.json`);
      fs.writeFileSync(file, JSON.stringify({ lrs, losses }));
      for (let rep = 0; rep < repeats; rep++) {
        // A fresh copy each time: runningMedian remembers its last long input.
        r.median.push(time(() => runningMedian(losses.map((v) => v), k)));
        const robust = runningMedian(losses, k);
        r.slopes.push(time(() => localSlopes(lrs, robust)));
        const t = trimForSuggestions(lrs, smoothLosses(losses, 0.98), n);
        r.valley.push(time(() => valley(t.lrs, t.losses)));
        r.analyze.push(time(() => analyzeCurve(lrs, losses.map((v) => v), { numIter: n })));
        const t0 = performance.now();
        const s = spawnSync(process.execPath, [cli, 'suggest', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        if (s.status !== 0) throw new Error(`lr-finder suggest failed on ${n} points: ${s.stderr}`);
        r.suggest.push((performance.now() - t0) / 1000);
      }
      rows.push({ points: n, median: median(r.median), slopes: median(r.slopes), valley: median(r.valley), analyze: median(r.analyze), suggest: median(r.suggest) });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (json) { process.stdout.write(JSON.stringify({ load, cpus: os.cpus().length, repeats, rows }) + '\n'); return; }
  const f = (x: number) => x.toFixed(2).padStart(8);
  process.stdout.write(`analysis of a long curve, median of ${repeats} (seconds; load ${load.toFixed(1)}, ${os.cpus().length} CPUs)\n`);
  process.stdout.write(`${'points'.padStart(9)} ${'median'.padStart(8)} ${'slopes'.padStart(8)} ${'valley'.padStart(8)} ${'analyze'.padStart(8)} ${'suggest'.padStart(8)}\n`);
  for (const r of rows) process.stdout.write(`${String(r.points).padStart(9)} ${f(r.median)} ${f(r.slopes)} ${f(r.valley)} ${f(r.analyze)} ${f(r.suggest)}\n`);
  process.stdout.write('analyze: analyzeCurve in-process (median, slopes, fastai, recommendation); suggest: the CLI end to end, JSON file read included\n');
}

main();
