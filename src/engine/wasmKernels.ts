/**
 * Training-kernel fixes for @tensorflow/tfjs-backend-wasm 4.22 (measured on this project's reference workloads).
 *
 * - Conv2DBackpropFilter: missing on wasm (training any Conv2D throws). Two formulations, both on wasm kernels:
 *   (a) for few filter rows (fh*fw*ci <= IM2COL_MAX_ROWS, e.g. a first layer on 1-3 channels): build the transposed
 *       im2col matrix P^T [fh*fw*ci, B*Ho*Wo] in JS and run one XNNPACK matrix multiply dW = P^T . dy;
 *   (b) otherwise one forward convolution with batch and channel roles swapped: x^T [ci,H,W,B] convolved with the
 *       "filter" dy^T [Ho,Wo,B,co], stride 1, dilation = the original stride, gives dW^T [ci,fh,fw,co].
 * - Conv2DBackpropInput: the wasm kernel is a naive loop (~10x slower than XNNPACK). Computed as a stride-1 convolution
 *   of dy (zero-upsampled when the stride is > 1) with the spatially flipped filter with in/out channels swapped.
 * - BatchMatMul / _FusedMatMul with transposeA/transposeB: wasm uses XNNPACK only for the untransposed case and runs a
 *   naive loop otherwise (10-15x slower). Operands are transposed explicitly and the untransposed kernel runs. XNNPACK
 *   repacks the right operand on every call (the weights change every step), which is slow for wide operands, so
 *   when cheaper a.b is computed as (b^T a^T)^T instead.
 * - MaxPoolGrad: the wasm kernel takes ~16 ms on a 64x28x28x16 input and routes the gradient of windows whose values
 *   are all <= 0 to the wrong place (it starts its max search at FLT_MIN). Replaced by a JS loop over the wasm heap
 *   with the cpu backend's semantics (first maximum wins, windows without a finite maximum get no gradient).
 * - Sum over leading axes (bias gradients): the wasm kernel transposes the input first; a JS loop over the heap is 2x
 *   faster.
 * - Identity and same-dtype Cast: wasm copies the data; tensors are immutable, so the output shares the input's
 *   buffer (as the cpu backend does). Removes the copies tfjs makes when saving tensors for gradients.
 *
 * Replacements call the wasm backend's own kernel functions directly (no engine bookkeeping for intermediates) and
 * fall back to the original kernel for every case they do not handle.
 */
import * as tf from '@tensorflow/tfjs-core';

type TensorInfo = tf.TensorInfo;
type KernelFunc = tf.KernelFunc;
type NamedAttrMap = tf.NamedAttrMap;
type Rounding = 'floor' | 'round' | 'ceil';

/** The part of BackendWasm these kernels use. */
interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const BACKEND = 'wasm';

/** Filter rows (fh*fw*ci) up to which Conv2DBackpropFilter uses the im2col + matmul formulation. */
const IM2COL_MAX_ROWS = 32;

/** Original wasm kernel configs, captured before replacement (null: the kernel did not exist). */
const originals = new Map<string, tf.KernelConfig | null>();
const replaced = new Set<string>();

function kernelConfig(name: string): tf.KernelConfig | null {
  if (originals.has(name)) return originals.get(name) ?? null;
  return tf.getKernel(name, BACKEND) ?? null;
}

function runKernel(name: string, backend: WasmBackendLike, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const config = kernelConfig(name);
  if (!config) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

function dispose(backend: WasmBackendLike, ...infos: Array<TensorInfo | null | undefined>): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

/** A Float32Array view of a tensor on the wasm heap. Take views only after the last allocation (growth detaches). */
function heapF32(backend: WasmBackendLike, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return runKernel('Transpose', backend, { x }, { perm });
}

function reshape(backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  return runKernel('Reshape', backend, { x }, { shape });
}

function size(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function convInfoFor(
  xShape: number[], filterShape: number[],
  attrs: { strides: [number, number] | number; pad: unknown; dimRoundingMode?: Rounding; dataFormat: 'NHWC' | 'NCHW' },
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad as 'same', attrs.dimRoundingMode, false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat));
}

// ---------------------------------------------------------------------------------------------------------------------
// BatchMatMul / _FusedMatMul

// Relative cost per element of a wasm Transpose and of XNNPACK's repacking of the right operand (measured ~1:4).
const TRANSPOSE_COST = 1;
const PACK_COST = 4;

/**
 * a.b with explicit transposes so that only the fast (untransposed, batch 1) XNNPACK path runs. For BatchMatMul
 * without batch dims the cheaper of a.b and (b^T a^T)^T is used (the right operand is repacked on every call).
 */
function makeMatMul(name: 'BatchMatMul' | '_FusedMatMul', original: tf.KernelConfig): KernelFunc {
  return (args) => {
    const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    const backend = args.backend as WasmBackendLike;
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
      return original.kernelFunc(args);
    }
    const tA = !!attrs.transposeA;
    const tB = !!attrs.transposeB;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
    const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (name === 'BatchMatMul' && batchA === 1 && batchB === 1 && K === (tB ? b.shape[rb - 1] : b.shape[rb - 2])) {
      const direct = TRANSPOSE_COST * ((tA ? M * K : 0) + (tB ? K * N : 0)) + PACK_COST * K * N;
      const swapped = TRANSPOSE_COST * ((tB ? 0 : K * N) + (tA ? 0 : M * K) + M * N) + PACK_COST * K * M;
      if (swapped < 0.8 * direct) return swappedMatMul(a, b, tA, tB, M, N, K, original, backend);
    }
    if (!tA && !tB) return original.kernelFunc(args);
    const at = tA ? transpose(backend, a, swapLastTwo(ra)) : a;
    const bt = tB ? transpose(backend, b, swapLastTwo(rb)) : b;
    try {
      return original.kernelFunc({
        inputs: { ...args.inputs, a: at, b: bt },
        backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      if (at !== a) dispose(backend, at);
      if (bt !== b) dispose(backend, bt);
    }
  };
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** C = op(a).op(b) computed as (op(b)^T . op(a)^T)^T for single (unbatched) matrices. */
function swappedMatMul(
  a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean, M: number, N: number, K: number,
  original: tf.KernelConfig, backend: WasmBackendLike,
): TensorInfo {
  const temps: TensorInfo[] = [];
  try {
    // left operand op(b)^T as [1, N, K]
    const b2 = reshape(backend, b, tB ? [N, K] : [K, N]);
    temps.push(b2);
    let left = tB ? b2 : transpose(backend, b2, [1, 0]);
    if (left !== b2) temps.push(left);
    left = reshape(backend, left, [1, N, K]);
    temps.push(left);
    // right operand op(a)^T as [1, K, M]
    const a2 = reshape(backend, a, tA ? [K, M] : [M, K]);
    temps.push(a2);
    let right = tA ? a2 : transpose(backend, a2, [1, 0]);
    if (right !== a2) temps.push(right);
    right = reshape(backend, right, [1, K, M]);
    temps.push(right);
    const ct = original.kernelFunc({ inputs: { a: left, b: right }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
    temps.push(ct);
    const ct2 = reshape(backend, ct, [N, M]);
    temps.push(ct2);
    const c = transpose(backend, ct2, [1, 0]);
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)).concat([M, N]);
    c.shape = outShape;
    return c;
  } finally {
    dispose(backend, ...temps);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Conv2DBackpropFilter

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: unknown;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: Rounding;
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilter(x: TensorInfo, dy: TensorInfo, attrs: BackpropFilterAttrs, backend: WasmBackendLike): TensorInfo | null {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4 || dy.shape.length !== 4) return null;
  const info = convInfoFor(x.shape, attrs.filterShape, attrs);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const channelsLast = info.dataFormat === 'channelsLast';
  const { batchSize, outHeight, outWidth, outChannels } = info;
  const expectDy = channelsLast ? [batchSize, outHeight, outWidth, outChannels] : [batchSize, outChannels, outHeight, outWidth];
  if (!tf.util.arraysEqual(dy.shape, expectDy)) return null;
  if (info.padInfo.top < 0 || info.padInfo.left < 0) return null;
  if (channelsLast && info.filterHeight * info.filterWidth * info.inChannels <= IM2COL_MAX_ROWS) {
    return backpropFilterIm2col(x, dy, info, backend);
  }
  return backpropFilterSwappedConv(x, dy, info, channelsLast, backend);
}

/** dW [fh*fw*ci, co] = P^T [fh*fw*ci, B*Ho*Wo] . dy [B*Ho*Wo, co] with P^T built in JS (NHWC only). */
function backpropFilterIm2col(x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackendLike): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, outChannels: CO,
    filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rows = FH * FW * C;
  const cols = B * Ho * Wo;
  const temps: TensorInfo[] = [];
  try {
    const pt = backend.makeOutput([1, rows, cols], 'float32');
    temps.push(pt);
    const xs = heapF32(backend, x);
    const out = heapF32(backend, pt);
    for (let di = 0; di < FH; di++) {
      for (let dj = 0; dj < FW; dj++) {
        // output columns j whose input column j*SW+dj-left lies inside [0, W)
        const jLo = Math.max(0, Math.ceil((left - dj) / SW));
        const jHi = Math.min(Wo, Math.floor((W - 1 + left - dj) / SW) + 1);
        for (let c = 0; c < C; c++) {
          let o = ((di * FW + dj) * C + c) * cols;
          for (let b = 0; b < B; b++) {
            for (let i = 0; i < Ho; i++) {
              const r = i * SH + di - top;
              if (r < 0 || r >= H || jHi <= jLo) {
                out.fill(0, o, o + Wo);
                o += Wo;
                continue;
              }
              if (jLo > 0) out.fill(0, o, o + jLo);
              let src = ((b * H + r) * W + (jLo * SW + dj - left)) * C + c;
              const step = SW * C;
              for (let j = jLo; j < jHi; j++, src += step) out[o + j] = xs[src];
              if (jHi < Wo) out.fill(0, o + Math.max(jHi, 0), o + Wo);
              o += Wo;
            }
          }
        }
      }
    }
    const dy3 = reshape(backend, dy, [1, cols, CO]);
    temps.push(dy3);
    const dw = runKernel('BatchMatMul', backend, { a: pt, b: dy3 }, { transposeA: false, transposeB: false });
    temps.push(dw);
    return reshape(backend, dw, [FH, FW, C, CO]);
  } finally {
    dispose(backend, ...temps);
  }
}

/** dW as one forward convolution of x^T [ci,H,W,B] with dy^T [Ho,Wo,B,co] (dilation = stride), then a transpose. */
function backpropFilterSwappedConv(
  x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, channelsLast: boolean, backend: WasmBackendLike,
): TensorInfo | null {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Padding after x so that the swapped convolution (kernel extent (Ho-1)*s+1) has exactly filterHeight outputs;
  // negative means the original convolution never reads the last rows of x, which are then cropped.
  let bottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - top;
  let right = filterWidth + (outWidth - 1) * strideWidth - inWidth - left;
  const cropH = bottom < 0 ? inHeight + bottom : inHeight;
  const cropW = right < 0 ? inWidth + right : inWidth;
  if (cropH <= 0 || cropW <= 0) return null;
  bottom = Math.max(bottom, 0);
  right = Math.max(right, 0);

  const temps: TensorInfo[] = [];
  try {
    let xs = x;
    if (cropH !== inHeight || cropW !== inWidth) {
      const sliceSize = channelsLast ? [batchSize, cropH, cropW, inChannels] : [batchSize, inChannels, cropH, cropW];
      xs = runKernel('Slice', backend, { x }, { begin: [0, 0, 0, 0], size: sliceSize });
      temps.push(xs);
    }
    const xT = transpose(backend, xs, channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0]);
    temps.push(xT);
    const dyT = transpose(backend, dy, channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1]);
    temps.push(dyT);
    const out = runKernel('Conv2D', backend, { x: xT, filter: dyT }, {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [strideHeight, strideWidth],
    });
    temps.push(out);
    if (!tf.util.arraysEqual(out.shape, [inChannels, filterHeight, filterWidth, outChannels])) {
      throw new Error(`Conv2DBackpropFilter: unexpected intermediate shape ${out.shape}`);
    }
    return transpose(backend, out, [1, 2, 0, 3]);
  } finally {
    dispose(backend, ...temps);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Conv2DBackpropInput

interface BackpropInputAttrs {
  strides: [number, number] | number;
  pad: unknown;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: Rounding;
  inputShape: [number, number, number, number];
}

/** dx as a stride-1 convolution of (zero-upsampled) dy with the flipped, channel-swapped filter; null if unhandled. */
function conv2DBackpropInput(dy: TensorInfo, filter: TensorInfo, attrs: BackpropInputAttrs, backend: WasmBackendLike): TensorInfo | null {
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (attrs.dataFormat !== 'NHWC') return null;
  const info = convInfoFor(attrs.inputShape, filter.shape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (!tf.util.arraysEqual(dy.shape, [batchSize, outHeight, outWidth, outChannels])) return null;
  const padTop = filterHeight - 1 - info.padInfo.top;
  const padLeft = filterWidth - 1 - info.padInfo.left;
  if (padTop < 0 || padLeft < 0) return null;
  // Size of dy after zero-upsampling by the stride (trailing zeros dropped).
  const upH = (outHeight - 1) * strideHeight + 1;
  const upW = (outWidth - 1) * strideWidth + 1;
  const padBottom = inHeight + filterHeight - 1 - padTop - upH;
  const padRight = inWidth + filterWidth - 1 - padLeft - upW;
  if (padBottom < 0 || padRight < 0) return null;

  const temps: TensorInfo[] = [];
  try {
    let src = dy;
    if (strideHeight > 1 || strideWidth > 1) {
      // [b, Ho, Wo, co] -> [b, Ho, 1, Wo, 1, co] -> pad (s-1) zeros -> [b, Ho*sh, Wo*sw, co] -> crop to upH x upW
      const r6 = reshape(backend, dy, [batchSize, outHeight, 1, outWidth, 1, outChannels]);
      temps.push(r6);
      const padded = runKernel('PadV2', backend, { x: r6 }, {
        paddings: [[0, 0], [0, 0], [0, strideHeight - 1], [0, 0], [0, strideWidth - 1], [0, 0]],
        constantValue: 0,
      });
      temps.push(padded);
      const up = reshape(backend, padded, [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels]);
      temps.push(up);
      src = runKernel('Slice', backend, { x: up }, { begin: [0, 0, 0, 0], size: [batchSize, upH, upW, outChannels] });
      temps.push(src);
    }
    // filter [fh, fw, ci, co] -> flipped spatially -> [fh, fw, co, ci]
    const flipped = runKernel('Reverse', backend, { x: filter }, { dims: [0, 1] });
    temps.push(flipped);
    const kernel = transpose(backend, flipped, [0, 1, 3, 2]);
    temps.push(kernel);
    const out = runKernel('Conv2D', backend, { x: src, filter: kernel }, {
      strides: [1, 1],
      pad: [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    });
    if (!tf.util.arraysEqual(out.shape, [batchSize, inHeight, inWidth, inChannels])) {
      temps.push(out);
      throw new Error(`Conv2DBackpropInput: unexpected output shape ${out.shape}`);
    }
    return out;
  } finally {
    dispose(backend, ...temps);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// MaxPoolGrad

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: unknown;
  dimRoundingMode?: Rounding;
}

/** NHWC max-pool gradient with the cpu backend's semantics: per window the first maximum gets dy. */
function maxPoolGrad(dy: TensorInfo, input: TensorInfo, attrs: MaxPoolGradAttrs, backend: WasmBackendLike): TensorInfo | null {
  if (dy.dtype !== 'float32' || input.dtype !== 'float32' || input.shape.length !== 4 || dy.shape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad as 'same', attrs.dimRoundingMode);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, strideHeight: SH, strideWidth: SW,
    effectiveFilterHeight: FH, effectiveFilterWidth: FW } = info;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (!tf.util.arraysEqual(dy.shape, [B, Ho, Wo, C])) return null;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = backend.makeOutput(input.shape.slice(), 'float32');
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const out = heapF32(backend, dx);
  out.fill(0);
  const rowStride = W * C;
  if (FH === 2 && FW === 2 && SH === 2 && SW === 2 && top === 0 && left === 0 && 2 * Ho <= H && 2 * Wo <= W) {
    // Non-overlapping 2x2 windows fully inside the input (the common MaxPooling2D(2) case).
    let gi = 0;
    for (let b = 0; b < B; b++) {
      for (let yr = 0; yr < Ho; yr++) {
        const rowBase = (b * H + 2 * yr) * rowStride;
        for (let yc = 0; yc < Wo; yc++) {
          const base = rowBase + 2 * yc * C;
          for (let d = 0; d < C; d++) {
            const p0 = base + d;
            const p1 = p0 + C;
            const p2 = p0 + rowStride;
            const p3 = p2 + C;
            let m = -Infinity;
            let p = -1;
            let v = x[p0];
            if (v > m) { m = v; p = p0; }
            v = x[p1];
            if (v > m) { m = v; p = p1; }
            v = x[p2];
            if (v > m) { m = v; p = p2; }
            v = x[p3];
            if (v > m) { p = p3; }
            if (p >= 0) out[p] = g[gi + d];
          }
          gi += C;
        }
      }
    }
    return dx;
  }
  let gi = 0;
  for (let b = 0; b < B; b++) {
    const xb = b * H * rowStride;
    for (let yr = 0; yr < Ho; yr++) {
      const r0 = yr * SH - top;
      const rMin = Math.max(r0, 0);
      const rMax = Math.min(H, r0 + FH);
      for (let yc = 0; yc < Wo; yc++) {
        const c0 = yc * SW - left;
        const cMin = Math.max(c0, 0);
        const cMax = Math.min(W, c0 + FW);
        for (let d = 0; d < C; d++, gi++) {
          let m = -Infinity;
          let p = -1;
          for (let r = rMin; r < rMax; r++) {
            let q = xb + r * rowStride + cMin * C + d;
            for (let c = cMin; c < cMax; c++, q += C) {
              const v = x[q];
              if (v > m) { m = v; p = q; }
            }
          }
          if (p >= 0) out[p] += g[gi];
        }
      }
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------------
// Sum over leading axes

function sumLeading(x: TensorInfo, attrs: { axis: number | number[]; keepDims: boolean }, backend: WasmBackendLike): TensorInfo | null {
  if (x.dtype !== 'float32' || x.shape.length < 2) return null;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).slice().sort((p, q) => p - q);
  const k = axes.length;
  if (k === 0 || k === x.shape.length) return null;
  for (let i = 0; i < k; i++) if (axes[i] !== i) return null;
  const outer = size(x.shape.slice(0, k));
  const inner = size(x.shape.slice(k));
  if (outer < 2) return null;
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
  const out = backend.makeOutput(outShape, 'float32');
  const xs = heapF32(backend, x);
  const res = heapF32(backend, out);
  const acc = new Float64Array(inner);
  let o = 0;
  for (let i = 0; i < outer; i++, o += inner) {
    for (let j = 0; j < inner; j++) acc[j] += xs[o + j];
  }
  for (let j = 0; j < inner; j++) res[j] = acc[j];
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Registration

function replaceKernel(name: string, make: (original: tf.KernelConfig | null) => KernelFunc): void {
  if (replaced.has(name)) return;
  const existing = tf.getKernel(name, BACKEND) ?? null;
  const kernelFunc = make(existing);
  originals.set(name, existing);
  if (existing) tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({
    kernelName: name,
    backendName: BACKEND,
    kernelFunc,
    // Re-run the original setup (it binds the wasm exports) if the backend is ever re-initialized.
    setupFunc: existing?.setupFunc,
    disposeFunc: existing?.disposeFunc,
  });
  replaced.add(name);
}

function withFallback(
  name: string, impl: (args: Parameters<KernelFunc>[0]) => TensorInfo | null,
): (original: tf.KernelConfig | null) => KernelFunc {
  return (original) => (args) => {
    const out = impl(args);
    if (out) return out;
    if (original) return original.kernelFunc(args);
    throw new Error(`${name} on wasm does not support this case (inputs ${JSON.stringify(
      Object.fromEntries(Object.entries(args.inputs).map(([k, v]) => [k, v ? `${v.dtype}[${v.shape}]` : null])))}, ` +
      `attrs ${JSON.stringify(args.attrs)})`);
  };
}

function registerConv2DBackpropFilter(): void {
  replaceKernel('Conv2DBackpropFilter', withFallback('Conv2DBackpropFilter', (args) => conv2DBackpropFilter(
    args.inputs.x as TensorInfo, args.inputs.dy as TensorInfo,
    args.attrs as unknown as BackpropFilterAttrs, args.backend as WasmBackendLike)));
}

/** Register only the kernels wasm lacks entirely (so stock speed can be measured). Idempotent. */
export function registerWasmMissingKernels(): void {
  if (tf.getKernel('Conv2DBackpropFilter', BACKEND) == null || replaced.has('Conv2DBackpropFilter')) {
    registerConv2DBackpropFilter();
  }
}

/** Register all wasm training-kernel fixes. Idempotent; call after the wasm backend is registered. */
export function registerWasmTrainingKernels(): void {
  registerConv2DBackpropFilter();
  replaceKernel('Conv2DBackpropInput', withFallback('Conv2DBackpropInput', (args) => conv2DBackpropInput(
    args.inputs.dy as TensorInfo, args.inputs.filter as TensorInfo,
    args.attrs as unknown as BackpropInputAttrs, args.backend as WasmBackendLike)));
  for (const name of ['BatchMatMul', '_FusedMatMul'] as const) {
    replaceKernel(name, (original) => {
      if (!original) throw new Error(`${name} is not registered for wasm`);
      return makeMatMul(name, original);
    });
  }
  replaceKernel('MaxPoolGrad', withFallback('MaxPoolGrad', (args) => maxPoolGrad(
    args.inputs.dy as TensorInfo, args.inputs.input as TensorInfo,
    args.attrs as unknown as MaxPoolGradAttrs, args.backend as WasmBackendLike)));
  replaceKernel('Sum', withFallback('Sum', (args) => sumLeading(
    args.inputs.x as TensorInfo, args.attrs as unknown as { axis: number | number[]; keepDims: boolean },
    args.backend as WasmBackendLike)));
  const share = (x: TensorInfo, backend: WasmBackendLike): TensorInfo => {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
  replaceKernel('Identity', withFallback('Identity', (args) => {
    const x = args.inputs.x as TensorInfo;
    return x.dtype === 'string' || x.dtype === 'complex64' ? null : share(x, args.backend as WasmBackendLike);
  }));
  replaceKernel('Cast', withFallback('Cast', (args) => {
    const x = args.inputs.x as TensorInfo;
    const dtype = (args.attrs as { dtype?: string }).dtype;
    return dtype === x.dtype && x.dtype !== 'string' && x.dtype !== 'complex64' ? share(x, args.backend as WasmBackendLike) : null;
  }));
}

/** Names of the kernels currently replaced or added (for diagnostics and tests). */
export function replacedWasmKernels(): string[] {
  return [...replaced];
}
