/**
 * DepthwiseConv2dNativeBackpropFilter/Input: missing on wasm (DepthwiseConv2D / SeparableConv2D training throws).
 * Kernels wasm lacks and that are rare enough to run on the cpu backend's implementation: the data is copied to the
 * cpu backend, its kernel runs, the result is copied back. Correct by construction, at cpu speed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addKernel, BACKEND, type KernelFunc, type TensorInfo, type WasmBackendLike } from './registry';

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

/** Register the cpu-backed kernels wasm lacks (each only if wasm has none and the cpu backend has one). */
export function registerCpuFallbacks(): void {
  for (const name of CPU_FALLBACK_KERNELS) {
    if (tf.getKernel(name, BACKEND) == null && tf.getKernel(name, 'cpu') != null) addKernel(name, viaCpu(name));
  }
}
