/**
 * Picks the tfjs backend the engine trains on: tfjs-node (native TensorFlow) if it can be loaded, else wasm
 * (SIMD when the runtime supports it) with the training-kernel fixes from ./wasmKernels, else the pure-JS cpu backend.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, registerWasmMissingKernels } from './wasmKernels';

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
   * Register the faster wasm training kernels (default true). With false only the kernels wasm lacks entirely
   * (Conv2DBackpropFilter) are added, so stock tfjs speed can be measured.
   */
  wasmKernelFixes?: boolean;
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

async function tryWasm(fixes: boolean): Promise<Attempt> {
  if (!wasmPathsSet && tf.findBackend('wasm') == null) {
    const dir = wasmBinaryDirectory();
    if (dir == null) return { ok: false, detail: 'the tfjs wasm binaries were not found' };
    try {
      setWasmPaths(dir);
      wasmPathsSet = true;
    } catch (err) {
      return { ok: false, detail: `the wasm backend could not be configured (${message(err)})` };
    }
  }
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (err) {
    return { ok: false, detail: `the wasm backend failed to initialize (${message(err)})` };
  }
  if (!ok) return { ok: false, detail: 'the wasm backend failed to initialize' };
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  if (fixes) registerWasmTrainingKernels();
  else registerWasmMissingKernels();
  return { ok: true, detail: simd ? 'wasm with SIMD' : 'wasm without SIMD (this runtime lacks WebAssembly SIMD, so it is slower)' };
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
  const warnings: string[] = [];
  const order: Array<'tensorflow' | 'wasm' | 'cpu'> =
    pref === 'auto' || pref === 'tensorflow' ? ['tensorflow', 'wasm', 'cpu'] : pref === 'wasm' ? ['wasm', 'cpu'] : ['cpu'];
  const failures: string[] = [];
  for (const name of order) {
    const attempt = name === 'tensorflow' ? await tryTensorflow() : name === 'wasm' ? await tryWasm(fixes) : await useCpu();
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
