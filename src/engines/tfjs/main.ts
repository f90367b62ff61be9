/**
 * The engine entry point, run as a child process (`node dist/engine.js --config FILE [...]`).
 * It speaks the sweep protocol (src/core/protocol.ts) on stdout, one JSON event per line; diagnostics go to stderr.
 * SIGTERM, SIGINT, or (with --stdin-cancel) the parent closing our stdin ends the sweep with a `cancelled` end event.
 */
import * as path from 'path';
import { LocatedError } from '../../core/errors';
import { formatEvent, PROTOCOL_VERSION, type SweepEvent } from '../../core/protocol';
import { initBackend } from './backend';
import { loadConfig, loadDataset, MODEL_FILE, readTextFile, resolveConfigPath, workspaceRootFor, type Overrides } from './load';
import { LR_MAX, LR_MIN, LR_RANGE } from './config';
import { scheduleLr } from '../../core/fastai';
import { buildFromTopology, buildSequential, LayerError } from './model';
import { runSweep, seedRandomness } from './sweep';

interface EngineArgs extends Overrides {
  config: string;
  root?: string;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  stdinCancel: boolean;
}

function parseArgs(argv: string[]): EngineArgs {
  const a: EngineArgs = { config: '', backend: 'auto', stdinCancel: false };
  const num = (flag: string, v: string | undefined) => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x)) throw new Error(`${flag} expects a number, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    switch (f) {
      case '--config': a.config = argv[++i]; break;
      case '--root': a.root = argv[++i]; break;
      case '--backend': a.backend = argv[++i] as EngineArgs['backend']; break;
      case '--start-lr': a.startLr = num(f, argv[++i]); break;
      case '--end-lr': a.endLr = num(f, argv[++i]); break;
      case '--num-iter': a.numIter = num(f, argv[++i]); break;
      case '--seed': a.seed = num(f, argv[++i]); break;
      case '--stop-factor': a.stopFactor = num(f, argv[++i]); break;
      case '--smoothing': a.smoothing = num(f, argv[++i]); break;
      case '--stdin-cancel': a.stdinCancel = true; break;
      default: throw new Error(`unknown engine argument ${f}`);
    }
  }
  if (!a.config) throw new Error('--config FILE is required');
  return a;
}

let cancelled = false;

function emit(e: SweepEvent): void {
  process.stdout.write(formatEvent(e) + '\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  process.on('SIGTERM', () => { cancelled = true; });
  process.on('SIGINT', () => { cancelled = true; });
  if (args.stdinCancel) {
    process.stdin.on('end', () => { cancelled = true; });
    process.stdin.on('close', () => { cancelled = true; });
    process.stdin.resume();
  }
  const configFile = path.resolve(args.config);
  const root = workspaceRootFor(configFile, args.root);
  const loaded = loadConfig(configFile, args);
  const cfg = loaded.config;
  seedRandomness(cfg.seed);
  const backend = await initBackend(args.backend);
  const { dataset, csvFile } = loadDataset(loaded, root);

  const batch = Math.min(cfg.batchSize, dataset.nTrain);
  let built;
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
  checkShapes(built.model, dataset, loaded);
  const warnings = [...backend.warnings];
  if (dataset.nTrain < cfg.batchSize) {
    warnings.push(`${path.basename(csvFile)} has ${dataset.nTrain} training rows, fewer than batchSize ${cfg.batchSize}: every step trains on all ${dataset.nTrain}`);
  }

  const s = cfg.sweep;
  // Every LR the sweep sets is a float32 normal (the config's and the flags' ranges make it so; this is the proof).
  for (let i = 0; i < s.numIter; i++) {
    const lr = scheduleLr(i, s.numIter, s.startLr, s.endLr, s.mode);
    if (!(lr >= LR_MIN && lr <= LR_MAX)) throw loaded.pointer(['sweep'], `step ${i} of the sweep would set LR ${lr}; expected LRs ${LR_RANGE} (check sweep.startLr and sweep.endLr)`);
  }
  emit({
    type: 'hello', protocol: PROTOCOL_VERSION, engine: 'tfjs', backend: backend.backend, backendReason: backend.reason, warnings,
    config: {
      configPath: configFile, model: built.description, parameters: built.parameters,
      dataset: path.relative(root, csvFile) || csvFile, samples: dataset.nTrain, validationSamples: dataset.n - dataset.nTrain,
      loss: cfg.loss, optimizer: cfg.optimizer.name, batchSize: cfg.batchSize, seed: cfg.seed,
      startLr: s.startLr, endLr: s.endLr, numIter: s.numIter, mode: s.mode, stopFactor: s.stopFactor, smoothing: s.smoothing,
    },
  });
  const end = await runSweep(cfg, dataset, built.model, { onPoint: emit, isCancelled: () => cancelled });
  emit(end);
  return 0;
}

function checkShapes(model: import('@tensorflow/tfjs-layers').LayersModel, ds: import('./dataset').Dataset, loaded: ReturnType<typeof loadConfig>) {
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

function errorEvent(e: unknown): SweepEvent {
  if (e instanceof LocatedError) return { type: 'error', message: e.message, file: e.file, line: e.line, column: e.column };
  return { type: 'error', message: (e as Error)?.message ?? String(e) };
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e) => {
    if (process.env.LR_FINDER_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    emit(errorEvent(e));
    process.stdout.write('', () => process.exit(1));
  },
);
