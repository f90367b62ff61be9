/**
 * BatchMatMul / _FusedMatMul with transposeA/transposeB: wasm uses XNNPACK only for the untransposed case and runs a
 * naive loop otherwise (10-15x slower). Operands are transposed explicitly, then the untransposed kernel runs.
 * XNNPACK repacks the right operand on every call (weights change every step) and that is slow for wide operands,
 * so when cheaper a.b is computed as (b^T a^T)^T.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND, type KernelArgs, type KernelFunc, replaceKernel, runKernel, type TensorInfo, type WasmBackendLike } from './registry';
import { dispose, reshape, size, transpose } from './tensors';

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
function batchedFusedMatMul(args: KernelArgs, original: tf.KernelConfig, backend: WasmBackendLike): TensorInfo | TensorInfo[] {
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

/** BatchMatMul and _FusedMatMul. */
export function registerMatMul(): void {
  for (const name of ['BatchMatMul', '_FusedMatMul'] as const) {
    replaceKernel(name, (original) => {
      if (!original) throw new Error(`${name} is not registered for wasm`);
      return makeMatMul(name, original);
    });
  }
}
