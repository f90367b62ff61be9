/**
 * MaxPoolGrad: the wasm kernel takes ~16 ms on a 64x28x28x16 input, and it routes the gradient of windows whose
 * values are all <= 0 to the wrong element (its max search starts at FLT_MIN). Replaced with the cpu backend's
 * semantics (first strict maximum from -Infinity wins; a window without one gets no gradient): a SIMD loop for
 * non-overlapping 2x2 windows with channels % 4 == 0, a JS loop otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceKernel, type TensorInfo, type WasmBackendLike, withFallback } from './registry';
import { simdKernels } from './simd';
import { heapF32, heapOffset, type Rounding } from './tensors';

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

/** MaxPoolGrad; unhandled cases run the stock kernel. */
export function registerMaxPoolGrad(): void {
  replaceKernel('MaxPoolGrad', withFallback('MaxPoolGrad', (args) => maxPoolGrad(
    args.inputs.dy as TensorInfo, args.inputs.input as TensorInfo,
    args.attrs as unknown as MaxPoolGradAttrs, args.backend as WasmBackendLike)));
}
