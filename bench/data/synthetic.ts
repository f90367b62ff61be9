/**
 * The synthetic data sets of the outcome benchmark's verify-holdout tasks (bench/quality/tasks.ts), written as CSV
 * files beside this script. Seeded (mulberry32), so every run writes the same bytes:
 *
 *   npx tsc -p . && node out/bench/data/synthetic.js          (writes bench/data/{spirals,moons,checkerboard,friedman1}.csv)
 *
 * Values are rounded to 4 decimals (the files stay small; the benchmark reads these files, not the generator).
 */
import * as fs from 'fs';
import * as path from 'path';
import { mulberry32 } from '../../src/core/random';

type Rand = () => number;

/** Standard normal by Box-Muller. */
function normal(rand: Rand): number {
  const u = Math.max(rand(), 1e-12), v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const r4 = (x: number) => Number(x.toFixed(4)).toString();

/** Two interleaved spirals (arm 0 and arm 1, 1.5 turns each), Gaussian noise 0.5 on a radius of up to ~9.4. */
export function spirals(n: number, seed: number): string[][] {
  const rand = mulberry32(seed);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const arm = i % 2;
    const t = Math.sqrt(rand()) * 3 * Math.PI; // 1.5 turns, denser towards the outside as in the classic benchmark
    const x = t * Math.cos(t + arm * Math.PI) + 0.5 * normal(rand);
    const y = t * Math.sin(t + arm * Math.PI) + 0.5 * normal(rand);
    rows.push([r4(x), r4(y), String(arm)]);
  }
  return rows;
}

/** scikit-learn's make_moons (two half circles), Gaussian noise 0.25. */
export function moons(n: number, seed: number): string[][] {
  const rand = mulberry32(seed);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const t = rand() * Math.PI;
    const x = (c ? 1 - Math.cos(t) : Math.cos(t)) + 0.25 * normal(rand);
    const y = (c ? 0.5 - Math.sin(t) : Math.sin(t)) + 0.25 * normal(rand);
    rows.push([r4(x), r4(y), String(c)]);
  }
  return rows;
}

/** A 3 x 3 checkerboard on [0, 3)^2 (class = (floor x + floor y) mod 2), 5% of the labels flipped. */
export function checkerboard(n: number, seed: number): string[][] {
  const rand = mulberry32(seed);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const x = 3 * rand(), y = 3 * rand();
    let c = (Math.floor(x) + Math.floor(y)) % 2;
    if (rand() < 0.05) c = 1 - c;
    rows.push([r4(x), r4(y), c ? 'black' : 'white']);
  }
  return rows;
}

/** Friedman #1 regression: x ~ U[0,1]^10, y = 10 sin(pi x1 x2) + 20 (x3 - 0.5)^2 + 10 x4 + 5 x5 + N(0, 1); x6..x10 are noise. */
export function friedman1(n: number, seed: number): string[][] {
  const rand = mulberry32(seed);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 10 }, () => rand());
    const y = 10 * Math.sin(Math.PI * x[0] * x[1]) + 20 * (x[2] - 0.5) ** 2 + 10 * x[3] + 5 * x[4] + normal(rand);
    rows.push([...x.map(r4), r4(y)]);
  }
  return rows;
}

export const SYNTHETIC: { file: string; header: string[]; rows: () => string[][] }[] = [
  { file: 'spirals.csv', header: ['x', 'y', 'arm'], rows: () => spirals(600, 101) },
  { file: 'moons.csv', header: ['x', 'y', 'moon'], rows: () => moons(400, 103) },
  { file: 'checkerboard.csv', header: ['x', 'y', 'color'], rows: () => checkerboard(1000, 107) },
  { file: 'friedman1.csv', header: [...Array.from({ length: 10 }, (_, i) => `x${i + 1}`), 'y'], rows: () => friedman1(500, 109) },
];

function findDataDir(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'bench', 'data'))) return path.join(d, 'bench', 'data');
    if (path.dirname(d) === d) throw new Error('bench/data not found above ' + dir);
  }
}

if (require.main === module) {
  const dir = findDataDir(__dirname);
  for (const s of SYNTHETIC) {
    const text = [s.header, ...s.rows()].map((r) => r.join(',')).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, s.file), text);
    process.stdout.write(`${path.join(dir, s.file)}: ${text.length} bytes\n`);
  }
}
