/**
 * Training-kernel fixes for @tensorflow/tfjs-backend-wasm 4.22, measured on this project's reference workloads. The
 * backend (../backend) calls registerWasmTrainingKernels, or registerWasmMissingKernels to measure stock speed.
 *
 * One file per concern; each file's header says what stock wasm does wrong or slowly and what replaces it:
 * - conv.ts: Conv2DBackpropFilter (missing on wasm) and Conv2DBackpropInput (a naive loop on wasm).
 * - cpuFallback.ts: DepthwiseConv2dNativeBackpropFilter/Input (missing on wasm), run on the cpu backend's kernels.
 * - matmul.ts: BatchMatMul / _FusedMatMul with transposed operands (a naive loop on wasm).
 * - pool.ts: MaxPoolGrad (slow on wasm, and wrong for windows whose values are all <= 0).
 * - elementwise.ts: Sum over leading axes, per-channel bias Add, zero-copy Identity and same-dtype Cast.
 * - adam.ts: a fused Adam update kernel and the AdamOptimizer patch that uses it.
 * Shared parts:
 * - registry.ts: how kernels are replaced (the originals stay callable) and the names replaced so far.
 * - tensors.ts: heap views, disposal, reshape/transpose through the stock kernels.
 * - simd.ts: the memory-bound SIMD helper loops, a tiny WebAssembly module that imports the backend's memory, built
 *   with assembler.ts.
 *
 * Replacements call the wasm backend's own kernel functions directly (no engine bookkeeping for intermediates) and
 * fall back to the original kernel for every case they do not handle. Each kernel is checked against the cpu backend
 * on random inputs in test/unit/wasmKernels.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerFusedAdam } from './adam';
import { registerConv2DBackpropFilter, registerConv2DBackpropInput } from './conv';
import { registerCpuFallbacks } from './cpuFallback';
import { registerElementwise } from './elementwise';
import { registerMatMul } from './matmul';
import { registerMaxPoolGrad } from './pool';
import { BACKEND, isReplaced } from './registry';

export { replacedWasmKernels } from './registry';
export { setWasmSimdHelpersEnabled } from './simd';

/** Register only the kernels wasm lacks entirely (so stock speed can be measured). Idempotent. */
export function registerWasmMissingKernels(): void {
  if (tf.getKernel('Conv2DBackpropFilter', BACKEND) == null || isReplaced('Conv2DBackpropFilter')) {
    registerConv2DBackpropFilter();
  }
  registerCpuFallbacks();
}

/** Register all wasm training-kernel fixes. Idempotent; call after the wasm backend is registered. */
export function registerWasmTrainingKernels(): void {
  registerWasmMissingKernels();
  registerConv2DBackpropInput();
  registerMatMul();
  registerMaxPoolGrad();
  registerFusedAdam();
  registerElementwise();
}
