/**
 * A few memory-bound loops as a tiny hand-assembled WebAssembly SIMD module that shares the wasm backend's memory
 * (tfjs has no kernel for them, and plain JS loops are 5-10x slower). Built once per backend instance; if the runtime
 * cannot compile it (no SIMD), simdKernels returns null and each caller runs its JS loop (or the stock kernel) instead.
 *
 * Users: maxPoolGrad2x2 (./pool), sumRows and addRows (./elementwise), adamUpdate (./adam), gemmTN16 and copyRuns
 * (./conv, Conv2DBackpropFilter).
 *
 * State lifetime: the instantiated helpers are cached per Emscripten module (a WeakMap, so they go with the backend
 * instance whose memory they import); a module on which they could not be built is cached as null. The enabled flag
 * is process-wide (setWasmSimdHelpersEnabled, for tests and diagnostics) and is read on every call.
 */
import {
  ADD, AND, AND_I32, ANDNOT, BITSELECT, BLOCK, brIf, END, EQZ, F32, F32_LOAD, F32_STORE, F32X4_ADD, F32X4_DIV, F32X4_GT,
  F32X4_MUL, F32X4_SPLAT, F32X4_SQRT, F64X2_ADD, F64X2_PROMOTE_LOW, type FuncDef, GE_U, get, I32, i32c, instantiateOnHeap,
  LOAD, loadAt, LOOP, LT_U, MUL, nextLoop, OR, SELECT, set, SHUFFLE_HIGH_TO_LOW, STORE, tee, V128, v128c,
} from './assembler';
import type { WasmBackendLike } from './registry';
import { emscriptenModule } from './tensors';

/**
 * maxPoolGrad2x2(x, dy, out, ho, wo, cBytes, rowBytes): one NHWC image, 2x2 windows with stride 2, C % 4 == 0.
 * Per window the first strict maximum (starting from -Infinity, as the cpu backend) receives dy; others get 0.
 */
function maxPoolGrad2x2Func(): FuncDef {
  const [x, dy, out, ho, wo, cb, rb] = [0, 1, 2, 3, 4, 5, 6];
  const [yr, j, c, px, po, pg, xrow, orow] = [7, 8, 9, 10, 11, 12, 13, 14];
  const [v0, v1, v2, v3, m, c0, c1, c2, c3, g, ninf] = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
  const addr = (base: number, ...extra: number[]) => [...get(base), ...get(c), ...ADD, ...extra.flatMap((e) => [...get(e), ...ADD])];
  const body = [
    ...v128c([0, 0, 0x80, 0xff, 0, 0, 0x80, 0xff, 0, 0, 0x80, 0xff, 0, 0, 0x80, 0xff]), ...set(ninf),
    ...get(dy), ...set(pg),
    ...i32c(0), ...set(yr),
    ...LOOP,
    ...get(x), ...get(yr), ...get(rb), ...MUL, ...i32c(2), ...MUL, ...ADD, ...set(xrow),
    ...get(out), ...get(yr), ...get(rb), ...MUL, ...i32c(2), ...MUL, ...ADD, ...set(orow),
    ...i32c(0), ...set(j),
    ...LOOP,
    ...get(xrow), ...get(j), ...get(cb), ...MUL, ...i32c(2), ...MUL, ...ADD, ...set(px),
    ...get(orow), ...get(j), ...get(cb), ...MUL, ...i32c(2), ...MUL, ...ADD, ...set(po),
    ...i32c(0), ...set(c),
    ...LOOP,
    ...addr(px), ...LOAD, ...set(v0),
    ...addr(px, cb), ...LOAD, ...set(v1),
    ...addr(px, rb), ...LOAD, ...set(v2),
    ...addr(px, rb, cb), ...LOAD, ...set(v3),
    ...get(v0), ...get(ninf), ...F32X4_GT, ...set(c0), ...get(v0), ...get(ninf), ...get(c0), ...BITSELECT, ...set(m),
    ...get(v1), ...get(m), ...F32X4_GT, ...set(c1), ...get(v1), ...get(m), ...get(c1), ...BITSELECT, ...set(m),
    ...get(v2), ...get(m), ...F32X4_GT, ...set(c2), ...get(v2), ...get(m), ...get(c2), ...BITSELECT, ...set(m),
    ...get(v3), ...get(m), ...F32X4_GT, ...set(c3),
    ...get(pg), ...LOAD, ...set(g),
    ...get(pg), ...i32c(16), ...ADD, ...set(pg),
    ...addr(po), ...get(g), ...get(c0), ...get(c1), ...get(c2), ...OR, ...get(c3), ...OR, ...ANDNOT, ...AND, ...STORE,
    ...addr(po, cb), ...get(g), ...get(c1), ...get(c2), ...ANDNOT, ...get(c3), ...ANDNOT, ...AND, ...STORE,
    ...addr(po, rb), ...get(g), ...get(c2), ...get(c3), ...ANDNOT, ...AND, ...STORE,
    ...addr(po, rb, cb), ...get(g), ...get(c3), ...AND, ...STORE,
    ...nextLoop(c, i32c(16), get(cb)),
    ...nextLoop(j, i32c(1), get(wo)),
    ...nextLoop(yr, i32c(1), get(ho)),
  ];
  return { name: 'maxPoolGrad2x2', params: Array(7).fill(I32), locals: [[8, I32], [11, V128]], body };
}

/** sumRows(x, acc, rows, innerBytes): acc (f64[inner], zeroed) += sum over rows of x (f32[rows, inner]), inner % 4 == 0. */
function sumRowsFunc(): FuncDef {
  const [x, acc, rows, ib] = [0, 1, 2, 3];
  const [r, c, a] = [4, 5, 6];
  const [v] = [7];
  const body = [
    ...i32c(0), ...set(r),
    ...LOOP,
    ...i32c(0), ...set(c),
    ...LOOP,
    ...get(x), ...get(c), ...ADD, ...LOAD, ...set(v),
    ...get(acc), ...get(c), ...i32c(2), ...MUL, ...ADD, ...set(a),
    ...get(a), ...get(a), ...LOAD, ...get(v), ...F64X2_PROMOTE_LOW, ...F64X2_ADD, ...STORE,
    ...get(a), ...i32c(16), ...ADD, ...get(a), ...i32c(16), ...ADD, ...LOAD,
    ...get(v), ...get(v), ...SHUFFLE_HIGH_TO_LOW, ...F64X2_PROMOTE_LOW, ...F64X2_ADD, ...STORE,
    ...nextLoop(c, i32c(16), get(ib)),
    ...get(x), ...get(ib), ...ADD, ...set(x),
    ...nextLoop(r, i32c(1), get(rows)),
  ];
  return { name: 'sumRows', params: Array(4).fill(I32), locals: [[3, I32], [1, V128]], body };
}

/** addRows(x, b, out, rows, innerBytes): out[r, :] = x[r, :] + b[:] (f32, inner % 4 == 0). */
function addRowsFunc(): FuncDef {
  const [x, b, out, rows, ib] = [0, 1, 2, 3, 4];
  const [r, c] = [5, 6];
  const body = [
    ...i32c(0), ...set(r),
    ...LOOP,
    ...i32c(0), ...set(c),
    ...LOOP,
    ...get(out), ...get(c), ...ADD,
    ...get(x), ...get(c), ...ADD, ...LOAD,
    ...get(b), ...get(c), ...ADD, ...LOAD,
    ...F32X4_ADD, ...STORE,
    ...nextLoop(c, i32c(16), get(ib)),
    ...get(x), ...get(ib), ...ADD, ...set(x),
    ...get(out), ...get(ib), ...ADD, ...set(out),
    ...nextLoop(r, i32c(1), get(rows)),
  ];
  return { name: 'addRows', params: Array(5).fill(I32), locals: [[2, I32]], body };
}

/**
 * adamUpdate(w, g, m, v, wOut, mOut, vOut, bytes, b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps, -lr): tfjs' Adam update in
 * one pass, with the same float32 operations in the same order as AdamOptimizer.applyGradients.
 */
function adamUpdateFunc(): FuncDef {
  const [w, g, m, v, wo, mo, vo, bytes] = [0, 1, 2, 3, 4, 5, 6, 7];
  const scalars = [8, 9, 10, 11, 12, 13, 14, 15];
  const [i] = [16];
  const [B1, OB1, B2, OB2, C1, C2, EPS, NLR, gv, m2, v2] = [17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
  const at = (base: number) => [...get(base), ...get(i), ...ADD];
  const body = [
    ...scalars.flatMap((p, k) => [...get(p), ...F32X4_SPLAT, ...set(B1 + k)]),
    ...i32c(0), ...set(i),
    ...LOOP,
    ...at(g), ...LOAD, ...set(gv),
    // m' = m*b1 + g*(1-b1)
    ...at(mo), ...at(m), ...LOAD, ...get(B1), ...F32X4_MUL, ...get(gv), ...get(OB1), ...F32X4_MUL, ...F32X4_ADD, ...tee(m2), ...STORE,
    // v' = v*b2 + (g*g)*(1-b2)
    ...at(vo), ...at(v), ...LOAD, ...get(B2), ...F32X4_MUL, ...get(gv), ...get(gv), ...F32X4_MUL, ...get(OB2), ...F32X4_MUL,
    ...F32X4_ADD, ...tee(v2), ...STORE,
    // w' = ((m'/c1) / (sqrt(v'/c2) + eps)) * (-lr) + w
    ...at(wo),
    ...get(m2), ...get(C1), ...F32X4_DIV,
    ...get(v2), ...get(C2), ...F32X4_DIV, ...F32X4_SQRT, ...get(EPS), ...F32X4_ADD,
    ...F32X4_DIV, ...get(NLR), ...F32X4_MUL, ...at(w), ...LOAD, ...F32X4_ADD, ...STORE,
    ...nextLoop(i, i32c(16), get(bytes)),
  ];
  return { name: 'adamUpdate', params: [...Array(8).fill(I32), ...Array(8).fill(F32)], locals: [[1, I32], [11, V128]], body };
}

/**
 * gemmTN16(pt, dy, out, rows, K, nBytes, kBlock): out[rows, N] += pt[rows, K] . dy[K, N] with N % 16 == 0 (nBytes =
 * 4N), float32, four accumulators per 16 output columns, K blocked so a block of dy stays in cache for all rows.
 */
function gemmTN16Func(): FuncDef {
  const [pt, dy, out, rows, K, nb, kBlock] = [0, 1, 2, 3, 4, 5, 6];
  const [kb, kEnd, t, nc, k, pPt, pDy, o] = [7, 8, 9, 10, 11, 12, 13, 14];
  const [a0, a1, a2, a3, sv] = [15, 16, 17, 18, 19];
  const accumulate = (acc: number, offset: number) => [...get(acc), ...get(sv), ...get(pDy), ...loadAt(offset), ...F32X4_MUL, ...F32X4_ADD, ...set(acc)];
  const body = [
    ...i32c(0), ...set(kb),
    ...LOOP,
    // kEnd = min(kb + kBlock, K)
    ...get(kb), ...get(kBlock), ...ADD, ...get(K), ...get(kb), ...get(kBlock), ...ADD, ...get(K), ...LT_U, ...SELECT, ...set(kEnd),
    ...i32c(0), ...set(t),
    ...LOOP,
    ...i32c(0), ...set(nc),
    ...LOOP,
    ...get(out), ...get(t), ...get(nb), ...MUL, ...ADD, ...get(nc), ...ADD, ...set(o),
    ...get(o), ...loadAt(0), ...set(a0), ...get(o), ...loadAt(16), ...set(a1), ...get(o), ...loadAt(32), ...set(a2), ...get(o), ...loadAt(48), ...set(a3),
    ...get(pt), ...get(t), ...get(K), ...MUL, ...get(kb), ...ADD, ...i32c(4), ...MUL, ...ADD, ...set(pPt),
    ...get(dy), ...get(kb), ...get(nb), ...MUL, ...ADD, ...get(nc), ...ADD, ...set(pDy),
    ...get(kb), ...set(k),
    ...LOOP,
    ...get(pPt), ...F32_LOAD, ...F32X4_SPLAT, ...set(sv),
    ...accumulate(a0, 0), ...accumulate(a1, 16), ...accumulate(a2, 32), ...accumulate(a3, 48),
    ...get(pPt), ...i32c(4), ...ADD, ...set(pPt),
    ...get(pDy), ...get(nb), ...ADD, ...set(pDy),
    ...nextLoop(k, i32c(1), get(kEnd)),
    ...get(o), ...get(a0), ...STORE,
    ...get(o), ...i32c(16), ...ADD, ...get(a1), ...STORE,
    ...get(o), ...i32c(32), ...ADD, ...get(a2), ...STORE,
    ...get(o), ...i32c(48), ...ADD, ...get(a3), ...STORE,
    ...nextLoop(nc, i32c(64), get(nb)),
    ...nextLoop(t, i32c(1), get(rows)),
    ...get(kb), ...get(kBlock), ...ADD, ...tee(kb), ...get(K), ...LT_U, ...brIf(0), ...END,
  ];
  return { name: 'gemmTN16', params: Array(7).fill(I32), locals: [[8, I32], [5, V128]], body };
}

/**
 * copyRuns(dst, src, outer, rows, runFloats, srcRowBytes, srcOuterBytes): for each of `outer` blocks and `rows` rows
 * in it, copy runFloats floats from src (rows srcRowBytes apart, blocks srcOuterBytes apart) to consecutive places
 * in dst. Builds the rows of a transposed im2col matrix from a padded, channel-major input.
 */
function copyRunsFunc(): FuncDef {
  const [dst, src, outer, rows, run, srb, sob] = [0, 1, 2, 3, 4, 5, 6];
  const [b, i, k, s, nBytes, n4Bytes] = [7, 8, 9, 10, 11, 12];
  const body = [
    ...get(run), ...i32c(4), ...MUL, ...set(nBytes),
    ...get(nBytes), ...i32c(-16), ...AND_I32, ...set(n4Bytes),
    ...i32c(0), ...set(b),
    ...LOOP,
    ...get(src), ...get(b), ...get(sob), ...MUL, ...ADD, ...set(s),
    ...i32c(0), ...set(i),
    ...LOOP,
    ...i32c(0), ...set(k),
    ...BLOCK,
    ...get(n4Bytes), ...EQZ, ...brIf(0),
    ...LOOP,
    ...get(dst), ...get(k), ...ADD, ...get(s), ...get(k), ...ADD, ...LOAD, ...STORE,
    ...nextLoop(k, i32c(16), get(n4Bytes)),
    ...END,
    ...BLOCK,
    ...get(k), ...get(nBytes), ...GE_U, ...brIf(0),
    ...LOOP,
    ...get(dst), ...get(k), ...ADD, ...get(s), ...get(k), ...ADD, ...F32_LOAD, ...F32_STORE,
    ...nextLoop(k, i32c(4), get(nBytes)),
    ...END,
    ...get(dst), ...get(nBytes), ...ADD, ...set(dst),
    ...get(s), ...get(srb), ...ADD, ...set(s),
    ...nextLoop(i, i32c(1), get(rows)),
    ...nextLoop(b, i32c(1), get(outer)),
  ];
  return { name: 'copyRuns', params: Array(7).fill(I32), locals: [[6, I32]], body };
}

/** The helpers' exports; pointers and sizes are byte offsets / byte counts in the backend's heap. */
export interface SimdKernels {
  maxPoolGrad2x2(x: number, dy: number, out: number, ho: number, wo: number, cBytes: number, rowBytes: number): void;
  sumRows(x: number, acc: number, rows: number, innerBytes: number): void;
  addRows(x: number, b: number, out: number, rows: number, innerBytes: number): void;
  adamUpdate(w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, bytes: number,
    b1: number, ob1: number, b2: number, ob2: number, c1: number, c2: number, eps: number, nlr: number): void;
  gemmTN16(pt: number, dy: number, out: number, rows: number, K: number, nBytes: number, kBlock: number): void;
  copyRuns(dst: number, src: number, outer: number, rows: number, runFloats: number, srcRowBytes: number, srcOuterBytes: number): void;
}

const simdCache = new WeakMap<object, SimdKernels | null>();

let simdEnabled = true;

/** Turn the SIMD helper loops off (their JS / stock-kernel fallbacks run instead); for tests and diagnostics. */
export function setWasmSimdHelpersEnabled(enabled: boolean): void {
  simdEnabled = enabled;
}

/** The SIMD helpers bound to this backend's memory, or null if they cannot be used here. */
export function simdKernels(backend: WasmBackendLike): SimdKernels | null {
  if (!simdEnabled) return null;
  const module = emscriptenModule(backend);
  if (!module) return null;
  if (simdCache.has(module)) return simdCache.get(module) ?? null;
  let kernels: SimdKernels | null = null;
  try {
    const funcs = [maxPoolGrad2x2Func(), sumRowsFunc(), addRowsFunc(), adamUpdateFunc(), gemmTN16Func(), copyRunsFunc()];
    kernels = instantiateOnHeap(funcs, module) as unknown as SimdKernels | null;
  } catch {
    kernels = null; // e.g. a runtime without WebAssembly SIMD
  }
  simdCache.set(module, kernels);
  return kernels;
}
