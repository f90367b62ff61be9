/**
 * The wasm training-kernel replacements (src/engines/tfjs/wasm/) against the cpu backend's kernels, on random
 * (non-zero) inputs: every replaced kernel over several shapes, strides 1 and 2, 'same' and 'valid' padding; then the
 * fused Adam update and the gradients of a small Conv2D + MaxPooling2D + Dense model, wasm vs cpu.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engines/tfjs/backend';
import { registerWasmTrainingKernels, replacedWasmKernels, setWasmSimdHelpersEnabled } from '../../src/engines/tfjs/wasm';

type Attrs = tf.NamedAttrMap;
interface Input { shape: number[]; values: Float32Array | Int32Array; dtype?: tf.DataType }

/** Deterministic values in [-1, -0.05] U [0.05, 1] (never zero). */
function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    const m = 0.05 + 0.95 * (u * 2 % 1);
    out[i] = u < 0.5 ? -m : m;
  }
  return out;
}

let seedCounter = 1;
function rand(shape: number[]): Input {
  return { shape, values: randomValues(shape.reduce((a, b) => a * b, 1), seedCounter++ * 7919) };
}

/** Run one kernel on a backend with fresh copies of the inputs; returns the outputs' values. */
async function runOn(backend: string, kernel: string, inputs: Record<string, Input>, attrs: Attrs): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.values, v.shape, v.dtype ?? 'float32');
    const out = tf.engine().runKernel(kernel, ts, attrs) as tf.Tensor | tf.Tensor[];
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= tol * scale, `${what}: max |diff| ${worst} at ${at} (wasm ${actual[at]}, cpu ${expected[at]}), tolerance ${tol * scale}`);
}

async function compare(kernel: string, inputs: Record<string, Input>, attrs: Attrs, tol: number, what: string): Promise<void> {
  const w = await runOn('wasm', kernel, inputs, attrs);
  const c = await runOn('cpu', kernel, inputs, attrs);
  assert.strictEqual(w.length, c.length);
  w.forEach((o, i) => assertClose(o, c[i], tol, `${what} output ${i}`));
}

function convOutShape(x: number[], filter: number[], strides: number, pad: Attrs[string], dataFormat: 'NHWC' | 'NCHW'): number[] {
  const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], filter as [number, number, number, number],
    strides, 1, pad as 'same', undefined, false, dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst');
  return info.outShape;
}

describe('wasm training kernels vs the cpu backend', function () {
  this.timeout(60000);
  let previous = '';

  before(async () => {
    previous = tf.getBackend() ?? '';
    const choice = await initBackend('wasm');
    assert.strictEqual(choice.backend, 'wasm', choice.reason);
    registerWasmTrainingKernels(); // idempotent
  });

  after(async () => {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  });

  it('registers the replacements (and the missing Conv2DBackpropFilter)', () => {
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', '_FusedMatMul', 'MaxPoolGrad', 'Sum', 'Add', 'Identity', 'Cast']) {
      assert.ok(replacedWasmKernels().includes(k), k);
      assert.ok(tf.getKernel(k, 'wasm'), k);
    }
  });

  // [x shape NHWC, filter shape]: fh*fw*ci <= 32 or stride 1 take the im2col paths, the rest the swapped convolution.
  const convCases: Array<[number[], number[]]> = [
    [[2, 9, 9, 1], [3, 3, 1, 4]],
    [[3, 8, 7, 3], [3, 3, 3, 5]],
    [[2, 10, 10, 6], [3, 3, 6, 8]],
    [[2, 7, 9, 5], [2, 4, 5, 3]],
    [[4, 6, 6, 16], [1, 1, 16, 12]],
    [[2, 11, 11, 4], [5, 5, 4, 6]],
    [[3, 13, 11, 2], [3, 3, 2, 16]], // im2col + SIMD matmul (co % 16 == 0), several K blocks
    [[2, 9, 9, 1], [2, 2, 1, 32]],
    [[2, 5, 3, 6], [3, 3, 6, 4]], // output rows of 1 float (no full SIMD vector)
    [[2, 6, 6, 8], [3, 3, 8, 4]], // output rows of exactly 4 floats with 'valid'
  ];

  describe('Conv2DBackpropFilter', () => {
    for (const [xs, fs] of convCases) {
      for (const strides of [1, 2]) {
        for (const pad of ['same', 'valid'] as const) {
          it(`x ${xs} filter ${fs} stride ${strides} ${pad}`, async () => {
            const dy = convOutShape(xs, fs, strides, pad, 'NHWC');
            await compare('Conv2DBackpropFilter', { x: rand(xs), dy: rand(dy) },
              { strides, pad, dataFormat: 'NHWC', filterShape: fs }, 1e-4, 'dW');
          });
        }
      }
    }
    it('numeric and explicit padding', async () => {
      const xs = [2, 8, 8, 3];
      const fs = [3, 3, 3, 4];
      await compare('Conv2DBackpropFilter', { x: rand(xs), dy: rand(convOutShape(xs, fs, 1, 1, 'NHWC')) },
        { strides: 1, pad: 1, dataFormat: 'NHWC', filterShape: fs }, 1e-4, 'dW pad=1');
      const explicit = [[0, 0], [2, 1], [0, 3], [0, 0]];
      await compare('Conv2DBackpropFilter', { x: rand(xs), dy: rand(convOutShape(xs, fs, 2, explicit, 'NHWC')) },
        { strides: 2, pad: explicit, dataFormat: 'NHWC', filterShape: fs }, 1e-4, 'dW explicit');
    });
    it('NCHW', async () => {
      const xs = [2, 5, 9, 9];
      const fs = [3, 3, 5, 4];
      for (const strides of [1, 2]) {
        await compare('Conv2DBackpropFilter', { x: rand(xs), dy: rand(convOutShape(xs, fs, strides, 'same', 'NCHW')) },
          { strides, pad: 'same', dataFormat: 'NCHW', filterShape: fs }, 1e-4, `dW NCHW stride ${strides}`);
      }
    });
  });

  describe('Conv2DBackpropInput', () => {
    for (const [xs, fs] of convCases) {
      for (const strides of [1, 2]) {
        for (const pad of ['same', 'valid'] as const) {
          it(`x ${xs} filter ${fs} stride ${strides} ${pad}`, async () => {
            const dy = convOutShape(xs, fs, strides, pad, 'NHWC');
            await compare('Conv2DBackpropInput', { dy: rand(dy), filter: rand(fs) },
              { strides, pad, dataFormat: 'NHWC', inputShape: xs }, 1e-4, 'dx');
          });
        }
      }
    }
  });

  describe('BatchMatMul and _FusedMatMul', () => {
    // [M, K, N, batch]: small M with large N takes the swapped (b^T a^T)^T path.
    const shapes: Array<[number, number, number, number]> = [[13, 29, 17, 1], [4, 100, 300, 1], [300, 100, 4, 1], [64, 96, 80, 1], [5, 7, 6, 3]];
    for (const [M, K, N, B] of shapes) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          it(`[${B}] ${M}x${K} . ${K}x${N} transposeA=${transposeA} transposeB=${transposeB}`, async () => {
            const a = rand(transposeA ? [B, K, M] : [B, M, K]);
            const b = rand(transposeB ? [B, N, K] : [B, K, N]);
            await compare('BatchMatMul', { a, b }, { transposeA, transposeB }, 1e-5, 'matmul');
            if (B === 1) {
              const a2 = { shape: a.shape.slice(1), values: a.values };
              const b2 = { shape: b.shape.slice(1), values: b.values };
              await compare('BatchMatMul', { a: a2, b: b2 }, { transposeA, transposeB }, 1e-5, 'matmul 2-D');
            }
            await compare('_FusedMatMul', { a, b, bias: rand([N]) },
              { transposeA, transposeB, activation: 'relu', leakyreluAlpha: 0 }, 1e-5, 'fused matmul');
            if (B > 1) {
              // the stock batched kernel mis-indexes the bias; check the replacement with every fusable activation
              for (const activation of ['linear', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu']) {
                const inputs: Record<string, Input> = { a, b, bias: rand([N]) };
                if (activation === 'prelu') inputs.preluActivationWeights = rand([N]);
                await compare('_FusedMatMul', inputs, { transposeA, transposeB, activation, leakyreluAlpha: 0.3 }, 1e-5, `fused ${activation}`);
              }
              await compare('_FusedMatMul', { a, b }, { transposeA, transposeB, activation: 'relu', leakyreluAlpha: 0 }, 1e-5, 'fused, no bias');
            }
          });
        }
      }
    }
  });

  it('BatchMatMul with broadcast batch dimensions', async () => {
    for (const [sa, sb, transposeA, transposeB] of [[[1, 3, 4], [2, 4, 5], false, false], [[2, 4, 3], [1, 5, 4], true, true]] as const) {
      await compare('BatchMatMul', { a: rand([...sa]), b: rand([...sb]) }, { transposeA, transposeB }, 1e-5, `broadcast ${sa} ${sb}`);
    }
  });

  describe('MaxPoolGrad', () => {
    const cases: Array<{ x: number[]; filterSize: number; strides: number; pad: 'same' | 'valid' }> = [
      { x: [2, 8, 8, 4], filterSize: 2, strides: 2, pad: 'valid' }, // SIMD path
      { x: [3, 6, 10, 16], filterSize: 2, strides: 2, pad: 'same' }, // SIMD path
      { x: [2, 7, 9, 8], filterSize: 2, strides: 2, pad: 'valid' }, // SIMD path, uncovered last row/column
      { x: [2, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid' }, // channels % 4 != 0
      { x: [2, 7, 7, 4], filterSize: 2, strides: 2, pad: 'same' }, // padded windows
      { x: [2, 9, 9, 5], filterSize: 3, strides: 2, pad: 'same' }, // overlapping windows
      { x: [2, 9, 9, 4], filterSize: 3, strides: 1, pad: 'valid' },
      { x: [1, 6, 6, 2], filterSize: 2, strides: 1, pad: 'same' },
    ];
    for (const c of cases) {
      it(`x ${c.x} pool ${c.filterSize} stride ${c.strides} ${c.pad}`, async () => {
        const x = rand(c.x);
        const y = await runOn('cpu', 'MaxPool', { x }, { filterSize: c.filterSize, strides: c.strides, pad: c.pad });
        const outShape = tf.backend_util.computePool2DInfo(c.x as [number, number, number, number], c.filterSize, c.strides, 1, c.pad).outShape;
        await compare('MaxPoolGrad', { dy: rand(outShape), input: x, output: { shape: outShape, values: y[0] } },
          { filterSize: c.filterSize, strides: c.strides, pad: c.pad }, 1e-6, 'maxPoolGrad');
      });
    }
    it('ties, all-negative windows, -Infinity and NaN follow the cpu rule', async () => {
      const shape = [1, 4, 4, 4];
      const v = rand(shape).values as Float32Array;
      for (let i = 0; i < v.length; i += 3) v[i] = 0; // ties at 0 as after a ReLU
      for (let i = 0; i < 8; i++) v[i] = -Math.abs(v[i]) - 1; // an all-negative window (the stock kernel gets these wrong)
      v[40] = -Infinity;
      v[41] = NaN;
      const x = { shape, values: v };
      const y = await runOn('cpu', 'MaxPool', { x }, { filterSize: 2, strides: 2, pad: 'valid' });
      await compare('MaxPoolGrad', { dy: rand([1, 2, 2, 4]), input: x, output: { shape: [1, 2, 2, 4], values: y[0] } },
        { filterSize: 2, strides: 2, pad: 'valid' }, 0, 'maxPoolGrad special values');
    });
  });

  describe('depthwise convolution gradients (missing on wasm; run on the cpu kernels)', () => {
    for (const [xs, fs, strides, pad] of [[[2, 7, 7, 3], [3, 3, 3, 1], 1, 'same'], [[2, 8, 8, 2], [3, 3, 2, 2], 2, 'valid']] as const) {
      it(`x ${xs} filter ${fs} stride ${strides} ${pad}`, async () => {
        const info = tf.backend_util.computeConv2DInfo(xs as unknown as [number, number, number, number],
          fs as unknown as [number, number, number, number], strides, 1, pad, undefined, true);
        await tf.setBackend('wasm');
        const cpuIds = (tf.engine().findBackend('cpu') as unknown as { numDataIds(): number });
        const before = cpuIds.numDataIds();
        await compare('DepthwiseConv2dNativeBackpropFilter', { x: rand([...xs]), dy: rand(info.outShape) },
          { strides, pad, dilations: 1, filterShape: [...fs] }, 1e-6, 'depthwise dW');
        await compare('DepthwiseConv2dNativeBackpropInput', { dy: rand(info.outShape), filter: rand([...fs]) },
          { strides, pad, dilations: 1, inputShape: [...xs] }, 1e-6, 'depthwise dx');
        await tf.setBackend('wasm');
        assert.strictEqual(cpuIds.numDataIds(), before, 'no cpu buffers left behind');
      });
    }
  });

  describe('Sum, bias Add, Identity, Cast', () => {
    it('Sum over leading axes (SIMD and JS paths, keepDims) and other axes (original kernel)', async () => {
      await compare('Sum', { x: rand([16, 7, 7, 12]) }, { axis: [0, 1, 2], keepDims: false }, 1e-6, 'sum 0,1,2');
      await compare('Sum', { x: rand([40, 6]) }, { axis: 0, keepDims: true }, 1e-6, 'sum inner 6');
      await compare('Sum', { x: rand([9, 5, 8]) }, { axis: [0], keepDims: false }, 1e-6, 'sum axis 0');
      await compare('Sum', { x: rand([5, 6, 7]) }, { axis: [1], keepDims: false }, 1e-6, 'sum axis 1');
      await compare('Sum', { x: rand([5, 6, 8]) }, { axis: [0, 1, 2], keepDims: false }, 1e-6, 'sum all');
    });
    it('Add of a per-channel bias in either order; other broadcasts use the original kernel', async () => {
      await compare('Add', { a: rand([8, 5, 5, 12]), b: rand([12]) }, {}, 0, 'x + b');
      await compare('Add', { a: rand([12]), b: rand([8, 12]) }, {}, 0, 'b + x');
      await compare('Add', { a: rand([8, 12]), b: rand([1, 12]) }, {}, 0, 'x + b[1,C]');
      await compare('Add', { a: rand([8, 6]), b: rand([6]) }, {}, 0, 'C % 4 != 0');
      await compare('Add', { a: rand([8, 12]), b: rand([8, 1]) }, {}, 0, 'column broadcast');
      await compare('Add', { a: rand([8, 12]), b: rand([8, 12]) }, {}, 0, 'same shape');
    });
    it('Identity and same-dtype Cast share the buffer safely; other casts convert', async () => {
      await tf.setBackend('wasm');
      const x = tf.tensor(randomValues(20, 5), [4, 5]);
      const expected = Array.from(x.dataSync());
      const c = tf.clone(x);
      const f = tf.cast(x, 'float32');
      x.dispose();
      assert.deepStrictEqual(Array.from(c.dataSync()), expected);
      assert.deepStrictEqual(Array.from(f.dataSync()), expected);
      c.dispose();
      assert.deepStrictEqual(Array.from(f.dataSync()), expected);
      const i = tf.cast(f, 'int32');
      assert.strictEqual(i.dtype, 'int32');
      assert.deepStrictEqual(Array.from(i.dataSync()), expected.map((v) => v | 0));
      tf.dispose([f, i]);
    });
  });

  describe('without the SIMD helper loops (their fallbacks)', () => {
    before(() => setWasmSimdHelpersEnabled(false));
    after(() => setWasmSimdHelpersEnabled(true));
    it('MaxPoolGrad, Sum, bias Add', async () => {
      const x = rand([2, 8, 8, 4]);
      const y = await runOn('cpu', 'MaxPool', { x }, { filterSize: 2, strides: 2, pad: 'valid' });
      await compare('MaxPoolGrad', { dy: rand([2, 4, 4, 4]), input: x, output: { shape: [2, 4, 4, 4], values: y[0] } },
        { filterSize: 2, strides: 2, pad: 'valid' }, 1e-6, 'maxPoolGrad');
      await compare('Sum', { x: rand([16, 7, 7, 12]) }, { axis: [0, 1, 2], keepDims: false }, 1e-6, 'sum');
      await compare('Add', { a: rand([8, 5, 5, 12]), b: rand([12]) }, {}, 0, 'x + b');
    });
    it('Conv2DBackpropFilter (im2col built in JS, XNNPACK matmul)', async () => {
      for (const [xs, fs] of [[[2, 9, 9, 1], [3, 3, 1, 16]], [[2, 8, 8, 6], [3, 3, 6, 8]]]) {
        await compare('Conv2DBackpropFilter', { x: rand(xs), dy: rand(convOutShape(xs, fs, 1, 'same', 'NHWC')) },
          { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: fs }, 1e-4, `dW ${xs} ${fs}`);
      }
    });
  });

  describe('training', () => {
    for (const simd of [true, false]) {
      it(`fused Adam matches the cpu backend over 25 steps (sizes with and without a SIMD remainder${simd ? '' : '; JS loop'})`, async () => {
        setWasmSimdHelpersEnabled(simd);
        const run = async (backend: string) => {
          await tf.setBackend(backend);
          const a = tf.variable(tf.tensor(randomValues(7, 11), [7]), true, `adamA_${backend}`);
          const b = tf.variable(tf.tensor(randomValues(6 * 12, 12), [6, 12]), true, `adamB_${backend}`);
          const opt = tf.train.adam(0.05, 0.9, 0.999, 1e-7);
          for (let i = 0; i < 25; i++) {
            opt.minimize(() => tf.add(tf.sum(tf.square(tf.sub(a, 0.3))), tf.sum(tf.mul(b, tf.sin(b)))) as tf.Scalar);
          }
          const out = [Float32Array.from(a.dataSync()), Float32Array.from(b.dataSync())];
          tf.dispose([a, b]);
          opt.dispose();
          return out;
        };
        try {
          const w = await run('wasm');
          const c = await run('cpu');
          assertClose(w[0], c[0], 1e-5, 'a');
          assertClose(w[1], c[1], 1e-5, 'b');
        } finally {
          setWasmSimdHelpersEnabled(true);
        }
      });
    }

    it('gradients of a Conv2D + MaxPooling2D + Dense model match the cpu backend', async () => {
      const build = () => {
        const m = tfl.sequential();
        m.add(tfl.layers.conv2d({ inputShape: [10, 10, 2], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
        m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
        m.add(tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }));
        m.add(tfl.layers.flatten());
        m.add(tfl.layers.dense({ units: 5, activation: 'softmax' }));
        return m;
      };
      const xv = rand([6, 10, 10, 2]);
      const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'), 5).dataSync());
      let weights: Float32Array[] | null = null;
      const gradsOn = async (backend: string) => {
        await tf.setBackend(backend);
        const m = build();
        if (!weights) weights = m.getWeights().map((w, i) => randomValues(w.size, 100 + i).map((v) => v * 0.5));
        m.setWeights(m.getWeights().map((w, i) => tf.tensor((weights as Float32Array[])[i], w.shape)));
        const x = tf.tensor(xv.values, xv.shape);
        const y = tf.tensor(labels, [6, 5]);
        const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
          const p = m.apply(x, { training: true }) as tf.Tensor;
          return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, 1e-7, 1 - 1e-7))), -1))) as tf.Scalar;
        }), m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
        const out = { loss: value.dataSync()[0], grads: Object.values(grads).map((g) => Float32Array.from(g.dataSync())) };
        tf.dispose([x, y, value, ...Object.values(grads)]);
        m.dispose();
        return out;
      };
      const w = await gradsOn('wasm');
      const c = await gradsOn('cpu');
      assert.ok(Math.abs(w.loss - c.loss) < 1e-5 * Math.max(1, Math.abs(c.loss)), `loss ${w.loss} vs ${c.loss}`);
      assert.strictEqual(w.grads.length, c.grads.length);
      w.grads.forEach((g, i) => assertClose(g, c.grads[i], 1e-4, `gradient ${i}`));
    });

    it('Dense + Conv2D + MaxPooling2D + BatchNormalization + Dropout + Flatten trains on wasm without kernel errors', async () => {
      await tf.setBackend('wasm');
      const m = tfl.sequential();
      m.add(tfl.layers.conv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
      m.add(tfl.layers.batchNormalization());
      m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }));
      m.add(tfl.layers.dropout({ rate: 0.3 }));
      m.add(tfl.layers.flatten());
      m.add(tfl.layers.dense({ units: 16, activation: 'relu' }));
      m.add(tfl.layers.batchNormalization());
      m.add(tfl.layers.dropout({ rate: 0.2 }));
      m.add(tfl.layers.dense({ units: 4, activation: 'softmax' }));
      const x = tf.tensor(randomValues(8 * 12 * 12 * 3, 77), [8, 12, 12, 3]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
      const opt = tf.train.adam(0.01);
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const l = opt.minimize(() => tf.tidy(() => {
          const p = m.apply(x, { training: true }) as tf.Tensor;
          return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, 1e-7, 1 - 1e-7))), -1))) as tf.Scalar;
        }), true);
        losses.push((l as tf.Scalar).dataSync()[0]);
        (l as tf.Scalar).dispose();
      }
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(losses[losses.length - 1] < losses[0], `loss falls: ${losses}`);
      tf.dispose([x, y]);
      opt.dispose();
      m.dispose();
    });
  });
});
