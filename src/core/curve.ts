/**
 * Robust features of a range-test curve, free of the EMA's lag and of single-batch spikes: a running median of the
 * raw losses, local slopes per decade of LR, the minimum point and the steepest slope. Pure.
 */
import { formatLr } from './format';
import type { SuggestionOrReason } from './analysis';

const has = (s: SuggestionOrReason): s is Extract<SuggestionOrReason, { lr: number }> => 'lr' in s;

/** Running median over 2k+1 points (shrinking at the edges); non-finite values count as +Infinity. */
export function runningMedian(xs: readonly number[], k: number): number[] {
  const n = xs.length;
  if (!Number.isInteger(k) || k < 0 || !xs.every((v) => typeof v === 'number')) return runningMedianReference(xs, k);
  // The analysis and the recommendation both ask for the same median of a long curve: the second time is a copy of the
  // first result (a cache of the last long input; the result is the same either way).
  if (n >= MEMO_MIN && memo && memo.k === k && memo.input.length === n && memo.input.every((v, i) => Object.is(v, xs[i]))) return memo.out.slice();
  const out = k <= SMALL_WINDOW ? medianSmallWindow(xs, k) : n <= DENSE_GAP * (2 * k + 1) ? medianWalk(xs, k) : medianFenwick(xs, k);
  if (n >= MEMO_MIN) memo = { input: Float64Array.from(xs), k, out: out.slice() };
  return out;
}

/**
 * Up to this k the window is kept sorted by insertion (O(n k), no set-up). Above it, when the window holds at least
 * 1/DENSE_GAP of all the points (a curve's analysis uses k = numIter / 25), the median's rank walks over the present
 * ranks (O(n x DENSE_GAP)); otherwise a Fenwick tree finds it (O(n log n)).
 */
const SMALL_WINDOW = 48;
const DENSE_GAP = 64;

/** Every value's rank in the windows' order (value, NaN as +Infinity, -0 equal to 0; ties by position) and the value at each rank. */
function ranksOf(xs: readonly number[]): { v: Float64Array; rank: Int32Array; valueAt: Float64Array } {
  const n = xs.length;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = Number.isNaN(xs[i]) ? Infinity : xs[i];
  const sorted = Float64Array.from(v).sort();
  const seen = new Int32Array(n);
  const valueAt = new Float64Array(n);
  const rank = new Int32Array(n);
  // Each value's first place in `sorted` by a binary search within its bucket: buckets split the finite range evenly,
  // so a search is a few steps in memory close together (the plain search over a million values misses the cache).
  const { start, bucketOf } = buckets(sorted);
  for (let i = 0; i < n; i++) {
    const x = v[i], q = bucketOf(x);
    let a = start[q], b = start[q + 1];
    while (a < b) { const mid = (a + b) >> 1; if (sorted[mid] < x) a = mid + 1; else b = mid; }
    rank[i] = a + seen[a]++;
    valueAt[rank[i]] = x;
  }
  return { v, rank, valueAt };
}

/**
 * Buckets over sorted values (no NaN): bucket 0 holds -Infinity, the last +Infinity, the others split the finite
 * range evenly; start[q] is the first index of bucket q in `sorted`, so every value x lies in [start[q], start[q+1]).
 */
function buckets(sorted: Float64Array): { start: Int32Array; bucketOf: (x: number) => number } {
  const n = sorted.length;
  let lo = 0, hi = n - 1;
  while (lo < n && sorted[lo] === -Infinity) lo++;
  while (hi >= 0 && sorted[hi] === Infinity) hi--;
  const min = lo <= hi ? sorted[lo] : 0, max = lo <= hi ? sorted[hi] : 0;
  const inner = Math.max(1, n >> 2);
  const scale = max > min && Number.isFinite(max - min) ? inner / (max - min) : 0;
  const bucketOf = (x: number) => (x === -Infinity ? 0 : x === Infinity ? inner + 1 : 1 + Math.min(inner - 1, Math.max(0, Math.floor((x - min) * scale))));
  const start = new Int32Array(inner + 3);
  // start[q] = the first index whose bucket is q or later (buckets are monotone in the value).
  let q = 0;
  for (let j = 0; j < n; j++) { const b = bucketOf(sorted[j]); while (q <= b) start[q++] = j; }
  while (q < start.length) start[q++] = n;
  return { start, bucketOf };
}

/**
 * The window's ranks marked present; `med` is the rank of its lower median and `below` how many present ranks are
 * under it. Each step adds and removes one point and moves `med` to the neighbouring present ranks.
 */
function medianWalk(xs: readonly number[], k: number): number[] {
  const n = xs.length;
  const { rank, valueAt } = ranksOf(xs);
  const present = new Uint8Array(n);
  let len = 0, med = -1, below = 0;
  const up = (q: number) => { q++; while (!present[q]) q++; return q; };
  const down = (q: number) => { q--; while (!present[q]) q--; return q; };
  const insert = (r: number) => {
    present[r] = 1; len++;
    if (med < 0) { med = r; below = 0; } else if (r < med) below++;
  };
  const remove = (r: number) => {
    present[r] = 0; len--;
    if (len === 0) { med = -1; below = 0; return; }
    if (r < med) below--;
    else if (r === med) {
      // med leaves: the next present rank above takes its place (same count below), else the one below it.
      let q = med + 1;
      while (q < n && !present[q]) q++;
      if (q < n) med = q; else { med = down(med); below--; }
    }
  };
  const out = new Array<number>(n);
  let lo = 0, hi = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - k), b = Math.min(n, i + k + 1);
    while (hi < b) insert(rank[hi++]);
    while (lo < a) remove(rank[lo++]);
    const target = (len - 1) >> 1;
    while (below < target) { med = up(med); below++; }
    while (below > target) { med = down(med); below--; }
    if (!Number.isFinite(xs[i])) { out[i] = xs[i]; continue; }
    out[i] = len % 2 ? valueAt[med] : (valueAt[med] + valueAt[up(med)]) / 2;
  }
  return out;
}

/**
 * The window kept sorted as it slides: by value (NaN as +Infinity, -0 equal to 0), ties by position, the order the
 * reference's stable sort gives each window, so the middle values are the same numbers.
 */
function medianSmallWindow(xs: readonly number[], k: number): number[] {
  const n = xs.length;
  const val = new Float64Array(2 * k + 2), pos = new Int32Array(2 * k + 2);
  let len = 0;
  /** Where (value, position) goes: after every smaller value and every equal one at an earlier position. */
  const slot = (v: number, p: number) => {
    let a = 0, b = len;
    while (a < b) { const mid = (a + b) >> 1; if (val[mid] < v || (val[mid] === v && pos[mid] < p)) a = mid + 1; else b = mid; }
    return a;
  };
  const key = (i: number) => (Number.isNaN(xs[i]) ? Infinity : xs[i]);
  const insert = (i: number) => {
    const v = key(i), at = slot(v, i);
    val.copyWithin(at + 1, at, len); pos.copyWithin(at + 1, at, len);
    val[at] = v; pos[at] = i; len++;
  };
  const remove = (i: number) => {
    const at = slot(key(i), i);
    val.copyWithin(at, at + 1, len); pos.copyWithin(at, at + 1, len);
    len--;
  };
  const out = new Array<number>(n);
  let lo = 0, hi = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - k), b = Math.min(n, i + k + 1);
    while (hi < b) insert(hi++);
    while (lo < a) remove(lo++);
    if (!Number.isFinite(xs[i])) { out[i] = xs[i]; continue; }
    const m = len >> 1;
    out[i] = len % 2 ? val[m] : (val[m - 1] + val[m]) / 2;
  }
  return out;
}

function medianFenwick(xs: readonly number[], k: number): number[] {
  const n = xs.length;
  // A Fenwick tree over the ranks holds the window; its middle ranks are the median. O(n log n).
  const { rank, valueAt } = ranksOf(xs);
  const tree = new Int32Array(n + 1);
  const add = (r: number, d: number) => { for (let j = r + 1; j <= n; j += j & -j) tree[j] += d; };
  let top = 1;
  while (top * 2 <= n) top *= 2;
  /** The rank of the m-th smallest (0-based) value in the window. */
  const kth = (m: number) => {
    let pos = 0, rest = m + 1;
    for (let step = top; step > 0; step >>= 1) {
      if (pos + step <= n && tree[pos + step] < rest) { pos += step; rest -= tree[pos]; }
    }
    return pos;
  };
  const out = new Array<number>(n);
  let lo = 0, hi = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - k), b = Math.min(n, i + k + 1);
    while (hi < b) add(rank[hi++], 1);
    while (lo < a) add(rank[lo++], -1);
    if (!Number.isFinite(xs[i])) { out[i] = xs[i]; continue; }
    const len = hi - lo, m = len >> 1;
    out[i] = len % 2 ? valueAt[kth(m)] : (valueAt[kth(m - 1)] + valueAt[kth(m)]) / 2;
  }
  return out;
}

const MEMO_MIN = 20000;
let memo: { input: Float64Array; k: number; out: number[] } | undefined;

/** runningMedian by its definition: a sort of every window (O(n k log k)). The fast one gives the same bits. */
export function runningMedianReference(xs: readonly number[], k: number): number[] {
  return xs.map((_, i) => {
    if (!Number.isFinite(xs[i])) return xs[i];
    const w = xs.slice(Math.max(0, i - k), Math.min(xs.length, i + k + 1)).map((v) => (Number.isNaN(v) ? Infinity : v)).sort((a, b) => a - b);
    const m = w.length >> 1;
    return w.length % 2 ? w[m] : (w[m - 1] + w[m]) / 2;
  });
}

/**
 * Neighbour pairs up to which localSlopes sums every pair itself, in the reference's order (bit-identical to it): a
 * 5,000-point sweep over 8 decades has 3.8e6 (a tenth of a second). Above it the sums come from a Taylor expansion of
 * the Gaussian weights, which agrees with the pairwise sums to rounding (1e-12 relative, test/unit/badInput.test.ts).
 */
export const EXACT_SLOPE_PAIRS = 4e6;

/**
 * Local slope per decade of LR at every point: a local linear regression of the loss on log10(lr) with Gaussian
 * weights (bandwidth `h` decades). Unlike a difference quotient it is not thrown by single-step noise, and unlike the
 * EMA it does not lag behind the LR. Neighbours farther than 3 bandwidths get no weight; as the LRs of a range test
 * increase, they are found with a moving window (O(n x window) instead of O(n^2)).
 */
export function localSlopes(lrs: readonly number[], ys: readonly number[], h = 0.2, exactPairs = EXACT_SLOPE_PAIRS): number[] {
  const n = lrs.length;
  const x = lrs.map((v) => Math.log10(v));
  let sortedFinite = h > 0 && Number.isFinite(h);
  for (let i = 0; i < n && sortedFinite; i++) sortedFinite = Number.isFinite(x[i]) && (i === 0 || x[i] >= x[i - 1]);
  if (!sortedFinite) return localSlopesReference(lrs, ys, h);
  // The window of i: every k with |d| <= 3, a contiguous run [lo, hi] that only moves right as i does (d is monotone
  // in x[k] and in x[i], also in floating point). The same test is applied below, so the sums see the same terms in
  // the same order as the reference.
  const los = new Int32Array(n), his = new Int32Array(n);
  let pairs = 0;
  for (let i = 0, lo = 0, hi = 0; i < n; i++) {
    while (Math.abs((x[lo] - x[i]) / h) > 3) lo++;
    if (hi < i) hi = i;
    while (hi + 1 < n && !(Math.abs((x[hi + 1] - x[i]) / h) > 3)) hi++;
    los[i] = lo; his[i] = hi;
    pairs += hi - lo + 1;
  }
  const out = new Array<number>(n).fill(NaN);
  // Each weight is computed once and kept for the second sum (the same value the reference computes twice).
  let widest = 0;
  for (let i = 0; i < n; i++) widest = Math.max(widest, his[i] - los[i] + 1);
  const weights = new Float64Array(widest);
  const exactAt = (i: number) => {
    const lo = los[i], hi = his[i];
    let sw = 0, sx = 0, sy = 0, count = 0;
    for (let k = lo; k <= hi; k++) {
      const d = (x[k] - x[i]) / h;
      if (Math.abs(d) > 3 || !Number.isFinite(ys[k])) { weights[k - lo] = -1; continue; }
      const w = Math.exp(-0.5 * d * d);
      weights[k - lo] = w;
      sw += w; sx += w * x[k]; sy += w * ys[k]; count++;
    }
    if (count < 2) return NaN;
    const mx = sx / sw, my = sy / sw;
    let sxy = 0, sxx = 0;
    for (let k = lo; k <= hi; k++) {
      const w = weights[k - lo];
      if (w < 0) continue;
      sxy += w * (x[k] - mx) * (ys[k] - my); sxx += w * (x[k] - mx) ** 2;
    }
    return sxx > 0 ? sxy / sxx : NaN;
  };
  if (pairs <= exactPairs) {
    for (let i = 0; i < n; i++) if (Number.isFinite(ys[i])) out[i] = exactAt(i);
  } else {
    denseSlopes(x, ys, h, los, his, out, exactAt);
  }
  return out;
}

/** denseSlopes' boxes are this many bandwidths wide. */
const BOX = 0.25;
/**
 * Taylor terms of exp(2uv) in denseSlopes: |2uv| <= (3 + BOX/2) BOX / 2 = 0.39 there, so the remainder is below
 * 1e-15 of every weight.
 */
const TERMS = 13;
/** Taylor terms of exp(-2a delta) when a box's moments move to another box's centre: |2a delta| <= 1.5 BOX = 0.375. */
const SHIFT_TERMS = 13;
/** Box moments kept: up to u^(TERMS + 1) after the move, which needs SHIFT_TERMS more powers of a. */
const BOX_MOMENTS = TERMS + 2 + SHIFT_TERMS;

/**
 * localSlopes' sums for a dense curve. The LR axis is cut into boxes a quarter bandwidth wide. The targets of a box share
 * its centre c; with u, v the source's and the target's distance from c in units of sqrt(2) h, each weight is
 *   exp(-(u - v)^2) = exp(-v^2) * sum_n (2v)^n / n! * u^n exp(-u^2),
 * so the window's moments sum_k u^m exp(-u^2) (times 1 and y) give every sum of the regression. The window of a
 * box's first target is gathered from the moments of the boxes it covers whole (each box's own moments, computed
 * once and moved to c), plus its ends point by point; then it slides over the box, adding and removing points, as
 * the exact path does: same neighbours, same count. About four passes over the points instead of eight.
 */
function denseSlopes(x: readonly number[], ys: readonly number[], h: number, los: Int32Array, his: Int32Array,
  out: number[], exactAt: (i: number) => number): void {
  const n = x.length;
  const s = Math.SQRT2 * h;
  const finiteBefore = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) finiteBefore[k + 1] = finiteBefore[k] + (Number.isFinite(ys[k]) ? 1 : 0);
  // Boxes [x0 + b w, x0 + (b + 1) w): contiguous runs of points, as x is sorted. first[b] is the first point of b.
  const x0 = x[0];
  const w = BOX * h;
  const boxOf = (k: number) => Math.floor((x[k] - x0) / w);
  const boxes = boxOf(n - 1) + 1;
  const first = new Int32Array(boxes + 1);
  for (let k = 0, b = 0; b <= boxes; b++) { while (k < n && boxOf(k) < b) k++; first[b] = k; }
  const centre = (b: number) => x0 + (b + 0.5) * w;
  // Each box's moments about its own centre: MB[j] = sum a^j exp(-a^2), MC[j] = sum (y - yb) a^j exp(-a^2), with
  // yb the box's first finite loss (the losses are taken relative to it, as the window's are to its y0).
  const J = BOX_MOMENTS;
  const MB = new Float64Array(boxes * J), MC = new Float64Array(boxes * J), yb = new Float64Array(boxes);
  let widestBox = 0;
  for (let b = 0; b < boxes; b++) widestBox = Math.max(widestBox, first[b + 1] - first[b]);
  const U = new Float64Array(widestBox), Z = new Float64Array(widestBox), P = new Float64Array(widestBox);
  for (let b = 0; b < boxes; b++) {
    const c = centre(b), at = b * J;
    for (let k = first[b]; k < first[b + 1]; k++) if (Number.isFinite(ys[k])) { yb[b] = ys[k]; break; }
    // Power by power over the box's points (each sum in a register), not point by point.
    let len = 0;
    for (let k = first[b]; k < first[b + 1]; k++) {
      const y = ys[k];
      if (!Number.isFinite(y)) continue;
      const u = (x[k] - c) / s;
      U[len] = u; Z[len] = y - yb[b]; P[len] = Math.exp(-u * u); len++;
    }
    for (let jj = 0; jj < J; jj++) {
      let sb = 0, sc = 0;
      for (let q = 0; q < len; q++) { const p = P[q]; sb += p; sc += p * Z[q]; P[q] = p * U[q]; }
      MB[at + jj] = sb; MC[at + jj] = sc;
    }
  }
  // Moving a box d boxes away to the centre c: with u = a + delta, u^m exp(-u^2) =
  // exp(-delta^2) exp(-a^2) (a + delta)^m exp(-2 a delta), so B[m] = sum_j K[m][j] MB[j].
  const moves = new Map<number, Float64Array>();
  const move = (d: number) => {
    let K = moves.get(d);
    if (K) return K;
    K = new Float64Array((TERMS + 2) * J);
    const delta = (d * w) / s, e = Math.exp(-delta * delta);
    const shift = new Float64Array(SHIFT_TERMS + 1); // (-2 delta)^p / p!
    shift[0] = 1;
    for (let p = 1; p <= SHIFT_TERMS; p++) shift[p] = (shift[p - 1] * -2 * delta) / p;
    const binom = new Float64Array(TERMS + 2);
    for (let m = 0; m < TERMS + 2; m++) {
      for (let q = m; q > 0; q--) binom[q] += binom[q - 1];
      binom[0] = 1;
      for (let q = 0; q <= m; q++) {
        const bq = e * binom[q] * delta ** (m - q);
        for (let p = 0; p <= SHIFT_TERMS && q + p < J; p++) K[m * J + q + p] += bq * shift[p];
      }
    }
    moves.set(d, K);
    return K;
  };
  // B[m] = sum u^m exp(-u^2), m = 0..TERMS+1; C[m] = sum (y - y0) u^m exp(-u^2), m = 0..TERMS.
  const B = new Float64Array(TERMS + 2), C = new Float64Array(TERMS + 1);
  const twoOver = Float64Array.from({ length: TERMS + 1 }, (_, m) => (m ? 2 / m : 0));
  let c = 0, y0 = 0;
  const term = (k: number, sign: number) => {
    const y = ys[k];
    if (!Number.isFinite(y)) return;
    const u = (x[k] - c) / s;
    const z = y - y0;
    let p = sign * Math.exp(-u * u);
    for (let m = 0; m <= TERMS; m++) { B[m] += p; C[m] += p * z; p *= u; }
    B[TERMS + 1] += p;
  };
  for (let tb = 0; tb < boxes; tb++) {
    const i = first[tb], j = first[tb + 1];
    if (i === j) continue;
    c = centre(tb);
    y0 = yb[tb];
    B.fill(0); C.fill(0);
    let lo = los[i], hi = his[i];
    // The boxes wholly inside [lo, hi], then the points at either end that are not in one.
    let bFirst = boxOf(lo), bLast = boxOf(hi);
    if (first[bFirst] < lo) bFirst++;
    if (first[bLast + 1] - 1 > hi) bLast--;
    if (bFirst <= bLast) {
      for (let b = bFirst; b <= bLast; b++) {
        if (first[b] === first[b + 1]) continue;
        const K = move(b - tb), at = b * J, shiftY = yb[b] - y0;
        for (let m = 0; m < TERMS + 2; m++) {
          let sb = 0, sc = 0;
          const row = m * J;
          for (let q = 0; q < J; q++) { const kq = K[row + q]; sb += kq * MB[at + q]; sc += kq * MC[at + q]; }
          B[m] += sb;
          if (m <= TERMS) C[m] += sc + shiftY * sb;
        }
      }
      for (let k = lo; k < first[bFirst]; k++) term(k, 1);
      for (let k = first[bLast + 1]; k <= hi; k++) term(k, 1);
    } else {
      for (let k = lo; k <= hi; k++) term(k, 1);
    }
    for (let t = i; t < j; t++) {
      while (hi < his[t]) term(++hi, 1);
      while (lo < los[t]) term(lo++, -1);
      if (!Number.isFinite(ys[t]) || finiteBefore[hi + 1] - finiteBefore[lo] < 2) continue;
      const v = (x[t] - c) / s;
      let sw = 0, swt = 0, swtt = 0, swz = 0, swtz = 0;
      // am = exp(-v^2) (2v)^m / m!
      for (let m = 0, am = Math.exp(-v * v); m < TERMS; am *= v * twoOver[++m]) {
        sw += am * B[m]; swt += am * B[m + 1]; swtt += am * B[m + 2]; swz += am * C[m]; swtz += am * C[m + 1];
      }
      swt *= s; swtt *= s * s; swtz *= s;
      const sxx = swtt - (swt * swt) / sw;
      // Almost no spread of LRs in the window: too much cancellation for the expansion, so sum this one exactly.
      out[t] = sxx > 1e-9 * swtt ? (swtz - (swt * swz) / sw) / sxx : exactAt(t);
    }
  }
}

/** localSlopes by its definition: every point against every other (O(n^2)). */
export function localSlopesReference(lrs: readonly number[], ys: readonly number[], h = 0.2): number[] {
  const n = lrs.length;
  const x = lrs.map((v) => Math.log10(v));
  const out = new Array<number>(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(ys[i]) || !Number.isFinite(x[i])) continue;
    let sw = 0, sx = 0, sy = 0, count = 0;
    for (let k = 0; k < n; k++) {
      const d = (x[k] - x[i]) / h;
      if (Math.abs(d) > 3 || !Number.isFinite(ys[k])) continue;
      const w = Math.exp(-0.5 * d * d);
      sw += w; sx += w * x[k]; sy += w * ys[k]; count++;
    }
    if (count < 2) continue;
    const mx = sx / sw, my = sy / sw;
    let sxy = 0, sxx = 0;
    for (let k = 0; k < n; k++) {
      const d = (x[k] - x[i]) / h;
      if (Math.abs(d) > 3 || !Number.isFinite(ys[k])) continue;
      const w = Math.exp(-0.5 * d * d);
      sxy += w * (x[k] - mx) * (ys[k] - my); sxx += w * (x[k] - mx) ** 2;
    }
    out[i] = sxx > 0 ? sxy / sxx : NaN;
  }
  return out;
}

/** The lowest smoothed loss after the warm-up (the first numIter/10 points, where the debiased EMA is still noisy). */
export function minimumPoint(lrs: readonly number[], smoothed: readonly number[], usable: number, warmup: number): SuggestionOrReason {
  let idx = -1;
  for (let i = usable > warmup + 1 ? warmup : 0; i < usable; i++) if (Number.isFinite(smoothed[i]) && (idx < 0 || smoothed[i] < smoothed[idx])) idx = i;
  if (idx < 0) return { name: 'minimumPoint', reason: 'no finite loss was recorded' };
  return {
    name: 'minimumPoint', lr: lrs[idx], index: idx,
    explanation: `The lowest smoothed loss, at ${formatLr(lrs[idx])}. Not the LR to pick: here the loss has already stopped ` +
      'improving and a little more LR makes it diverge; training at this LR is on the edge.',
  };
}

/**
 * Steepest slope: the most negative local slope per decade, searched only between the end of the warm-up
 * (the first numIter/10 points, which fastai skips too) and the minimum, so that an early spike or the divergence
 * after the minimum cannot win.
 */
export function steepestPoint(lrs: readonly number[], slopes: readonly number[], usable: number,
  minPoint: SuggestionOrReason, numIter: number): SuggestionOrReason {
  if (!has(minPoint)) return { name: 'steepest', reason: minPoint.reason };
  const from = Math.min(Math.floor(numIter / 10), Math.max(0, minPoint.index - 1));
  let idx = -1;
  for (let i = from; i <= minPoint.index && i < usable; i++) {
    if (Number.isFinite(slopes[i]) && slopes[i] < 0 && (idx < 0 || slopes[i] < slopes[idx])) idx = i;
  }
  if (idx < 0) return { name: 'steepest', reason: 'the loss never falls before its minimum' };
  return {
    name: 'steepest', lr: lrs[idx], index: idx,
    explanation: `Steepest slope: the loss falls fastest here (${formatSlope(slopes[idx])} per decade of LR), ` +
      `at ${formatLr(lrs[idx])} — where the model learns fastest.`,
  };
}

export function formatSlope(slope: number): string {
  if (!Number.isFinite(slope)) return String(slope);
  const a = Math.abs(slope);
  const txt = a >= 100 || a < 0.01 ? slope.toExponential(1) : slope.toPrecision(2);
  return slope > 0 ? `+${txt}` : txt;
}
