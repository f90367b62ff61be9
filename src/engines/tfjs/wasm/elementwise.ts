/**
 * Elementwise kernels replaced on wasm:
 *
 * - Sum over leading axes (bias gradients): the wasm kernel transposes first; a SIMD loop with float64 accumulators.
 * - Add of a per-channel bias (x [..., C] + b [C]): the wasm broadcasting path is ~4x slower than a SIMD loop.
 * - Identity and same-dtype Cast: wasm copies the data; tensors are immutable, so the output shares the input's
 *   buffer (as the cpu backend does). Removes the copies tfjs makes when it saves tensors for gradients.
 *
 * Every other case runs the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceKernel, type TensorInfo, type WasmBackendLike, withFallback } from './registry';
import { simdKernels } from './simd';
import { emscriptenModule, type EmscriptenModuleLike, heapF32, heapOffset, size } from './tensors';

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
    const module = emscriptenModule(backend) as EmscriptenModuleLike;
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
// Identity and same-dtype Cast share the input's buffer

function share(x: TensorInfo, backend: WasmBackendLike): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

/** Add, Sum, Identity and Cast; unhandled cases run the stock kernels. */
export function registerElementwise(): void {
  replaceKernel('Add', withFallback('Add', (args) => addBias(
    args.inputs.a as TensorInfo, args.inputs.b as TensorInfo, args.backend as WasmBackendLike)));
  replaceKernel('Sum', withFallback('Sum', (args) => sumLeading(
    args.inputs.x as TensorInfo, args.attrs as unknown as { axis: number | number[]; keepDims: boolean },
    args.backend as WasmBackendLike)));
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
