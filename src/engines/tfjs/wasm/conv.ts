/**
 * Conv2DBackpropFilter and Conv2DBackpropInput on wasm.
 *
 * - Conv2DBackpropFilter: missing on wasm (training any Conv2D throws). NHWC with stride 1 or few filter rows
 *   (fh*fw*ci <= IM2COL_MAX_ROWS): the transposed im2col matrix P^T [fh*fw*ci, B*Ho*Wo] is built (a SIMD copy from the
 *   padded channel-major input for stride 1, a JS loop otherwise) and dW = P^T . dy is one XNNPACK matrix multiply, or
 *   a SIMD loop when there are few rows (XNNPACK would repack all of dy first). Otherwise (strided with many rows,
 *   NCHW): one forward convolution with batch and channel roles swapped: x^T [ci,H,W,B] convolved with the "filter"
 *   dy^T [Ho,Wo,B,co], stride 1, dilation = the original stride, gives dW^T [ci,fh,fw,co].
 * - Conv2DBackpropInput: the wasm kernel is a naive loop (~10x slower than XNNPACK). Computed as a stride-1 convolution
 *   of dy (zero-upsampled when the stride is > 1) with the spatially flipped filter with in/out channels swapped.
 *
 * Cases not handled here (dilation, unexpected shapes, NCHW for the input gradient) return null and run the stock
 * kernel (Conv2DBackpropInput) or throw a descriptive error (Conv2DBackpropFilter, which wasm lacks).
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceKernel, runKernel, type TensorInfo, type WasmBackendLike, withFallback } from './registry';
import { simdKernels } from './simd';
import { dispose, heapF32, heapOffset, reshape, type Rounding, transpose } from './tensors';

/** Filter rows (fh*fw*ci) up to which Conv2DBackpropFilter uses the im2col + matmul formulation. */
const IM2COL_MAX_ROWS = 32;
/** Largest im2col matrix (floats) built for the stride-1 im2col formulation (64 MB); larger ones use the swapped convolution. */
const IM2COL_MAX_ELEMENTS = 16 * 1024 * 1024;

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
// Registration

/** Conv2DBackpropFilter (also registered when only the kernels wasm lacks are wanted). */
export function registerConv2DBackpropFilter(): void {
  replaceKernel('Conv2DBackpropFilter', withFallback('Conv2DBackpropFilter', (args) => conv2DBackpropFilter(
    args.inputs.x as TensorInfo, args.inputs.dy as TensorInfo,
    args.attrs as unknown as BackpropFilterAttrs, args.backend as WasmBackendLike)));
}

/** Conv2DBackpropInput; unhandled cases run the stock kernel. */
export function registerConv2DBackpropInput(): void {
  replaceKernel('Conv2DBackpropInput', withFallback('Conv2DBackpropInput', (args) => conv2DBackpropInput(
    args.inputs.dy as TensorInfo, args.inputs.filter as TensorInfo,
    args.attrs as unknown as BackpropInputAttrs, args.backend as WasmBackendLike)));
}
