/**
 * Training-speed benchmark: steps/s and GFLOP/s of the engine's training step on three reference workloads, per
 * backend configuration, with PyTorch (single thread) as the reference when /usr/bin/python3 has torch.
 *
 *   node dist/bench.js [--json] [--steps N] [--repeats N] [--warmup N] [--workload mlp,cnn,tabular]
 *                      [--backends tensorflow,wasm,wasm-2t,wasm-stock,cpu] [--no-pytorch] [--no-script-hook]
 *
 * Each step is what the LR finder does per point: set the LR, one optimizer step, read the loss back to the host
 * (createTrainer().step). A result is the median over `repeats` timed runs of `steps` steps, after `warmup` steps.
 * Every backend configuration runs in a fresh child process (this script forked with --child) so backends, kernel
 * registrations and wasm heaps do not interfere.
 *
 * FLOP per step = 6 * MACs * batch, where MACs are the multiply-accumulates of one forward pass of one example
 * (Dense: in*units; Conv2D: Ho*Wo*kh*kw*cin*cout). The factor 6 counts the forward (2) and backward (4) passes;
 * it slightly overstates the work for the first layer, whose input gradient is not computed.
 *
 * After that, the script engine's Python hook: bench/script-hook/bench_hook.py (its overhead per optimizer step and
 * its start-up cost, with /usr/bin/python3's torch), printed below the table (with --json: one more line,
 * {"scriptHook": ...}). --no-script-hook skips it.
 */
import { fork, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/engines/tfjs/backend';
import { createTrainer } from '../src/engines/tfjs/trainer';

type WorkloadName = 'mlp' | 'cnn' | 'tabular';
type BackendConfig = 'wasm' | 'wasm-2t' | 'wasm-stock' | 'cpu' | 'tensorflow';

const WORKLOADS: WorkloadName[] = ['mlp', 'cnn', 'tabular'];
const BACKENDS: BackendConfig[] = ['wasm', 'tensorflow', 'wasm-2t', 'wasm-stock', 'cpu'];
/** Workloads skipped per backend, with the reason printed in the table. */
const SKIP: Partial<Record<BackendConfig, Partial<Record<WorkloadName, string>>>> = {
  cpu: { cnn: 'skipped: the pure-JS cpu backend takes ~10 s per CNN step' },
};

interface Options {
  json: boolean;
  steps: number;
  repeats: number;
  warmup: number;
  workloads: WorkloadName[];
  backends: BackendConfig[];
  pytorch: boolean;
  child: BackendConfig | null;
  scriptHook: boolean;
}

interface ChildResult {
  workload: WorkloadName;
  backend: string;
  stepsPerSecond: number;
  /** Steps per second of process CPU time (all threads): less sensitive to other load on the machine. */
  cpuStepsPerSecond: number;
  runs: number[];
  flopPerStep: number;
  finalLoss: number;
}

interface ChildMessage {
  backend: string;
  reason: string;
  results: ChildResult[];
  error?: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    json: false, steps: 200, repeats: 3, warmup: 20, workloads: WORKLOADS.slice(), backends: BACKENDS.slice(),
    pytorch: true, child: null, scriptHook: true,
  };
  const intArg = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--json': opts.json = true; break;
      case '--steps': opts.steps = intArg(flag, value()); break;
      case '--repeats': opts.repeats = intArg(flag, value()); break;
      case '--warmup': opts.warmup = intArg(flag, value()); break;
      case '--no-pytorch': opts.pytorch = false; break;
      case '--no-script-hook': opts.scriptHook = false; break;
      case '--workload': case '--workloads': {
        const list = String(value()).split(',').map((s) => s.trim()).filter(Boolean);
        for (const w of list) if (!WORKLOADS.includes(w as WorkloadName)) throw new Error(`unknown workload ${w} (${WORKLOADS.join(', ')})`);
        opts.workloads = list as WorkloadName[];
        break;
      }
      case '--backend': case '--backends': {
        const list = String(value()).split(',').map((s) => s.trim()).filter(Boolean);
        for (const b of list) if (!BACKENDS.includes(b as BackendConfig)) throw new Error(`unknown backend ${b} (${BACKENDS.join(', ')})`);
        opts.backends = list as BackendConfig[];
        break;
      }
      case '--child': {
        const b = String(value());
        if (!BACKENDS.includes(b as BackendConfig)) throw new Error(`unknown backend ${b}`);
        opts.child = b as BackendConfig;
        break;
      }
      case '--help': case '-h':
        process.stdout.write('usage: bench [--json] [--steps N] [--repeats N] [--warmup N] [--workload mlp,cnn,tabular] ' +
          '[--backends tensorflow,wasm,wasm-2t,wasm-stock,cpu] [--no-pytorch] [--no-script-hook]\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------------------------
// Workloads

interface Workload {
  model: tfl.LayersModel;
  x: tf.Tensor;
  y: tf.Tensor;
  flopPerStep: number;
}

/** Deterministic integers in [0, n) (mulberry32). */
function labels(count: number, classes: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push(Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * classes));
  }
  return out;
}

/** Multiply-accumulates of one forward pass of one example through Dense and Conv2D layers. */
export function forwardMacs(model: tfl.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const inShape = (layer.input as tfl.SymbolicTensor).shape;
    const outShape = (layer.output as tfl.SymbolicTensor).shape;
    if (cls === 'Dense') {
      macs += (inShape[inShape.length - 1] as number) * (outShape[outShape.length - 1] as number);
    } else if (cls === 'Conv2D') {
      const [kh, kw, cin, cout] = layer.getWeights()[0].shape as [number, number, number, number];
      macs += (outShape[1] as number) * (outShape[2] as number) * kh * kw * cin * cout;
    }
  }
  return macs;
}

function buildWorkload(name: WorkloadName): Workload {
  let seed = 1;
  const init = () => tfl.initializers.glorotUniform({ seed: seed++ });
  const model = tfl.sequential();
  let batch: number;
  let inputShape: number[];
  let classes: number;
  if (name === 'mlp') {
    batch = 64; inputShape = [784]; classes = 10;
    model.add(tfl.layers.dense({ inputShape, units: 256, activation: 'relu', kernelInitializer: init() }));
    model.add(tfl.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init() }));
    model.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }));
  } else if (name === 'cnn') {
    batch = 64; inputShape = [28, 28, 1]; classes = 10;
    model.add(tfl.layers.conv2d({ inputShape, filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tfl.layers.flatten());
    model.add(tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }));
  } else {
    batch = 16; inputShape = [4]; classes = 3;
    model.add(tfl.layers.dense({ inputShape, units: 16, activation: 'relu', kernelInitializer: init() }));
    model.add(tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init() }));
  }
  const x = tf.randomNormal([batch, ...inputShape], 0, 1, 'float32', 42);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels(batch, classes, 7), 'int32'), classes));
  return { model, x, y, flopPerStep: 6 * forwardMacs(model) * batch };
}

function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function runChild(opts: Options, config: BackendConfig): Promise<ChildMessage> {
  const pref = config === 'wasm-stock' || config === 'wasm-2t' ? 'wasm' : config;
  const choice = await initBackend(pref, { wasmKernelFixes: config !== 'wasm-stock', wasmThreads: config === 'wasm-2t' ? 2 : 1 });
  if (config === 'wasm-2t' && !/2 threads/.test(choice.reason)) {
    return { backend: choice.backend, reason: choice.reason, results: [], error: `2 wasm threads are not available: ${choice.warnings.join(' ')}` };
  }
  const expected = pref;
  if (choice.backend !== expected) {
    return { backend: choice.backend, reason: choice.reason, results: [], error: `${config} is not available: ${choice.reason}` };
  }
  const results: ChildResult[] = [];
  const lr = 1e-3;
  for (const name of opts.workloads) {
    if (SKIP[config]?.[name]) continue;
    const w = buildWorkload(name);
    const trainer = createTrainer(w.model, 'categoricalCrossentropy', { name: 'adam', learningRate: lr });
    let loss = NaN;
    for (let i = 0; i < opts.warmup; i++) loss = trainer.step(w.x, w.y, lr);
    const runs: number[] = [];
    const cpuRuns: number[] = [];
    for (let r = 0; r < opts.repeats; r++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      for (let i = 0; i < opts.steps; i++) loss = trainer.step(w.x, w.y, lr);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(c0);
      runs.push(opts.steps / seconds);
      cpuRuns.push(opts.steps / ((cpu.user + cpu.system) / 1e6));
    }
    trainer.dispose();
    w.model.dispose();
    tf.dispose([w.x, w.y]);
    results.push({
      workload: name, backend: config, stepsPerSecond: median(runs), cpuStepsPerSecond: median(cpuRuns), runs,
      flopPerStep: w.flopPerStep, finalLoss: loss,
    });
  }
  return { backend: choice.backend, reason: choice.reason, results };
}

// ---------------------------------------------------------------------------------------------------------------------
// Parent: fork one child per backend configuration, run PyTorch, print.

function forkChild(opts: Options, config: BackendConfig): Promise<ChildMessage> {
  return new Promise((resolve) => {
    const args = ['--child', config, '--steps', String(opts.steps), '--repeats', String(opts.repeats),
      '--warmup', String(opts.warmup), '--workload', opts.workloads.join(',')];
    const child = fork(process.argv[1], args, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let message: ChildMessage | null = null;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('message', (m) => { message = m as ChildMessage; });
    child.on('exit', (code) => {
      resolve(message ?? { backend: config, reason: '', results: [], error: `child exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

interface PytorchResult {
  version: string;
  stepsPerSecond: Partial<Record<WorkloadName, number>>;
  cpuStepsPerSecond: Partial<Record<WorkloadName, number>>;
}

function findPytorchScript(): string | null {
  const candidates = [
    path.join(__dirname, 'pytorch_bench.py'),
    path.join(__dirname, '..', 'bench', 'pytorch_bench.py'),
    path.join(__dirname, '..', '..', 'bench', 'pytorch_bench.py'),
    path.join(process.cwd(), 'bench', 'pytorch_bench.py'),
  ];
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

function runPytorch(opts: Options): { result: PytorchResult | null; note: string } {
  const script = findPytorchScript();
  if (!script) return { result: null, note: 'PyTorch: bench/pytorch_bench.py not found' };
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { result: null, note: `PyTorch: not available (${python} cannot import torch)` };
  const r = spawnSync(python, [script, '--steps', String(opts.steps), '--repeats', String(opts.repeats),
    '--warmup', String(opts.warmup), '--workload', opts.workloads.join(',')], { encoding: 'utf8', timeout: 30 * 60 * 1000 });
  if (r.status !== 0) return { result: null, note: `PyTorch: benchmark failed (${(r.stderr || '').trim().split('\n').pop()})` };
  try {
    const parsed = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      torch: string; threads: number; results: Record<string, { stepsPerSecond: number; cpuStepsPerSecond: number }>;
    };
    const stepsPerSecond: Partial<Record<WorkloadName, number>> = {};
    const cpuStepsPerSecond: Partial<Record<WorkloadName, number>> = {};
    for (const [k, v] of Object.entries(parsed.results)) {
      stepsPerSecond[k as WorkloadName] = v.stepsPerSecond;
      cpuStepsPerSecond[k as WorkloadName] = v.cpuStepsPerSecond;
    }
    return { result: { version: parsed.torch, stepsPerSecond, cpuStepsPerSecond }, note: `PyTorch ${parsed.torch}, ${parsed.threads} thread (${python})` };
  } catch {
    return { result: null, note: 'PyTorch: could not parse the benchmark output' };
  }
}

function availableBackends(requested: BackendConfig[]): { run: BackendConfig[]; notes: string[] } {
  const notes: string[] = [];
  const run: BackendConfig[] = [];
  for (const b of requested) {
    if (b === 'tensorflow') {
      try {
        require.resolve('@tensorflow/tfjs-node');
      } catch {
        notes.push('tensorflow: skipped, @tensorflow/tfjs-node is not installed');
        continue;
      }
    }
    run.push(b);
  }
  return { run, notes };
}

function fmt(n: number | null, digits: number): string {
  if (n === null || !Number.isFinite(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.child) {
    let message: ChildMessage;
    try {
      message = await runChild(opts, opts.child);
    } catch (err) {
      message = { backend: opts.child, reason: '', results: [], error: err instanceof Error ? err.stack ?? err.message : String(err) };
    }
    await new Promise<void>((resolve) => process.send!(message, () => resolve()));
    process.disconnect?.();
    return;
  }

  const { run, notes } = availableBackends(opts.backends);
  const loadBefore = os.loadavg()[0];
  const rows: ChildResult[] = [];
  const log = (s: string) => { if (!opts.json) process.stderr.write(s + '\n'); };
  // PyTorch first, then the wasm configuration with the fixes right after it, so that the pair the ratio is about
  // runs as close together as possible (other load on the machine changes over minutes).
  let pytorch: PytorchResult | null = null;
  if (opts.pytorch) {
    log('running PyTorch ...');
    const p = runPytorch(opts);
    pytorch = p.result;
    notes.push(p.note);
  } else {
    notes.push('PyTorch: not run (--no-pytorch)');
  }
  for (const config of run) {
    log(`running ${config} ...`);
    const m = await forkChild(opts, config);
    if (m.error) notes.push(`${config}: ${m.error}`);
    else notes.push(`${config}: ${m.reason}`);
    rows.push(...m.results);
    for (const w of opts.workloads) {
      const skip = SKIP[config]?.[w];
      if (skip && !m.error) notes.push(`${config} ${w}: ${skip}`);
    }
  }

  notes.push(`machine: ${os.cpus().length} logical CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}; ` +
    `1-minute load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after (other processes skew the figures)`);
  const order = (r: ChildResult) => WORKLOADS.indexOf(r.workload) * 10 + BACKENDS.indexOf(r.backend as BackendConfig);
  rows.sort((a, b) => order(a) - order(b));
  if (opts.json) {
    for (const r of rows) {
      process.stdout.write(JSON.stringify({
        workload: r.workload,
        backend: r.backend,
        stepsPerSecond: round(r.stepsPerSecond, 2),
        gflops: round((r.stepsPerSecond * r.flopPerStep) / 1e9, 3),
        pytorchStepsPerSecond: pytorch?.stepsPerSecond[r.workload] != null ? round(pytorch.stepsPerSecond[r.workload] as number, 2) : null,
      }) + '\n');
    }
    if (opts.scriptHook) printScriptHook(true, log);
    return;
  }
  const header = ['workload', 'backend', 'steps/s', 'GFLOP/s', 'MFLOP/step', 'PyTorch steps/s', 'ratio', 'steps/CPU-s', 'PyTorch', 'ratio'];
  const table: string[][] = [header];
  for (const r of rows) {
    const pt = pytorch?.stepsPerSecond[r.workload] ?? null;
    const ptCpu = pytorch?.cpuStepsPerSecond[r.workload] ?? null;
    table.push([
      r.workload, r.backend, fmt(r.stepsPerSecond, 1), fmt((r.stepsPerSecond * r.flopPerStep) / 1e9, 3),
      fmt(r.flopPerStep / 1e6, 3), fmt(pt, 1), pt ? `${(r.stepsPerSecond / pt).toFixed(2)}x` : '-',
      fmt(r.cpuStepsPerSecond, 1), fmt(ptCpu, 1), ptCpu ? `${(r.cpuStepsPerSecond / ptCpu).toFixed(2)}x` : '-',
    ]);
  }
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(line(header) + '\n' + widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  for (const row of table.slice(1)) process.stdout.write(line(row) + '\n');
  process.stdout.write(`\nmedian of ${opts.repeats} x ${opts.steps} steps after ${opts.warmup} warm-up steps; ` +
    'a step = set LR + one Adam step + loss read back; FLOP/step = 6 x forward MACs x batch.\n' +
    'steps/s is wall-clock; steps/CPU-s divides by the CPU time of all the process\'s threads (it leaves out time spent ' +
    'waiting for a CPU when the machine is busy; for wasm-2t it counts both threads).\n');
  for (const n of notes) process.stdout.write(`- ${n}\n`);
  if (opts.scriptHook) printScriptHook(false, log);
}

// ---------------------------------------------------------------------------------------------------------------------
// The script engine's Python hook (bench/script-hook/bench_hook.py): runs after everything above, so it cannot skew
// those figures; its own text (or one JSON line {"scriptHook": ...}) follows them.

function printScriptHook(json: boolean, log: (s: string) => void): void {
  const dirs = [path.join(__dirname, '..', 'bench'), path.join(__dirname, '..', '..', 'bench'), path.join(process.cwd(), 'bench')];
  const script = dirs.map((d) => path.join(d, 'script-hook', 'bench_hook.py')).find((p) => fs.existsSync(p));
  const say = (note: string): void => {
    process.stdout.write(json ? JSON.stringify({ scriptHook: { skipped: note } }) + '\n' : `\nScript hook: ${note}\n`);
  };
  if (!script) return say('skipped, bench/script-hook/bench_hook.py not found');
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return say(`skipped, ${python} cannot import torch`);
  log('running the script hook benchmark ...');
  const r = spawnSync(python, [script, '--python', python, ...(json ? ['--json'] : [])],
    { encoding: 'utf8', timeout: 60 * 60 * 1000, stdio: ['ignore', 'pipe', json ? 'pipe' : 'inherit'] });
  // A failure is explained on stdout too ("Script hook: failed: ..." or {"error": ...}): passed on as it is.
  const out = (r.stdout || '').trim();
  if (!out) return say(`failed (${r.error ? r.error.message : `exit code ${r.status}`}: ${(r.stderr || '').trim().split('\n').pop() ?? ''})`);
  if (!json) {
    process.stdout.write('\n' + out + '\n');
    return;
  }
  try {
    process.stdout.write(JSON.stringify({ scriptHook: JSON.parse(out.split('\n').pop() as string) }) + '\n');
  } catch {
    say('could not parse the benchmark output');
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
