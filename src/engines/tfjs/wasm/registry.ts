/**
 * How the replacements are installed, and the kernel registry state they share.
 *
 * replaceKernel swaps a wasm kernel for a replacement and keeps the original config, so that a replacement can fall
 * back to it for the cases it does not handle (withFallback) and the kernels in this folder can call stock kernels
 * (runKernel) without re-entering a replacement, e.g. the Conv2DBackpropFilter replacement's Transpose or the batched
 * _FusedMatMul's Add.
 *
 * State lifetime: `originals` and `replaced` are module-level and live as long as the process (as does tfjs-core's
 * kernel registry they mirror). They are filled by the register functions in ./index and never cleared: every
 * register function is idempotent, a kernel is replaced at most once, and its original stays reachable here.
 */
import * as tf from '@tensorflow/tfjs-core';

export type TensorInfo = tf.TensorInfo;
export type KernelFunc = tf.KernelFunc;
export type NamedAttrMap = tf.NamedAttrMap;
/** The argument a kernel function receives. */
export type KernelArgs = Parameters<KernelFunc>[0];

/** The part of BackendWasm these kernels use. */
export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export const BACKEND = 'wasm';

/** Original wasm kernel configs, captured before replacement (null: the kernel did not exist). */
const originals = new Map<string, tf.KernelConfig | null>();
const replaced = new Set<string>();

function kernelConfig(name: string): tf.KernelConfig | null {
  if (originals.has(name)) return originals.get(name) ?? null;
  return tf.getKernel(name, BACKEND) ?? null;
}

/** Run the original (stock) wasm kernel `name`, also when it has been replaced. */
export function runKernel(name: string, backend: WasmBackendLike, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const config = kernelConfig(name);
  if (!config) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

/** Replace wasm kernel `name` by make(original), keeping the original config (if any) for runKernel and fallbacks. */
export function replaceKernel(name: string, make: (original: tf.KernelConfig | null) => KernelFunc): void {
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

/** A replacement that runs `impl`, and the original kernel where `impl` returns null (an error if there is none). */
export function withFallback(
  name: string, impl: (args: KernelArgs) => TensorInfo | null,
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

/** Register a kernel wasm does not have at all (counted among the replaced kernels). */
export function addKernel(name: string, kernelFunc: KernelFunc): void {
  tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc });
  replaced.add(name);
}

/** Whether `name` has been replaced or added here. */
export function isReplaced(name: string): boolean {
  return replaced.has(name);
}

/** Names of the kernels currently replaced or added (for diagnostics and tests). */
export function replacedWasmKernels(): string[] {
  return [...replaced];
}
