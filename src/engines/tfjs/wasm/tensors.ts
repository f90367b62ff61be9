/**
 * Helpers on tensors that live in the wasm backend: views of their data on the wasm heap, disposal of intermediates,
 * and reshape/transpose through the stock kernels (no engine bookkeeping for intermediates).
 */
import { runKernel, type TensorInfo, type WasmBackendLike } from './registry';

export type Rounding = 'floor' | 'round' | 'ceil';

/** The part of the wasm backend's Emscripten module used here (the SIMD helpers share its memory). */
export interface EmscriptenModuleLike {
  asm?: Record<string, unknown>;
  wasmMemory?: unknown;
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

export function emscriptenModule(backend: WasmBackendLike): EmscriptenModuleLike | undefined {
  return (backend as unknown as { wasm?: EmscriptenModuleLike }).wasm;
}

export function dispose(backend: WasmBackendLike, ...infos: Array<TensorInfo | null | undefined>): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

/** A Float32Array view of a tensor on the wasm heap. Take views only after the last allocation (growth detaches). */
export function heapF32(backend: WasmBackendLike, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

export function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return runKernel('Transpose', backend, { x }, { perm });
}

export function reshape(backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  return runKernel('Reshape', backend, { x }, { shape });
}

export function size(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: WasmBackendLike, info: TensorInfo): number {
  const view = backend.typedArrayFromHeap(info);
  return view.byteOffset;
}
