/**
 * fastai 2.8's LR finder, reproduced exactly: schedule, smoothing, stop rule, trimming and the four suggestion
 * functions (valley, slide, minimum, steep) of fastai/callback/schedule.py. fastai computes with float32 tensors,
 * so every stored value here goes through Math.fround at the same places. Pure: no Node, no vscode.
 */

const f32 = Math.fround;

export type SweepMode = 'exponential' | 'linear';

/** fastai's SchedExp / SchedLin at pos = i / numIter (never quite reaching endLr). */
export function scheduleLr(i: number, numIter: number, startLr: number, endLr: number, mode: SweepMode): number {
  const pos = i / numIter;
  return mode === 'linear' ? startLr + pos * (endLr - startLr) : startLr * Math.pow(endLr / startLr, pos);
}

/**
 * AvgSmoothLoss: val = torch.lerp(loss, val, beta) in float32, reported as val / (1 - beta^count).
 * torch's CPU lerp is a fused multiply-add: weight >= 0.5 gives fma(-(1 - weight), end - start, end), else
 * fma(weight, end - start, start). The float32 product is exact in a double, so one rounding to float32 after the
 * double sum reproduces it (checked against torch on 20,000 random pairs: 0 mismatches).
 */
export class SmoothedLoss {
  private val = 0;
  private count = 0;
  private readonly beta32: number;
  private readonly oneMinusBeta32: number;
  constructor(private readonly beta: number) {
    this.beta32 = f32(beta);
    this.oneMinusBeta32 = f32(1 - this.beta32);
  }
  push(loss: number): number {
    const l = f32(loss);
    this.count++;
    const diff = f32(this.val - l);
    if (this.beta32 >= 0.5) this.val = f32(this.val - this.oneMinusBeta32 * diff);
    else this.val = f32(l + this.beta32 * diff);
    return f32(this.val / f32(1 - Math.pow(this.beta, this.count)));
  }
}

export function smoothLosses(losses: readonly number[], beta: number): number[] {
  const s = new SmoothedLoss(beta);
  return losses.map((l) => s.push(l));
}

/**
 * fastai's LRFinder.after_batch stop rule, replayed over smoothed losses: best = min(best, s); stop when s > factor * best.
 * Returns the index of the point that stopped the sweep (it stays recorded), or -1 if it never stopped.
 * NaN never triggers it, as in fastai (comparisons with NaN are false).
 */
export function stopIndex(smoothed: readonly number[], stopFactor: number): number {
  let best = Infinity;
  for (let i = 0; i < smoothed.length; i++) {
    const s = smoothed[i];
    if (s < best) best = s;
    if (s > f32(stopFactor * best)) return i;
  }
  return -1;
}

/** A fastai suggestion: the LR it returns and the index (into the trimmed arrays) of the point it comes from. */
export interface FastaiPick {
  lr: number;
  index: number;
}

/** The trimmed view that fastai's suggestion functions see: [numIter//10 : -5], then cut at the first NaN. */
export interface Trimmed {
  lrs: number[];
  losses: number[];
  /** Index in the recorded arrays of trimmed[0]. */
  offset: number;
}

/** `recorded`: how many of the points fastai recorded (it stops at the point that triggered its stop rule). */
export function trimForSuggestions(lrs: readonly number[], smoothed: readonly number[], numIter: number, recorded = lrs.length): Trimmed {
  const start = Math.floor(numIter / 10);
  const end = Math.max(0, Math.min(recorded, lrs.length) - 5);
  // Up to the first NaN (plain loops: a million-point curve is trimmed in milliseconds).
  let stop = start;
  while (stop < end && !Number.isNaN(f32(smoothed[stop]))) stop++;
  const len = Math.max(0, stop - start);
  const t = new Array<number>(len), l = new Array<number>(len);
  for (let i = 0; i < len; i++) { t[i] = f32(smoothed[start + i]); l[i] = f32(lrs[start + i]); }
  return { lrs: l, losses: t, offset: start };
}

/** fastai valley: the longest decreasing subsequence, then 1/3 + 1/6 of the way along it. */
export function valley(lrs: readonly number[], losses: readonly number[]): FastaiPick | string {
  // fastai's O(n²) longest-decreasing-run search, in O(n log n): for each point, the longest strictly decreasing
  // sequence ending there is 1 + the longest ending at an earlier, strictly higher loss (a Fenwick tree over the
  // loss ranks, from the top). The first point to reach a new longest wins, exactly as fastai's double loop picks it.
  const n = losses.length;
  if (n < 1) return 'no points left after trimming';
  const { below, upTo } = tieGroups(losses);
  const m = n;
  const tree = new Int32Array(m + 1);
  let maxStart = 0, maxEnd = 0, longest = 1;
  for (let i = 0; i < n; i++) {
    if (losses[i] !== losses[i]) continue; // NaN: never below or above anything (fastai's comparisons are all false)
    const a = below[i], c = upTo[i];
    let best = 0;
    for (let k = m - c; k > 0; k -= k & -k) if (tree[k] > best) best = tree[k];
    const lds = best + 1;
    if (i > 0 && lds > longest) { longest = lds; maxEnd = i; maxStart = i - lds; }
    for (let k = m - a; k <= m; k += k & -k) if (tree[k] < lds) tree[k] = lds;
  }
  const sections = (maxEnd - maxStart) / 3;
  const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  if (idx < 0 || idx >= n) return 'the curve has no valley';
  return { lr: lrs[idx], index: idx };
}

const PACK = 2 ** 21;
const f32Bits = new Uint32Array(new Float32Array(1).buffer);

/**
 * For every value, how many values are below it and how many are at most it (NaN: neither; it sorts last). When
 * every value is a float32 (fastai's losses are) and there are fewer than 2^21, one sort of packed keys (the
 * float32's order bits above the index: exact in a double) gives it; otherwise a sort and two binary searches each.
 */
function tieGroups(values: readonly number[]): { below: Int32Array; upTo: Int32Array } {
  const n = values.length;
  const below = new Int32Array(n), upTo = new Int32Array(n);
  const packable = n < PACK && values.every((v) => v !== v || f32(v) === v);
  if (packable) {
    const keys = new Float64Array(n);
    const view = new Float32Array(f32Bits.buffer);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      let order: number;
      if (v !== v) order = 0xffffffff;
      else {
        view[0] = v === 0 ? 0 : v;
        const u = f32Bits[0];
        order = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
      }
      keys[i] = order * PACK + i;
    }
    keys.sort();
    for (let r = 0; r < n;) {
      const group = Math.floor(keys[r] / PACK);
      if (values[keys[r] % PACK] !== values[keys[r] % PACK]) break;
      let g = r;
      while (g < n && Math.floor(keys[g] / PACK) === group) g++;
      for (let q = r; q < g; q++) { const i = keys[q] % PACK; below[i] = r; upTo[i] = g; }
      r = g;
    }
    return { below, upTo };
  }
  const sorted = Float64Array.from(values).sort();
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) continue;
    let a = 0, b = n;
    while (a < b) { const mid = (a + b) >> 1; if (sorted[mid] < v) a = mid + 1; else b = mid; }
    let c = a, d = n;
    while (c < d) { const mid = (c + d) >> 1; if (sorted[mid] <= v) c = mid + 1; else d = mid; }
    below[i] = a; upTo[i] = c;
  }
  return { below, upTo };
}

/** numpy.gradient with unit spacing and first-order edges, in float32. */
export function npGradient(f: readonly number[]): number[] {
  const n = f.length;
  const g = new Array<number>(n);
  if (n < 2) return g.fill(NaN);
  g[0] = f32(f[1] - f[0]);
  g[n - 1] = f32(f[n - 1] - f[n - 2]);
  for (let i = 1; i < n - 1; i++) g[i] = f32(f32(f[i + 1] - f[i - 1]) / 2);
  return g;
}

/** fastai slide: slide a 15-point window left until the gradients at its ends agree within 0.005. */
export function slide(lrs: readonly number[], losses: readonly number[], lrDiff = 15, thresh = 0.005): FastaiPick | string {
  const n = losses.length;
  if (n < lrDiff + 1) return `needs at least ${lrDiff + 1} points after trimming, has ${n}`;
  const g = npGradient(losses);
  const at = (k: number) => n + k; // Python negative index
  let r = -1;
  let l = r - lrDiff;
  let pick = at(l);
  const th = f32(thresh);
  while (l >= -n && Math.abs(f32(g[at(r)] - g[at(l)])) > th) {
    pick = at(l);
    r -= 1;
    l -= 1;
  }
  return { lr: lrs[pick], index: pick };
}

/** fastai minimum: the LR at the lowest loss, divided by 10 (index = the lowest point itself). */
export function minimum(lrs: readonly number[], losses: readonly number[]): FastaiPick | string {
  if (losses.length === 0) return 'no points left after trimming';
  let idx = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i] < losses[idx]) idx = i;
  return { lr: lrs[idx] / 10, index: idx };
}

/** fastai steep: the left end of the segment with the most negative d loss / d ln(lr). */
export function steep(lrs: readonly number[], losses: readonly number[]): FastaiPick | string {
  const n = losses.length;
  if (n < 2) return `needs at least 2 points after trimming, has ${n}`;
  let idx = -1;
  let best = Infinity;
  for (let i = 0; i < n - 1; i++) {
    const d = f32(f32(losses[i + 1] - losses[i]) / f32(f32(Math.log(lrs[i + 1])) - f32(Math.log(lrs[i]))));
    // torch.argmin: NaN counts as the minimum; otherwise the first smallest value
    if (Number.isNaN(d)) {
      idx = i;
      break;
    }
    if (d < best) {
      best = d;
      idx = i;
    }
  }
  if (idx < 0) return 'no finite slope';
  return { lr: lrs[idx], index: idx };
}
