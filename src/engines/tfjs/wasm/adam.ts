/**
 * Fused Adam update. tfjs' AdamOptimizer runs 14 elementwise kernels per variable, each a full pass over memory; on
 * wasm that is a third of an MLP training step. The LrfAdamUpdate kernel does the same float32 arithmetic in one pass,
 * and AdamOptimizer.applyGradients is wrapped to use it while the wasm backend is active (other backends, and
 * non-float32 variables, keep the original code path). The SIMD loop is adamUpdate in ./simd; a JS loop with the same
 * float32 rounding handles the tail (and runtimes without SIMD).
 *
 * State: the per-optimizer state (moments, accBeta1/2) is not held here. It is kept in the optimizer's own fields,
 * created on its first step and released by optimizer.dispose() as in stock tfjs, so getWeights/setWeights and
 * serialization are unchanged. The only module state is the installed patch (stockApplyGradients below).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND, type KernelArgs, type KernelFunc, type NamedAttrMap, type TensorInfo, type WasmBackendLike } from './registry';
import { simdKernels } from './simd';
import { heapF32, heapOffset, size } from './tensors';

const ADAM_KERNEL = 'LrfAdamUpdate';

interface AdamAttrs { b1: number; ob1: number; b2: number; ob2: number; c1: number; c2: number; eps: number; nlr: number }

function adamUpdateKernel(args: KernelArgs): TensorInfo[] {
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

/**
 * The module's state: the stock AdamOptimizer.prototype.applyGradients, saved when the patch is installed (null until
 * then). Its lifetime is the process: the patch is installed once, by the first registerFusedAdam (later calls do
 * nothing), on the prototype, so it covers every AdamOptimizer of this tfjs-core instance, created before or after. It
 * is never removed: each call decides whether the fused path applies (wasm active, kernel registered, all variables
 * float32) and otherwise calls the stock method, so other backends are unaffected.
 */
let stockApplyGradients: ApplyGradients | null = null;

function patchAdamOptimizer(): void {
  if (stockApplyGradients) return;
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients: ApplyGradients };
  const original = proto.applyGradients;
  stockApplyGradients = original;
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
        // The moments are created lazily as the stock method does (same names), so dispose/getWeights/setWeights see them.
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

/** Register the LrfAdamUpdate kernel on wasm and install the applyGradients patch (both once per process). */
export function registerFusedAdam(): void {
  if (tf.getKernel(ADAM_KERNEL, BACKEND) == null) {
    tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: BACKEND, kernelFunc: adamUpdateKernel as unknown as KernelFunc });
  }
  patchAdamOptimizer();
}
