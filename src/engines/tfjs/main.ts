/**
 * The engine entry point, run as a child process (`node dist/engine.js --config FILE [...]`).
 * It speaks the sweep protocol (src/core/protocol.ts) on stdout, one JSON event per line; diagnostics go to stderr.
 * SIGTERM, SIGINT, or (with --stdin-cancel) the parent closing our stdin ends the sweep with a `cancelled` end event.
 * With --verify-lr X --verify-steps N it runs verify mode instead of the sweep (verify.ts): one short one-cycle
 * training at max LR X, a point per step, then a `candidate` event with the held-out loss, then the end event.
 */
import * as path from 'path';
import { LocatedError } from '../../core/errors';
import { formatEvent, PROTOCOL_VERSION, type EndEvent, type HelloEvent, type SweepEvent } from '../../core/protocol';
import { initBackend } from './backend';
import { buildConfigModel } from './build';
import { loadConfig, loadDataset, workspaceRootFor, type Overrides } from './load';
import { LR_MAX, LR_MIN, LR_RANGE } from './config';
import { scheduleLr } from '../../core/fastai';
import type { Dataset } from './dataset';
import { runSweep, seedRandomness } from './sweep';
import { candidateEvent, DEFAULT_HOLDOUT, verifyCandidate, verifyProblem } from './verify';

interface EngineArgs extends Overrides {
  config: string;
  root?: string;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  stdinCancel: boolean;
  verifyLr?: number;
  verifySteps?: number;
  holdout?: number;
}

const VERIFY_FLAGS = { lr: '--verify-lr', steps: '--verify-steps', holdout: '--holdout' };

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
      case '--verify-lr': a.verifyLr = num(f, argv[++i]); break;
      case '--verify-steps': a.verifySteps = num(f, argv[++i]); break;
      case '--holdout': a.holdout = num(f, argv[++i]); break;
      default: throw new Error(`unknown engine argument ${f}`);
    }
  }
  if (!a.config) throw new Error('--config FILE is required');
  if ((a.verifyLr === undefined) !== (a.verifySteps === undefined)) {
    throw new Error(a.verifyLr === undefined
      ? `--verify-steps ${a.verifySteps} needs --verify-lr X (the max LR to verify): verify mode takes both --verify-lr X and --verify-steps N`
      : `--verify-lr ${a.verifyLr} needs --verify-steps N (how many steps to train): verify mode takes both --verify-lr X and --verify-steps N`);
  }
  if (a.holdout !== undefined && a.verifyLr === undefined) throw new Error(`--holdout ${a.holdout} applies to verify mode only; add --verify-lr X --verify-steps N`);
  const problem = verifyProblem({ lr: a.verifyLr, steps: a.verifySteps, holdout: a.holdout }, VERIFY_FLAGS);
  if (problem) throw new Error(problem);
  return a;
}

let cancelled = false;

/** Every event goes out through here, one JSON object per line. */
function emitLine(json: string): void {
  process.stdout.write(json + '\n');
}

function emit(e: SweepEvent): void {
  emitLine(formatEvent(e));
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

  if (args.verifyLr !== undefined && args.verifySteps !== undefined) {
    return verify(args, loaded, dataset, csvFile, root, backend.warnings, { backend: backend.backend, backendReason: backend.reason });
  }

  const batch = Math.min(cfg.batchSize, dataset.nTrain);
  const built = await buildConfigModel(loaded, root, dataset, batch);
  const warnings = [...backend.warnings, ...rowWarnings(cfg.batchSize, dataset, csvFile)];

  const s = cfg.sweep;
  // Every LR the sweep sets is a float32 normal (the config's and the flags' ranges make it so; this is the proof).
  for (let i = 0; i < s.numIter; i++) {
    const lr = scheduleLr(i, s.numIter, s.startLr, s.endLr, s.mode);
    if (!(lr >= LR_MIN && lr <= LR_MAX)) throw loaded.pointer(['sweep'], `step ${i} of the sweep would set LR ${lr}; expected LRs ${LR_RANGE} (check sweep.startLr and sweep.endLr)`);
  }
  emit(helloEvent(loaded, root, csvFile, dataset, built, warnings, { backend: backend.backend, backendReason: backend.reason }));
  const end = await runSweep(cfg, dataset, built.model, { onPoint: emit, isCancelled: () => cancelled });
  emit(end);
  return 0;
}

type Loaded = ReturnType<typeof loadConfig>;

function rowWarnings(batchSize: number, dataset: Dataset, csvFile: string): string[] {
  return dataset.nTrain < batchSize
    ? [`${path.basename(csvFile)} has ${dataset.nTrain} training rows, fewer than batchSize ${batchSize}: every step trains on all ${dataset.nTrain}`]
    : [];
}

function helloEvent(loaded: Loaded, root: string, csvFile: string, dataset: Dataset, built: { description: string; parameters: number },
  warnings: string[], backend: { backend: string; backendReason: string }): HelloEvent {
  const cfg = loaded.config;
  const s = cfg.sweep;
  return {
    type: 'hello', protocol: PROTOCOL_VERSION, engine: 'tfjs', backend: backend.backend, backendReason: backend.backendReason, warnings,
    config: {
      configPath: loaded.file, model: built.description, parameters: built.parameters,
      dataset: path.relative(root, csvFile) || csvFile, samples: dataset.nTrain, validationSamples: dataset.n - dataset.nTrain,
      loss: cfg.loss, optimizer: cfg.optimizer.name, batchSize: cfg.batchSize, seed: cfg.seed,
      startLr: s.startLr, endLr: s.endLr, numIter: s.numIter, mode: s.mode, stopFactor: s.stopFactor, smoothing: s.smoothing,
    },
  };
}

/**
 * Verify mode: hello (with `verify`), a point per training step, the candidate, the end. The config's seed (--seed)
 * seeds the weights and the batch order; held-out rows as verifySplit makes them.
 */
async function verify(args: EngineArgs, loaded: Loaded, dataset: Dataset, csvFile: string, root: string, backendWarnings: string[],
  backend: { backend: string; backendReason: string }): Promise<number> {
  const lr = args.verifyLr!, steps = args.verifySteps!, seed = loaded.config.seed;
  const t0 = Date.now();
  let points = 0;
  const r = await verifyCandidate(loaded, dataset, {
    lr, steps, seed, holdout: args.holdout ?? DEFAULT_HOLDOUT, root, names: VERIFY_FLAGS,
    onReady: ({ built, dataset: ds, signal }) => {
      const warnings = [...backendWarnings, ...rowWarnings(loaded.config.batchSize, ds, csvFile)];
      if (signal === 'validation' && args.holdout !== undefined) {
        warnings.push(`--holdout ${args.holdout} is not used: the config's data.validationSplit ${loaded.config.data.validationSplit} holds out ${ds.n - ds.nTrain} rows, which verify mode scores on`);
      }
      if (signal === 'training') {
        warnings.push(`${path.basename(csvFile)} has ${ds.n} rows, too few to hold any out (${loaded.config.data.validationSplit > 0 ? `data.validationSplit ${loaded.config.data.validationSplit}` : `--holdout ${args.holdout ?? DEFAULT_HOLDOUT}`}): verify mode trains on all of them and scores their training loss (signal "training")`);
      }
      emitLine(JSON.stringify({ ...helloEvent(loaded, root, csvFile, ds, built, warnings, backend), verify: { lr, steps, seed } }));
    },
    onStep: (iteration, stepLr, loss) => { emit({ type: 'point', iteration, lr: stepLr, loss }); points++; },
    isCancelled: () => cancelled,
  });
  if (!r.cancelled) emitLine(JSON.stringify(candidateEvent(r)));
  const end: EndEvent = { type: 'end', reason: r.cancelled ? 'cancelled' : r.diverged ? 'diverged' : 'completed', points, seconds: (Date.now() - t0) / 1000 };
  emit(end);
  return 0;
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
