/**
 * The config's model, built as the engine trains it: inline layers (model.layers) or a model.json topology
 * (model.path), fresh weights drawn from Math.random (seed it first: seedRandomness), its shapes checked against the
 * data. Errors point at the config.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Dataset } from './dataset';
import { MODEL_FILE, readTextFile, resolveConfigPath, type LoadedConfig } from './load';
import { buildFromTopology, buildSequential, LayerError, type BuiltModel } from './model';

/** `batch` is the training batch, for the size check of the activations. */
export async function buildConfigModel(loaded: LoadedConfig, root: string, dataset: Dataset, batch: number): Promise<BuiltModel> {
  const cfg = loaded.config;
  let built: BuiltModel;
  if (cfg.model.path) {
    const file = resolveConfigPath(loaded, root, cfg.model.path, ['model', 'path'], 'model.path');
    const text = readTextFile(file, MODEL_FILE);
    let json: unknown;
    try { json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text); } catch (e) { throw loaded.pointer(['model', 'path'], `${file} is not valid JSON: ${(e as Error).message.slice(0, 200)}`); }
    try { built = await buildFromTopology(json, batch); } catch (e) { throw loaded.pointer(['model', 'path'], `cannot build a model from ${file}: ${(e as Error).message}`); }
  } else {
    try {
      built = buildSequential(cfg.model, batch);
    } catch (e) {
      if (e instanceof LayerError) throw loaded.pointer(['model', 'layers', e.index], e.message);
      throw loaded.pointer(['model', 'layers'], `cannot build the model: ${(e as Error).message}`);
    }
  }
  try {
    checkShapes(built.model, dataset, loaded);
  } catch (e) {
    built.model.dispose();
    throw e;
  }
  return built;
}

export function checkShapes(model: LayersModel, ds: Dataset, loaded: LoadedConfig): void {
  const inShape = (model.inputs[0].shape as (number | null)[]).slice(1);
  if (inShape.length !== ds.sampleShape.length || inShape.some((d, i) => d !== null && d !== ds.sampleShape[i])) {
    throw loaded.pointer(loaded.config.model.path ? ['model', 'path'] : ['model'],
      `the model expects samples of shape [${inShape.join(', ')}] but the data gives [${ds.sampleShape.join(', ')}]` +
      (ds.sampleShape.length === 1 && inShape.length > 1 ? `; set data.reshape: [${inShape.join(', ')}]` : ''));
  }
  const outShape = (model.outputs[0].shape as (number | null)[]).slice(1);
  const want = loaded.config.loss === 'sparseCategoricalCrossentropy' ? undefined : ds.targetShape;
  const classes = ds.classes?.length;
  if (loaded.config.loss === 'sparseCategoricalCrossentropy' && classes && outShape[outShape.length - 1] !== classes) {
    throw loaded.pointer(['model'], `the last layer has ${outShape[outShape.length - 1]} units but "${loaded.config.data.label}" has ${classes} classes; expected units: ${classes}`);
  }
  if (want && (outShape.length !== want.length || outShape.some((d, i) => d !== null && d !== want[i]))) {
    throw loaded.pointer(['model'], `the model outputs shape [${outShape.join(', ')}] but ${loaded.config.loss} on "${loaded.config.data.label}" needs [${want.join(', ')}]` +
      (classes ? ` (${classes} classes)` : ''));
  }
}
