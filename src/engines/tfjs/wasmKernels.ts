/**
 * Training-kernel fixes for @tensorflow/tfjs-backend-wasm 4.22, measured on this project's reference workloads.
 *
 * - Conv2DBackpropFilter: missing on wasm (training any Conv2D throws). NHWC with stride 1 or few filter rows
 *   (fh*fw*ci <= IM2COL_MAX_ROWS): the transposed im2col matrix P^T [fh*fw*ci, B*Ho*Wo] is built (a SIMD copy from the
 *   padded channel-major input for stride 1, a JS loop otherwise) and dW = P^T . dy is one XNNPACK matrix multiply, or
 *   a SIMD loop when there are few rows (XNNPACK would repack all of dy first). Otherwise (strided with many rows,
 *   NCHW): one forward convolution with batch and channel roles swapped: x^T [ci,H,W,B] convolved with the "filter"
 *   dy^T [Ho,Wo,B,co], stride 1, dilation = the original stride, gives dW^T [ci,fh,fw,co].
 * - Conv2DBackpropInput: the wasm kernel is a naive loop (~10x slower than XNNPACK). Computed as a stride-1 convolution
 *   of dy (zero-upsampled when the stride is > 1) with the spatially flipped filter with in/out channels swapped.
 * - BatchMatMul / _FusedMatMul with transposeA/transposeB: wasm uses XNNPACK only for the untransposed case and runs a
 *   naive loop otherwise (10-15x slower). Operands are transposed explicitly, then the untransposed kernel runs.
 *   XNNPACK repacks the right operand on every call (weights change every step) and that is slow for wide operands,
 *   so when cheaper a.b is computed as (b^T a^T)^T.
 * - MaxPoolGrad: the wasm kernel takes ~16 ms on a 64x28x28x16 input, and it routes the gradient of windows whose
 *   values are all <= 0 to the wrong element (its max search starts at FLT_MIN). Replaced with the cpu backend's
 *   semantics (first strict maximum from -Infinity wins; a window without one gets no gradient): a SIMD loop for
 *   non-overlapping 2x2 windows with channels % 4 == 0, a JS loop otherwise.
 * - Sum over leading axes (bias gradients): the wasm kernel transposes first; a SIMD loop with float64 accumulators.
 * - Add of a per-channel bias (x [..., C] + b [C]): the wasm broadcasting path is ~4x slower than a SIMD loop.
 * - Identity and same-dtype Cast: wasm copies the data; tensors are immutable, so the output shares the input's
 *   buffer (as the cpu backend does). Removes the copies tfjs makes when it saves tensors for gradients.
 * - Adam: tfjs' AdamOptimizer runs 14 elementwise kernels per variable; a fused kernel does the same float32
 *   arithmetic in one pass (see patchAdamOptimizer).
 * - DepthwiseConv2dNativeBackpropFilter/Input: missing on wasm (DepthwiseConv2D / SeparableConv2D training throws);
 *   run on the cpu backend's kernels with the data copied across.
 *
 * The SIMD loops are a tiny WebAssembly module assembled here that imports the backend's memory. Replacements call
 * the wasm backend's own kernel functions directly (no engine bookkeeping for intermediates) and fall back to the
 * original kernel for every case they do not handle.
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
/** Largest im2col matrix (floats) built for the stride-1 im2col formulation (64 MB); larger ones use (b). */
const IM2COL_MAX_ELEMENTS = 16 * 1024 * 1024;

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
    if (name === '_FusedMatMul' && (batchA > 1 || batchB > 1)) return batchedFusedMatMul(args, original, backend);
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

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu',
};

/**
 * _FusedMatMul with batch dims: the wasm kernel's batched path indexes the bias by row*N+col, which is wrong for
 * every row after the first. Computed as BatchMatMul, then Add of the bias, then the activation kernel.
 */
function batchedFusedMatMul(args: Parameters<KernelFunc>[0], original: tf.KernelConfig, backend: WasmBackendLike): TensorInfo | TensorInfo[] {
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const activation = attrs.activation ?? 'linear';
  if (activation !== 'linear' && !ACTIVATION_KERNELS[activation]) return original.kernelFunc(args);
  const temps: TensorInfo[] = [];
  try {
    // the registered (replaced) BatchMatMul: it transposes explicitly instead of using the naive transposed loop
    let out = tf.getKernel('BatchMatMul', BACKEND).kernelFunc({
      inputs: { a: a as TensorInfo, b: b as TensorInfo }, backend,
      attrs: { transposeA: !!attrs.transposeA, transposeB: !!attrs.transposeB },
    }) as TensorInfo;
    if (bias) {
      temps.push(out);
      out = runKernel('Add', backend, { a: out, b: bias });
    }
    if (activation !== 'linear') {
      temps.push(out);
      const kernel = ACTIVATION_KERNELS[activation];
      out = kernel === 'Prelu'
        ? runKernel(kernel, backend, { x: out, alpha: preluActivationWeights as TensorInfo })
        : runKernel(kernel, backend, { x: out }, kernel === 'LeakyRelu' ? { alpha: attrs.leakyreluAlpha ?? 0.2 } : {});
    }
    return out;
  } finally {
    dispose(backend, ...temps);
  }
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
  const rows = info.filterHeight * info.filterWidth * info.inChannels;
  const unitStride = info.strideHeight === 1 && info.strideWidth === 1;
  if (channelsLast && (rows <= IM2COL_MAX_ROWS ||
      (unitStride && rows * batchSize * outHeight * outWidth <= IM2COL_MAX_ELEMENTS && simdKernels(backend)))) {
    return backpropFilterIm2col(x, dy, info, backend);
  }
  return backpropFilterSwappedConv(x, dy, info, channelsLast, backend);
}

/**
 * dW [fh*fw*ci, co] = P^T [fh*fw*ci, B*Ho*Wo] . dy [B*Ho*Wo, co] (NHWC only). x is first transposed to channel-major
 * [ci, B, H, W] so that every row of P^T is assembled from contiguous runs of x: with stride 1 by a SIMD copy from
 * the padded input, otherwise by a JS loop.
 */
function backpropFilterIm2col(x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackendLike): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo,
    filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rows = FH * FW * C;
  const cols = B * Ho * Wo;
  const temps: TensorInfo[] = [];
  try {
    const xT = transpose(backend, x, [3, 0, 1, 2]);
    temps.push(xT);
    const simdBuild = SH === 1 && SW === 1 ? simdKernels(backend) : null;
    if (simdBuild) {
      // Pad the channel-major input; then every row of P^T is B*Ho runs of Wo floats copied from it.
      const { top: pt0, bottom, left: pl0, right } = info.padInfo;
      let xp = xT;
      if (pt0 || bottom || pl0 || right) {
        xp = runKernel('PadV2', backend, { x: xT }, { paddings: [[0, 0], [0, 0], [pt0, bottom], [pl0, right]], constantValue: 0 });
        temps.push(xp);
      }
      const Hp = xp.shape[2];
      const Wp = xp.shape[3];
      if (Hp < Ho + FH - 1 || Wp < Wo + FW - 1) throw new Error(`Conv2DBackpropFilter: padded input ${Hp}x${Wp} too small`);
      const pt = backend.makeOutput([1, rows, cols], 'float32');
      temps.push(pt);
      const src = heapOffset(backend, xp);
      const dst = heapOffset(backend, pt);
      for (let di = 0; di < FH; di++) {
        for (let dj = 0; dj < FW; dj++) {
          for (let c = 0; c < C; c++) {
            simdBuild.copyRuns(dst + ((di * FW + dj) * C + c) * cols * 4, src + ((c * B * Hp + di) * Wp + dj) * 4,
              B, Ho, Wo, Wp * 4, Hp * Wp * 4);
          }
        }
      }
      return multiplyIm2col(pt, dy, info, backend, temps);
    }
    const pt = backend.makeOutput([1, rows, cols], 'float32');
    temps.push(pt);
    const xs = heapF32(backend, xT);
    const out = heapF32(backend, pt);
    for (let di = 0; di < FH; di++) {
      for (let dj = 0; dj < FW; dj++) {
        // output columns j whose input column j*SW+dj-left lies inside [0, W)
        const jLo = Math.min(Wo, Math.max(0, Math.ceil((left - dj) / SW)));
        const jHi = Math.max(jLo, Math.min(Wo, Math.floor((W - 1 + left - dj) / SW) + 1));
        const colOffset = jLo * SW + dj - left;
        for (let c = 0; c < C; c++) {
          let o = ((di * FW + dj) * C + c) * cols;
          for (let b = 0; b < B; b++) {
            const imageBase = (c * B + b) * H;
            for (let i = 0; i < Ho; i++, o += Wo) {
              const r = i * SH + di - top;
              if (r < 0 || r >= H) {
                out.fill(0, o, o + Wo);
                continue;
              }
              for (let j = 0; j < jLo; j++) out[o + j] = 0;
              let src = (imageBase + r) * W + colOffset;
              if (SW === 1) {
                for (let j = jLo; j < jHi; j++) out[o + j] = xs[src++];
              } else {
                for (let j = jLo; j < jHi; j++, src += SW) out[o + j] = xs[src];
              }
              for (let j = jHi; j < Wo; j++) out[o + j] = 0;
            }
          }
        }
      }
    }
    return multiplyIm2col(pt, dy, info, backend, temps);
  } finally {
    dispose(backend, ...temps);
  }
}

/** dW [fh, fw, ci, co] = P^T . dy: a SIMD loop for few rows (no repacking of dy), else one XNNPACK matmul. */
function multiplyIm2col(pt: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackendLike, temps: TensorInfo[]): TensorInfo {
  const { filterHeight: FH, filterWidth: FW, inChannels: C, outChannels: CO } = info;
  const rows = FH * FW * C;
  const cols = info.batchSize * info.outHeight * info.outWidth;
  const kernels = rows <= IM2COL_MAX_ROWS && CO % 16 === 0 ? simdKernels(backend) : null;
  if (kernels) {
    // Few rows: a SIMD loop beats XNNPACK here, which would first repack all of dy.
    const dw = backend.makeOutput([FH, FW, C, CO], 'float32');
    heapF32(backend, dw).fill(0);
    kernels.gemmTN16(heapOffset(backend, pt), heapOffset(backend, dy), heapOffset(backend, dw), rows, cols, CO * 4, 256);
    return dw;
  }
  const dy3 = reshape(backend, dy, [1, cols, CO]);
  temps.push(dy3);
  const dw = runKernel('BatchMatMul', backend, { a: pt, b: dy3 }, { transposeA: false, transposeB: false });
  temps.push(dw);
  return reshape(backend, dw, [FH, FW, C, CO]);
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
// A few memory-bound loops as a tiny hand-assembled WebAssembly SIMD module that shares the wasm backend's memory
// (tfjs has no kernel for them, and plain JS loops are 5-10x slower). Built once per backend instance; if the runtime
// cannot compile it (no SIMD) the JS loops below are used instead.

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const bytesOf = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

// instructions
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32c = (n: number) => [0x41, ...sleb(n)];
const ADD = [0x6a];
const MUL = [0x6c];
const LT_U = [0x49];
const LOOP = [0x03, 0x40];
const END = [0x0b];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const simd = (code: number) => [0xfd, ...uleb(code)];
const LOAD = [...simd(0x00), 0, 0]; // v128.load align=1 offset=0
const loadAt = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
const F32_LOAD = [0x2a, 0, 0];
const F32_STORE = [0x38, 0, 0];
const BLOCK = [0x02, 0x40];
const EQZ = [0x45];
const GE_U = [0x4f];
const AND_I32 = [0x71];
const SELECT = [0x1b];
const STORE = [...simd(0x0b), 0, 0]; // v128.store
const v128c = (bytes: number[]) => [...simd(0x0c), ...bytes];
const F32X4_GT = simd(0x44);
const AND = simd(0x4e);
const ANDNOT = simd(0x4f); // a & ~b
const OR = simd(0x50);
const BITSELECT = simd(0x52); // (a & c) | (b & ~c)
const F32X4_SPLAT = simd(0x13);
const F32X4_SQRT = simd(0xe3);
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);
const F32X4_DIV = simd(0xe7);
const F64X2_ADD = simd(0xf0);
const F64X2_PROMOTE_LOW = simd(0x5f);
const SHUFFLE_HIGH_TO_LOW = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** `counter += step; br_if (counter < limit)` closing a do-while loop. */
const nextLoop = (counter: number, step: number[], limit: number[]) => [...get(counter), ...step, ...ADD, ...tee(counter), ...limit, ...LT_U, ...brIf(0), ...END];

interface FuncDef { name: string; params: number[]; locals: Array<[number, number]>; body: number[] }

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

function assemble(funcs: FuncDef[], shared: boolean): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0]);
  // memory import "env"."memory": shared memories need a maximum (4 GiB covers any wasm32 memory).
  const limits = shared ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)];
  const imports = vec([[...bytesOf('env'), ...bytesOf('memory'), 0x02, ...limits]]);
  const code = funcs.map((f) => {
    const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, ...END];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...bytesOf(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

interface SimdKernels {
  maxPoolGrad2x2(x: number, dy: number, out: number, ho: number, wo: number, cBytes: number, rowBytes: number): void;
  sumRows(x: number, acc: number, rows: number, innerBytes: number): void;
  addRows(x: number, b: number, out: number, rows: number, innerBytes: number): void;
  adamUpdate(w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, bytes: number,
    b1: number, ob1: number, b2: number, ob2: number, c1: number, c2: number, eps: number, nlr: number): void;
  gemmTN16(pt: number, dy: number, out: number, rows: number, K: number, nBytes: number, kBlock: number): void;
  copyRuns(dst: number, src: number, outer: number, rows: number, runFloats: number, srcRowBytes: number, srcOuterBytes: number): void;
}

interface EmscriptenModuleLike {
  asm?: Record<string, unknown>;
  wasmMemory?: unknown;
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** The WebAssembly global (not in this project's TypeScript lib). */
interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => { readonly buffer: ArrayBufferLike };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}

const simdCache = new WeakMap<object, SimdKernels | null>();

let simdEnabled = true;

/** Turn the SIMD helper loops off (their JS / stock-kernel fallbacks run instead); for tests and diagnostics. */
export function setWasmSimdHelpersEnabled(enabled: boolean): void {
  simdEnabled = enabled;
}

/** The SIMD helpers bound to this backend's memory, or null if they cannot be used here. */
function simdKernels(backend: WasmBackendLike): SimdKernels | null {
  if (!simdEnabled) return null;
  const module = (backend as unknown as { wasm?: EmscriptenModuleLike }).wasm;
  if (!module) return null;
  if (simdCache.has(module)) return simdCache.get(module) ?? null;
  let kernels: SimdKernels | null = null;
  try {
    const wa = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;
    const candidates = [module.wasmMemory, ...Object.values(module.asm ?? {})];
    const memory = wa && candidates.find((m) => m instanceof wa.Memory && (m as { buffer: unknown }).buffer === module.HEAPU8.buffer) as
      { buffer: ArrayBufferLike } | undefined;
    if (wa && memory) {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const bytes = assemble([maxPoolGrad2x2Func(), sumRowsFunc(), addRowsFunc(), adamUpdateFunc(), gemmTN16Func(), copyRunsFunc()], shared);
      const instance = new wa.Instance(new wa.Module(bytes), { env: { memory } });
      kernels = instance.exports as unknown as SimdKernels;
    }
  } catch {
    kernels = null; // e.g. a runtime without WebAssembly SIMD
  }
  simdCache.set(module, kernels);
  return kernels;
}

/** Byte offset of a tensor's data in the wasm heap. */
function heapOffset(backend: WasmBackendLike, info: TensorInfo): number {
  const view = backend.typedArrayFromHeap(info);
  return view.byteOffset;
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
  const rowStride = W * C;
  const nonOverlapping2x2 = FH === 2 && FW === 2 && SH === 2 && SW === 2 && top === 0 && left === 0 && 2 * Ho <= H && 2 * Wo <= W;
  const kernels = nonOverlapping2x2 && C > 0 && C % 4 === 0 && Ho > 0 && Wo > 0 ? simdKernels(backend) : null;
  if (kernels) {
    if (2 * Ho < H || 2 * Wo < W) heapF32(backend, dx).fill(0); // rows/columns no window covers
    const xo = heapOffset(backend, input);
    const go = heapOffset(backend, dy);
    const oo = heapOffset(backend, dx);
    for (let b = 0; b < B; b++) {
      kernels.maxPoolGrad2x2(xo + b * H * rowStride * 4, go + b * Ho * Wo * C * 4, oo + b * H * rowStride * 4, Ho, Wo, C * 4, rowStride * 4);
    }
    return dx;
  }
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const out = heapF32(backend, dx);
  out.fill(0);
  if (nonOverlapping2x2) {
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
  if (outer < 2 || inner < 1) return null;
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
  const kernels = inner % 4 === 0 ? simdKernels(backend) : null;
  if (kernels) {
    const module = (backend as unknown as { wasm: EmscriptenModuleLike }).wasm;
    const acc = module._malloc(inner * 8);
    try {
      const out = backend.makeOutput(outShape, 'float32');
      new Float64Array(module.HEAPU8.buffer, acc, inner).fill(0);
      kernels.sumRows(heapOffset(backend, x), acc, outer, inner * 4);
      const sums = new Float64Array(module.HEAPU8.buffer, acc, inner);
      heapF32(backend, out).set(sums);
      return out;
    } finally {
      module._free(acc);
    }
  }
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
// Add of a per-channel bias (x [..., C] + b [C]): the wasm kernel's broadcasting path is ~4x slower than a plain add.

function addBias(a: TensorInfo, b: TensorInfo, backend: WasmBackendLike): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  let x = a;
  let bias = b;
  if (size(a.shape) < size(b.shape)) {
    x = b;
    bias = a;
  }
  const C = x.shape[x.shape.length - 1];
  if (x.shape.length < 2 || C < 4 || C % 4 !== 0 || size(bias.shape) !== C || bias.shape.length > x.shape.length) return null;
  if (bias.shape.length > 0 && bias.shape[bias.shape.length - 1] !== C) return null;
  const rows = size(x.shape) / C;
  if (rows < 2) return null;
  const kernels = simdKernels(backend);
  if (!kernels) return null;
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  kernels.addRows(heapOffset(backend, x), heapOffset(backend, bias), heapOffset(backend, out), rows, C * 4);
  return out;
}


// ---------------------------------------------------------------------------------------------------------------------
// Fused Adam update. tfjs' AdamOptimizer runs 14 elementwise kernels per variable, each a full pass over memory; on
// wasm that is a third of an MLP training step. The LrfAdamUpdate kernel does the same float32 arithmetic in one pass,
// and AdamOptimizer.applyGradients is wrapped to use it while the wasm backend is active (other backends, and
// non-float32 variables, keep the original code path). Optimizer state (moments, accBeta) is kept in the same fields,
// so getWeights/setWeights and serialization are unchanged.

const ADAM_KERNEL = 'LrfAdamUpdate';

interface AdamAttrs { b1: number; ob1: number; b2: number; ob2: number; c1: number; c2: number; eps: number; nlr: number }

function adamUpdateKernel(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { w, g, m, v } = args.inputs as Record<'w' | 'g' | 'm' | 'v', TensorInfo>;
  const a = args.attrs as unknown as AdamAttrs;
  const n = size(w.shape);
  const wo = backend.makeOutput(w.shape.slice(), 'float32');
  const mo = backend.makeOutput(w.shape.slice(), 'float32');
  const vo = backend.makeOutput(w.shape.slice(), 'float32');
  const kernels = simdKernels(backend);
  const n4 = kernels ? n - (n % 4) : 0;
  if (kernels && n4 > 0) {
    kernels.adamUpdate(heapOffset(backend, w), heapOffset(backend, g), heapOffset(backend, m), heapOffset(backend, v),
      heapOffset(backend, wo), heapOffset(backend, mo), heapOffset(backend, vo), n4 * 4,
      a.b1, a.ob1, a.b2, a.ob2, a.c1, a.c2, a.eps, a.nlr);
  }
  if (n4 < n) {
    const [W, G, M, V, WO, MO, VO] = [w, g, m, v, wo, mo, vo].map((t) => heapF32(backend, t));
    const f = Math.fround;
    for (let k = n4; k < n; k++) {
      const mk = f(f(M[k] * a.b1) + f(G[k] * a.ob1));
      const vk = f(f(V[k] * a.b2) + f(f(G[k] * G[k]) * a.ob2));
      MO[k] = mk;
      VO[k] = vk;
      const t = f(f(mk / a.c1) / f(f(Math.sqrt(f(vk / a.c2))) + a.eps));
      WO[k] = f(f(t * a.nlr) + W[k]);
    }
  }
  return [wo, mo, vo];
}

interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

type ApplyGradients = (this: unknown, grads: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>) => void;
let adamPatched = false;

function patchAdamOptimizer(): void {
  if (adamPatched) return;
  adamPatched = true;
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients: ApplyGradients };
  const original = proto.applyGradients;
  proto.applyGradients = function fusedApplyGradients(variableGradients) {
    const self = this as AdamInternals;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const registered = tf.engine().registeredVariables;
    const usable = tf.getBackend() === BACKEND && tf.getKernel(ADAM_KERNEL, BACKEND) != null &&
      names.every((name) => registered[name] == null || registered[name].dtype === 'float32');
    if (!usable) {
      original.call(this, variableGradients);
      return;
    }
    tf.tidy(() => {
      const f = Math.fround;
      const c1 = f(1 - self.accBeta1.dataSync()[0]);
      const c2 = f(1 - self.accBeta2.dataSync()[0]);
      const attrs: AdamAttrs = {
        b1: f(self.beta1), ob1: f(1 - self.beta1), b2: f(self.beta2), ob2: f(1 - self.beta2),
        c1, c2, eps: f(self.epsilon), nlr: f(-self.learningRate),
      };
      names.forEach((name, i) => {
        const value = registered[name];
        if (self.accumulatedFirstMoment[i] == null) {
          self.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        }
        if (self.accumulatedSecondMoment[i] == null) {
          self.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        }
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const firstMoment = (self.accumulatedFirstMoment[i] as { variable: tf.Variable }).variable;
        const secondMoment = (self.accumulatedSecondMoment[i] as { variable: tf.Variable }).variable;
        const [w2, m2, v2] = tf.engine().runKernel(ADAM_KERNEL,
          { w: value, g: gradient, m: firstMoment, v: secondMoment }, attrs as unknown as NamedAttrMap) as tf.Tensor[];
        firstMoment.assign(m2);
        secondMoment.assign(v2);
        value.assign(w2);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Kernels wasm lacks and that are rare enough to run on the cpu backend's implementation: the data is copied to the
// cpu backend, its kernel runs, the result is copied back. Correct by construction, at cpu speed.

const CPU_FALLBACK_KERNELS = ['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'];

interface CpuBackendLike {
  write(values: ArrayLike<number>, shape: number[], dtype: tf.DataType): object;
  readSync(dataId: object): ArrayLike<number>;
  disposeData(dataId: object, force?: boolean): boolean;
}

function viaCpu(name: string): KernelFunc {
  return (args) => {
    const cpuKernel = tf.getKernel(name, 'cpu');
    if (!cpuKernel) throw new Error(`${name} is not available on wasm or cpu`);
    const backend = args.backend as WasmBackendLike & { readSync(dataId: object): ArrayLike<number> };
    const cpu = tf.engine().findBackend('cpu') as unknown as CpuBackendLike;
    const inputs: Record<string, TensorInfo> = {};
    const created: object[] = [];
    try {
      for (const [k, v] of Object.entries(args.inputs)) {
        if (!v) continue;
        const dataId = cpu.write(backend.readSync(v.dataId), v.shape.slice(), v.dtype);
        created.push(dataId);
        inputs[k] = { dataId, shape: v.shape.slice(), dtype: v.dtype };
      }
      const out = cpuKernel.kernelFunc({ inputs, backend: cpu, attrs: args.attrs });
      const outs = Array.isArray(out) ? out : [out];
      const results = outs.map((o) => {
        created.push(o.dataId);
        const w = backend.makeOutput(o.shape.slice(), o.dtype);
        backend.typedArrayFromHeap(w).set(cpu.readSync(o.dataId));
        return w;
      });
      return Array.isArray(out) ? results : results[0];
    } finally {
      for (const id of created) cpu.disposeData(id);
    }
  };
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
  for (const name of CPU_FALLBACK_KERNELS) {
    if (tf.getKernel(name, BACKEND) == null && tf.getKernel(name, 'cpu') != null) {
      tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: viaCpu(name) });
      replaced.add(name);
    }
  }
}

/** Register all wasm training-kernel fixes. Idempotent; call after the wasm backend is registered. */
export function registerWasmTrainingKernels(): void {
  registerWasmMissingKernels();
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
  if (tf.getKernel(ADAM_KERNEL, BACKEND) == null) {
    tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: BACKEND, kernelFunc: adamUpdateKernel as unknown as KernelFunc });
  }
  patchAdamOptimizer();
  replaceKernel('Add', withFallback('Add', (args) => addBias(
    args.inputs.a as TensorInfo, args.inputs.b as TensorInfo, args.backend as WasmBackendLike)));
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
