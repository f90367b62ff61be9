/**
 * Builds a fresh, untrained tfjs model from the config: inline layers (tfjs camelCase or Keras' {class_name, config})
 * or a model.json topology. Weights are never loaded; initial values come from the engine's seeded Math.random
 * (see seedRandomness in sweep.ts).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerSpec, TrainingConfig } from './config';

type Factory = (cfg: Record<string, unknown>) => tfl.layers.Layer;

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Keras' snake_case config -> tfjs camelCase config (nested {class_name, config} -> {className, config}). */
export function kerasToTfjs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(kerasToTfjs);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      if (val === null || val === undefined) continue;
      const key = k === 'class_name' ? 'className' : camel(k);
      // Initializer / regularizer configs keep their own keys (e.g. "seed", "l2"), but those are snake-free anyway.
      out[key] = kerasToTfjs(val);
    }
    return out;
  }
  return v;
}

const FACTORY_NAMES: Record<string, string> = {
  MaxPooling2D: 'maxPooling2d', AveragePooling2D: 'averagePooling2d', Conv2D: 'conv2d', Conv1D: 'conv1d',
  GlobalAveragePooling2D: 'globalAveragePooling2d', GlobalMaxPooling2D: 'globalMaxPooling2d',
  MaxPooling1D: 'maxPooling1d', AveragePooling1D: 'averagePooling1d',
};

function factoryFor(className: string): Factory | undefined {
  const name = FACTORY_NAMES[className] ?? lowerFirst(className);
  const f = (tfl.layers as unknown as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as Factory) : undefined;
}

/** Drops Keras-only keys that the tfjs factories do not take. */
function cleanKerasConfig(cfg: Record<string, unknown>): Record<string, unknown> {
  const out = { ...cfg };
  for (const k of ['dataFormat', 'activityRegularizer', 'kernelConstraint', 'biasConstraint', 'groups']) if (out[k] === undefined) delete out[k];
  if (out.dataFormat === 'channels_last') out.dataFormat = 'channelsLast';
  if (Array.isArray(out.batchInputShape) && !out.inputShape) {
    out.inputShape = (out.batchInputShape as unknown[]).slice(1);
    delete out.batchInputShape;
  }
  return out;
}

export interface BuiltModel {
  model: tfl.LayersModel;
  description: string;
  parameters: number;
}

export function buildLayer(spec: LayerSpec, index: number): tfl.layers.Layer {
  const factory = factoryFor(spec.className);
  if (!factory) throw new Error(`layer ${index + 1}: "${spec.className}" is not a tfjs layer`);
  const cfg = spec.keras ? cleanKerasConfig(kerasToTfjs(spec.config) as Record<string, unknown>) : { ...spec.config };
  if (spec.className === 'Dense' && cfg.inputDim && !cfg.inputShape) { cfg.inputShape = [cfg.inputDim]; delete cfg.inputDim; }
  // The config's shorthand {l1, l2} becomes tfjs' L1L2 regularizer (tfjs itself wants a class name).
  for (const k of ['kernelRegularizer', 'biasRegularizer']) {
    const r = cfg[k] as { l1?: number; l2?: number; className?: string } | undefined;
    if (r && typeof r === 'object' && !r.className) cfg[k] = tfl.regularizers.l1l2({ l1: r.l1 ?? 0, l2: r.l2 ?? 0 });
  }
  return factory(cfg);
}

/** The largest model the engine builds (weights, plus the optimizer's state of the same size, must fit in memory). */
export const MAX_PARAMETERS = 50_000_000;
/** The most values one layer may output for a batch (float32: 1 GiB). */
export const MAX_BATCH_ACTIVATIONS = 2 ** 28;

/** A problem with one layer (0-based index), for the engine to point at that layer in the config. */
export class LayerError extends Error {
  constructor(readonly index: number, message: string) {
    super(message);
    this.name = 'LayerError';
  }
}

const count = (x: number) => (x < 1e21 ? Math.round(x).toLocaleString('en-US') : x.toExponential(2));
const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** A layer's parameter count from its config and input shape, before any weight exists (for the known layers). */
function parameterCount(layer: tfl.layers.Layer, inShape: number[]): { total: number; formula: string } {
  const l = layer as unknown as Record<string, unknown>;
  const last = inShape[inShape.length - 1];
  const bias = (units: number) => (l.useBias === false ? 0 : units);
  switch (layer.getClassName()) {
    case 'Dense': {
      const units = Number(l.units);
      return { total: last * units + bias(units), formula: `${count(last)} inputs × ${count(units)} units${bias(units) ? ` + ${count(units)} biases` : ''}` };
    }
    case 'Conv2D': {
      const [kh, kw] = (l.kernelSize as number[]) ?? [1, 1];
      const filters = Number(l.filters);
      const channels = l.dataFormat === 'channelsFirst' ? inShape[0] : last;
      return { total: kh * kw * channels * filters + bias(filters), formula: `${kh}×${kw} kernel × ${count(channels)} channels × ${count(filters)} filters${bias(filters) ? ` + ${count(filters)} biases` : ''}` };
    }
    case 'BatchNormalization': case 'LayerNormalization': {
      const axis = typeof l.axis === 'number' ? l.axis : -1;
      const size = axis < 0 ? inShape[inShape.length + axis] : inShape[axis - 1];
      const per = (l.center === false ? 0 : 1) + (l.scale === false ? 0 : 1) + (layer.getClassName() === 'BatchNormalization' ? 2 : 0);
      return { total: (size ?? 0) * per, formula: `${per} × ${count(size ?? 0)} features` };
    }
    default:
      return { total: 0, formula: '' };
  }
}

/**
 * Refuses a model too large to build or train, before tfjs allocates anything (a billion-unit Dense layer would
 * otherwise take minutes and gigabytes to fail with "Invalid typed array length"): the parameters of each layer and
 * of the model, and the values each layer outputs for a batch. Shapes come from the layers' own computeOutputShape.
 * Stops quietly at a shape it cannot follow (tfjs then checks the rest as it builds).
 */
export function checkModelSize(layers: readonly tfl.layers.Layer[], names: readonly string[], batch = 1): void {
  const first = layers[0] as unknown as { batchInputShape?: (number | null)[] } | undefined;
  if (!first?.batchInputShape) return;
  let shape = first.batchInputShape.slice(1) as number[];
  const known = (xs: readonly (number | null | undefined)[]) => xs.every((d) => typeof d === 'number' && Number.isFinite(d) && d >= 0);
  if (!known(shape)) return;
  if (product(shape) * batch > MAX_BATCH_ACTIVATIONS) {
    throw new LayerError(0, `the input of ${names[0]} is too large: [${shape.join(', ')}] is ${count(product(shape))} values per sample, ${count(product(shape) * batch)} for a batch of ${batch}; expected at most ${count(MAX_BATCH_ACTIVATIONS)} per batch`);
  }
  let total = 0;
  layers.forEach((layer, i) => {
    if (!shape) return;
    const { total: params, formula } = parameterCount(layer, shape);
    total += params;
    if (params > MAX_PARAMETERS) {
      throw new LayerError(i, `${names[i]} is too large: ${count(params)} parameters (${formula}); the tfjs engine trains models of at most ${count(MAX_PARAMETERS)} parameters`);
    }
    if (total > MAX_PARAMETERS) {
      throw new LayerError(i, `the model is too large: ${count(total)} parameters up to ${names[i]} (${count(params)} in it); the tfjs engine trains models of at most ${count(MAX_PARAMETERS)} parameters`);
    }
    let out: (number | null)[] | undefined;
    if (layer.getClassName() === 'InputLayer') {
      out = shape;
    } else if (layer.getClassName() === 'Reshape') {
      const target = ((layer as unknown as { targetShape: number[] }).targetShape ?? []).slice();
      const free = target.indexOf(-1);
      if (free >= 0) target[free] = product(shape) / product(target.filter((d) => d !== -1));
      out = target;
    } else {
      try { out = (layer.computeOutputShape([null, ...shape]) as (number | null)[]).slice(1); } catch { out = undefined; }
    }
    if (!out || !known(out)) { shape = undefined as unknown as number[]; return; }
    shape = out as number[];
    const values = product(shape);
    if (values * batch > MAX_BATCH_ACTIVATIONS) {
      throw new LayerError(i, `${names[i]} is too large: it outputs [${shape.map(count).join(', ')}], ${count(values)} values per sample, ${count(values * batch)} for a batch of ${batch}; expected at most ${count(MAX_BATCH_ACTIVATIONS)} per batch (a smaller layer or batchSize)`);
    }
  });
}

/** "layer 2 (Dense, units: 16)" */
function layerName(spec: LayerSpec, i: number): string {
  const c = spec.config;
  const detail = c.units ?? c.filters ?? c.rate;
  return `layer ${i + 1} (${spec.className}${detail !== undefined ? `: ${c.units !== undefined ? 'units' : c.filters !== undefined ? 'filters' : 'rate'} ${count(Number(detail))}` : ''})`;
}

/** Allocation failures of a model that got past checkModelSize (e.g. a layer whose size it cannot compute). */
function tooLarge(e: unknown): boolean {
  return e instanceof RangeError || /Invalid typed array length|Array buffer allocation failed|out of memory/i.test(String((e as Error)?.message));
}

/** A Sequential model from the config's layers; a LayerError names the layer that cannot be built or is too large. */
export function buildSequential(cfg: TrainingConfig['model'], batch = 1): BuiltModel {
  const specs = cfg.layers ?? [];
  const names = specs.map(layerName);
  const layers = specs.map((spec, i) => {
    try {
      if (i === 0 && cfg.inputShape) {
        const c = spec.keras ? cleanKerasConfig(kerasToTfjs(spec.config) as Record<string, unknown>) : { ...spec.config };
        return buildLayer({ className: spec.className, config: { ...c, inputShape: cfg.inputShape }, keras: false }, i);
      }
      return buildLayer(spec, i);
    } catch (e) {
      throw new LayerError(i, `cannot build ${names[i]}: ${(e as Error).message}`);
    }
  });
  checkModelSize(layers, names, batch);
  const model = tfl.sequential();
  layers.forEach((layer, i) => {
    try {
      model.add(layer);
    } catch (e) {
      throw new LayerError(i, tooLarge(e) ? `${names[i]} is too large to build (${(e as Error).message})` : `cannot build ${names[i]}: ${(e as Error).message}`);
    }
  });
  return describe(model);
}

/** A model.json as tfjs' model.save() or the tensorflowjs converter write it; only the topology is read. */
export async function buildFromTopology(json: unknown, batch = 1): Promise<BuiltModel> {
  const obj = json as Record<string, unknown>;
  const topology = (obj.modelTopology ?? obj) as Record<string, unknown>;
  const kerasModel = (topology.model_config ?? topology) as Record<string, unknown>;
  if (typeof kerasModel.class_name !== 'string') throw new Error('expected a Keras model topology with "class_name" (e.g. "Sequential")');
  // A Sequential topology is checked for size before tfjs builds it, as inline layers are.
  const cfg = kerasModel.config as { layers?: unknown[] } | unknown[] | undefined;
  const items = Array.isArray(cfg) ? cfg : cfg?.layers;
  if (kerasModel.class_name === 'Sequential' && Array.isArray(items)) {
    const specs = items.map((it) => it as { class_name?: string; config?: Record<string, unknown> })
      .map((it) => ({ className: String(it.class_name), config: { ...(it.config ?? {}) }, keras: true }));
    if (specs.every((sp) => factoryFor(sp.className))) {
      let layers: tfl.layers.Layer[] | undefined;
      try { layers = specs.map((sp, i) => buildLayer(sp, i)); } catch { layers = undefined; }
      if (layers) checkModelSize(layers, specs.map(layerName), batch);
    }
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.models.modelFromJSON({ modelTopology: kerasModel as never });
  } catch (e) {
    if (tooLarge(e)) throw new Error(`the model is too large to build (${(e as Error).message}); the tfjs engine trains models of at most ${count(MAX_PARAMETERS)} parameters`, { cause: e });
    throw e;
  }
  return describe(model);
}

function describe(model: tfl.LayersModel): BuiltModel {
  const parts = model.layers.map((l) => {
    const c = l.getConfig() as Record<string, unknown>;
    const detail = c.units ?? c.filters ?? (c.rate !== undefined ? c.rate : undefined);
    return detail !== undefined ? `${l.getClassName()}(${detail})` : l.getClassName();
  });
  return { model, description: parts.join(' → '), parameters: model.countParams() };
}
