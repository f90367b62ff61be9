/**
 * Picks the tfjs backend the engine trains on: tfjs-node (native TensorFlow) if it can be loaded, else wasm
 * (SIMD when the runtime supports it) with the training-kernel fixes from ./wasm, else the pure-JS cpu backend.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, registerWasmMissingKernels } from './wasm';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  /** The active tfjs backend name: 'tensorflow' | 'wasm' | 'cpu'. */
  backend: string;
  /** One human sentence saying why this backend was chosen. */
  reason: string;
  warnings: string[];
}

export interface BackendOptions {
  /**
   * Register the faster wasm training kernels and the fused Adam update (default true). With false only the kernels
   * wasm lacks entirely (Conv2DBackpropFilter, the depthwise gradients) are added, so stock tfjs speed can be measured.
   */
  wasmKernelFixes?: boolean;
  /**
   * XNNPACK threads for wasm (default 1). More than 1 loads the multi-threaded wasm binary, which tfjs does not support
   * under Node (see "Multi-threaded wasm under Node" below); if that cannot be set up, 1 thread is used with a warning.
   * Measured on 2 cores: the CNN workload gains ~25%, the MLP nothing, tiny models lose ~50%, and every step slows
   * down badly when the machine is busy, so the default stays 1.
   */
  wasmThreads?: number;
}

const WASM_SIMD_FILE = 'tfjs-backend-wasm-simd.wasm';
const WASM_PLAIN_FILE = 'tfjs-backend-wasm.wasm';

// An indirect require: bundlers do not follow it, so an absent optional package is a runtime condition, not a build
// error (the build also marks '@tensorflow/tfjs-node' external).
const dynamicRequire: NodeRequire = require;

const CPU_SLOW_WARNING =
  'Training runs on the pure-JavaScript cpu backend, which is very slow (roughly 10-100x slower than wasm); ' +
  'a convolutional model can take seconds per step.';

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].trim();
}

let wasmPathsSet = false;

/** The directory holding the tfjs wasm binaries: next to this file when bundled into dist/, else the package's dist/. */
export function wasmBinaryDirectory(): string | null {
  const candidates: string[] = [path.join(__dirname, '/')];
  try {
    const main = dynamicRequire.resolve('@tensorflow/tfjs-backend-wasm');
    candidates.push(path.join(path.dirname(main), '/'));
  } catch {
    // not resolvable from here (e.g. a bundle shipped without node_modules)
  }
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, WASM_SIMD_FILE)) || fs.existsSync(path.join(dir, WASM_PLAIN_FILE))) return dir;
  }
  return null;
}

interface Attempt {
  ok: boolean;
  /** Why it failed (a sentence fragment), or a description of what was chosen. */
  detail: string;
}

async function tryTensorflow(): Promise<Attempt> {
  try {
    dynamicRequire.resolve('@tensorflow/tfjs-node');
  } catch {
    return { ok: false, detail: '@tensorflow/tfjs-node is not installed' };
  }
  try {
    dynamicRequire('@tensorflow/tfjs-node');
  } catch (err) {
    return { ok: false, detail: `@tensorflow/tfjs-node failed to load (${message(err)})` };
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, detail: '@tensorflow/tfjs-node did not initialize' };
  } catch (err) {
    return { ok: false, detail: `@tensorflow/tfjs-node did not initialize (${message(err)})` };
  }
  return { ok: true, detail: 'native TensorFlow (@tensorflow/tfjs-node)' };
}

// ---------------------------------------------------------------------------------------------------------------------
// Multi-threaded wasm under Node.
//
// tfjs 4.22 disables wasm threads under Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE) because emscripten's
// pthread workers are created from blob: URLs, which Node's Worker rejects (ERR_WORKER_PATH). To make it work:
//  - the flag is forced on;
//  - globalThis.Worker (which the emscripten glue sets to worker_threads.Worker and then calls) is wrapped so that a
//    blob: URL is turned into an eval'ed bootstrap that reads the worker script from that Blob, and that points the
//    worker's "load" message at the emscripten glue file (the Blob tfjs sends there is not loadable in Node);
//  - os.cpus() is doubled while the module initializes, because tfjs caps the pool at half the logical cores;
//  - after initialization the pthread workers are unref'ed (so they never keep the process alive) and the idle
//    pre-spawned workers are terminated (tfjs pre-spawns 8).
// All of this is specific to tfjs-backend-wasm 4.22.0 and is only attempted for that version.

const THREADED_GLUE = 'tfjs-backend-wasm-threaded-simd.js';
const THREADED_WASM = 'tfjs-backend-wasm-threaded-simd.wasm';

const WORKER_BOOTSTRAP = `
const wt = require('worker_threads');
const port = wt.parentPort;
const on = port.on.bind(port);
port.on = (event, fn) => on(event, event !== 'message' ? fn : (d) => {
  if (d && d.cmd === 'load' && typeof d.urlOrBlob !== 'string') d.urlOrBlob = wt.workerData.glue;
  fn(d);
});
globalThis.require = require;
globalThis.__filename = wt.workerData.glue;
wt.workerData.source.text().then((src) => { (0, eval)(src); });
`;

interface EmscriptenWorker {
  loaded?: boolean;
  unref(): void;
  terminate(): unknown;
}

interface PThreadLike {
  runningWorkers: EmscriptenWorker[];
  unusedWorkers: EmscriptenWorker[];
}

let workerShimGlue: string | null = null;

function installWorkerShim(glue: string): void {
  workerShimGlue = glue;
  const g = globalThis as unknown as Record<string, unknown>;
  const desc = Object.getOwnPropertyDescriptor(g, 'Worker');
  if (desc && desc.get && (desc.get as { lrfShim?: boolean }).lrfShim) return;
  const wt = dynamicRequire('worker_threads') as typeof import('worker_threads');
  const { resolveObjectURL } = dynamicRequire('buffer') as { resolveObjectURL(url: string): Blob | undefined };
  let real: unknown = desc && 'value' in desc ? desc.value : undefined;
  const shim = function Worker(filename: unknown, options?: Record<string, unknown>): unknown {
    const Real = (typeof real === 'function' ? real : wt.Worker) as new (f: unknown, o?: unknown) => unknown;
    if (typeof filename === 'string' && filename.startsWith('blob:') && workerShimGlue) {
      const source = resolveObjectURL(filename);
      if (source) {
        return new Real(WORKER_BOOTSTRAP, { ...options, eval: true, workerData: { source, glue: workerShimGlue } });
      }
    }
    return new Real(filename, options);
  };
  const get = () => shim;
  (get as { lrfShim?: boolean }).lrfShim = true;
  Object.defineProperty(g, 'Worker', {
    configurable: true,
    enumerable: desc?.enumerable ?? false,
    get,
    set(v: unknown) { real = v; },
  });
}

function threadedGluePath(wasmDir: string): string | null {
  const candidates = [path.join(wasmDir, THREADED_GLUE), path.join(__dirname, THREADED_GLUE)];
  try {
    const main = dynamicRequire.resolve('@tensorflow/tfjs-backend-wasm');
    candidates.push(path.join(path.dirname(main), '..', 'wasm-out', THREADED_GLUE));
  } catch {
    // bundled without node_modules
  }
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** Prepare a multi-threaded wasm init; returns a reason string if threads cannot be used. */
function prepareWasmThreads(threads: number, wasmDir: string): string | null {
  if (version_wasm !== '4.22.0') return `wasm threads are only supported with tfjs-backend-wasm 4.22.0 (found ${version_wasm})`;
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  if (!fs.existsSync(path.join(wasmDir, THREADED_WASM))) return `${THREADED_WASM} was not found`;
  const glue = threadedGluePath(wasmDir);
  if (!glue) return `${THREADED_GLUE} was not found`;
  try {
    dynamicRequire('worker_threads');
  } catch {
    return 'worker_threads is not available';
  }
  installWorkerShim(glue);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  return null;
}

/** After a threaded init: wait for the pool's workers, unref them, drop the idle pre-spawned ones. */
async function settleWasmThreads(timeoutMs = 10000): Promise<string | null> {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: PThreadLike } } | null;
  const pthread = backend?.wasm?.PThread;
  if (!pthread) return 'the threaded wasm module did not start';
  const deadline = Date.now() + timeoutMs;
  while (pthread.runningWorkers.some((w) => !w.loaded)) {
    if (Date.now() > deadline) return 'wasm worker threads did not start in time';
    await new Promise((r) => setTimeout(r, 5));
  }
  for (const w of pthread.runningWorkers) w.unref();
  for (const w of pthread.unusedWorkers) void w.terminate();
  pthread.unusedWorkers.length = 0;
  return null;
}

/**
 * The emscripten glue of the wasm module installs process-wide 'uncaughtException' and 'unhandledRejection' handlers
 * that rethrow, which turns every later crash into exit code 7 with a stack pointing into tfjs. They are removed
 * again, restoring Node's own behaviour.
 */
type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

// Typed loosely: @types/node's overloads do not accept a union of event names.
const proc = process as unknown as {
  listeners(event: string): Array<(...args: unknown[]) => void>;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
};

function processListeners(): Map<ProcessEvent, Set<unknown>> {
  return new Map(PROCESS_EVENTS.map((e) => [e, new Set<unknown>(proc.listeners(e))]));
}

function removeNewListeners(before: Map<ProcessEvent, Set<unknown>>): void {
  for (const e of PROCESS_EVENTS) {
    for (const l of proc.listeners(e)) {
      if (!before.get(e)?.has(l)) proc.removeListener(e, l);
    }
  }
}

async function tryWasm(fixes: boolean, threads: number, warnings: string[]): Promise<Attempt> {
  let threadsWanted = Math.max(1, Math.floor(threads));
  if (!wasmPathsSet && tf.findBackend('wasm') == null) {
    const dir = wasmBinaryDirectory();
    if (dir == null) return { ok: false, detail: 'the tfjs wasm binaries were not found' };
    try {
      setWasmPaths(dir);
      wasmPathsSet = true;
    } catch (err) {
      return { ok: false, detail: `the wasm backend could not be configured (${message(err)})` };
    }
    if (threadsWanted > 1) {
      const problem = prepareWasmThreads(threadsWanted, dir);
      if (problem) {
        warnings.push(`Using 1 wasm thread: ${problem}.`);
        threadsWanted = 1;
      }
    }
  } else {
    threadsWanted = 1; // already initialized: its thread count is fixed
  }
  let ok = false;
  const os = dynamicRequire('os') as typeof import('os');
  const cpus = os.cpus;
  const listeners = processListeners();
  try {
    // tfjs caps the XNNPACK pool at half of the logical cores; report twice as many while the module starts.
    if (threadsWanted > 1) os.cpus = () => { const c = cpus.call(os); return c.concat(c); };
    ok = await tf.setBackend('wasm');
  } catch (err) {
    return { ok: false, detail: `the wasm backend failed to initialize (${message(err)})` };
  } finally {
    os.cpus = cpus;
    removeNewListeners(listeners);
  }
  if (!ok) return { ok: false, detail: 'the wasm backend failed to initialize' };
  let threadNote = '';
  if (threadsWanted > 1) {
    const problem = await settleWasmThreads();
    if (problem) {
      tf.removeBackend('wasm');
      return { ok: false, detail: `multi-threaded wasm failed: ${problem}` };
    }
    threadNote = `, ${getThreadsCount()} threads`;
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  if (fixes) registerWasmTrainingKernels();
  else registerWasmMissingKernels();
  return { ok: true, detail: (simd ? 'wasm with SIMD' : 'wasm without SIMD (this runtime lacks WebAssembly SIMD, so it is slower)') + threadNote };
}

async function useCpu(): Promise<Attempt> {
  await tf.setBackend('cpu');
  return { ok: true, detail: 'the pure-JavaScript cpu backend' };
}

/**
 * Select and initialize the backend. `pref` 'auto' tries tensorflow, then wasm, then cpu; an explicit preference
 * is tried first and, if it cannot be used, the next one in that order is taken with a warning.
 */
export async function initBackend(
  pref: BackendPreference = 'auto',
  options: BackendOptions = {},
): Promise<BackendChoice> {
  const fixes = options.wasmKernelFixes ?? true;
  const threads = options.wasmThreads ?? 1;
  const warnings: string[] = [];
  const order: Array<'tensorflow' | 'wasm' | 'cpu'> =
    pref === 'auto' || pref === 'tensorflow' ? ['tensorflow', 'wasm', 'cpu'] : pref === 'wasm' ? ['wasm', 'cpu'] : ['cpu'];
  const failures: string[] = [];
  for (const name of order) {
    const attempt = name === 'tensorflow' ? await tryTensorflow() : name === 'wasm' ? await tryWasm(fixes, threads, warnings) : await useCpu();
    if (!attempt.ok) {
      failures.push(attempt.detail);
      if (pref === name) warnings.push(`The '${name}' backend was requested but cannot be used: ${attempt.detail}.`);
      continue;
    }
    let reason: string;
    if (pref === 'auto' || pref === name) {
      reason = failures.length
        ? `${attempt.detail}: ${failures.join('; ')}.`
        : `${attempt.detail}${pref === name ? ', as requested' : ''}.`;
    } else {
      reason = `${attempt.detail}: ${failures.join('; ')}.`;
    }
    if (name === 'cpu') warnings.push(CPU_SLOW_WARNING);
    return { backend: tf.getBackend(), reason, warnings };
  }
  // useCpu cannot fail short of tfjs itself being broken.
  throw new Error(`No tfjs backend could be initialized: ${failures.join('; ')}`);
}
