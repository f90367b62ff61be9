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

export function buildSequential(cfg: TrainingConfig['model']): BuiltModel {
  const model = tfl.sequential();
  const layers = cfg.layers ?? [];
  layers.forEach((spec, i) => {
    let layer: tfl.layers.Layer;
    if (i === 0 && cfg.inputShape) {
      const c = spec.keras ? cleanKerasConfig(kerasToTfjs(spec.config) as Record<string, unknown>) : { ...spec.config };
      layer = buildLayer({ className: spec.className, config: { ...c, inputShape: cfg.inputShape }, keras: false }, i);
    } else layer = buildLayer(spec, i);
    model.add(layer);
  });
  return describe(model);
}

/** A model.json as tfjs' model.save() or the tensorflowjs converter write it; only the topology is read. */
export async function buildFromTopology(json: unknown): Promise<BuiltModel> {
  const obj = json as Record<string, unknown>;
  const topology = (obj.modelTopology ?? obj) as Record<string, unknown>;
  const kerasModel = (topology.model_config ?? topology) as Record<string, unknown>;
  if (typeof kerasModel.class_name !== 'string') throw new Error('expected a Keras model topology with "class_name" (e.g. "Sequential")');
  const model = await tfl.models.modelFromJSON({ modelTopology: kerasModel as never });
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
