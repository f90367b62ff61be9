/**
 * `lr-finder run CONFIG` and `lr-finder run train.py [-- ARGS]` / `lr-finder run -m pkg.train [-- ARGS]`: run an
 * engine in a child process, show progress, then the curve and the suggestions. Which engine runs is decided by what
 * is run; everything after the launch is the same for both.
 */
import * as fs from 'fs';
import * as path from 'path';
import { analyzeCurve, FASTAI_DEFAULTS, type SweepSettings } from '../core/analysis';
import { describeRun } from '../core/engineSummary';
import { formatLoss, formatLr } from '../core/format';
import { formatEvent } from '../core/protocol';
import { adopt } from '../core/settingsAdopt';
import { suggestionSpread } from '../core/repeats';
import { reportLine } from '../core/scriptReport';
import { loadConfig } from '../engines/tfjs/load';
import { processesAtOnce, RepeatedSweep, type RepeatedOutcome } from '../runner/repeatedSweep';
import { findHookDir, launcherWords, scriptLaunch } from '../engines/torch/launch';
import type { Launch } from '../runner/sweepProcess';
import { tfjsLaunch } from '../engines/tfjs/launch';
import { describeBudget, VERIFY_DEFAULTS, VERIFY_LIMITS, type VerifyOptions } from '../core/verify';
import { VerifyRun } from '../runner/verifyRun';
import { numberFlag, parseArgs, UsageError, type ParsedArgs } from './args';
import { writeHtmlReport } from './html';
import { plotCurve, suggestionTable } from './terminal';

type Out = (s: string) => void;

const SWEEP_FLAGS = ['--start-lr', '--end-lr', '--num-iter', '--stop-factor', '--smoothing', '--repeats', '--html', '--root'];
const SCRIPT_FLAGS = ['--python', '--cwd', '--first-step-timeout', '--launcher'];
const VERIFY_FLAGS = ['--verify-steps', '--verify-seeds', '--verify-candidates'];

interface Prepared {
  /** Shown as the record's name and in the HTML report. */
  name: string;
  file: string;
  repeats: number;
  /** The settings asked for; the engine's hello says which it used. */
  settings: SweepSettings;
  launchFor(run: number): Launch;
  /** One verify training: max LR `lr`, seed offset `seed`, `steps` one-cycle steps. */
  verifyLaunch(lr: number, seed: number, steps: number): Launch;
  /** Engine processes that may run at once (processesAtOnce). */
  parallel: number;
  /** What the config asks of Verify (`sweep.verify`); the flags win. */
  verify?: Partial<VerifyOptions> & { enabled?: boolean };
  seedText(runs: number): string;
}

export async function runCommand(argv: string[], out: Out, err: Out): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const scriptArgs = dash >= 0 ? argv.slice(dash + 1) : [];
  const moduleAt = own.findIndex((a) => a === '-m' || a === '--module');
  const module = moduleAt >= 0 ? own[moduleAt + 1] : undefined;
  if (moduleAt >= 0 && (!module || module.startsWith('-'))) throw new UsageError('-m needs a module name (lr-finder run -m pkg.train -- ARGS)');
  const rest = moduleAt >= 0 ? [...own.slice(0, moduleAt), ...own.slice(moduleAt + 2)] : own;
  const p = parseArgs(rest, [...SWEEP_FLAGS, ...SCRIPT_FLAGS, ...VERIFY_FLAGS, '--seed', '--backend'], ['--json', '--allow-load', '--verify']);
  const isScript = module !== undefined || (p.positionals.length === 1 && /\.pyw?$/i.test(p.positionals[0]));
  if (!isScript && scriptArgs.length) throw new UsageError('arguments after -- are for a Python script (lr-finder run train.py -- ARGS)');
  if (module !== undefined ? p.positionals.length !== 0 : p.positionals.length !== 1) {
    throw new UsageError('run needs exactly one CONFIG file, a Python script (train.py) or -m MODULE');
  }
  const prepared = isScript ? prepareScript(p, module, scriptArgs) : prepareConfig(p);
  return execute(prepared, p, verifyOptions(p, prepared), out, err);
}

function sweepOverrides(p: ParsedArgs) {
  return {
    startLr: numberFlag(p, '--start-lr', (x) => x > 0 && x < 1e30, 'a positive number'),
    endLr: numberFlag(p, '--end-lr', (x) => x > 0 && x < 1e30, 'a positive number'),
    numIter: numberFlag(p, '--num-iter', (x) => Number.isInteger(x) && x >= 6 && x <= 100000, 'an integer from 6 to 100000'),
    stopFactor: numberFlag(p, '--stop-factor', (x) => x > 1 && x < 1e30, 'a number > 1'),
    smoothing: numberFlag(p, '--smoothing', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
  };
}

function repeatsFlag(p: ParsedArgs): number | undefined {
  return numberFlag(p, '--repeats', (x) => Number.isInteger(x) && x >= 1 && x <= 16, 'an integer from 1 to 16');
}

function prepareConfig(p: ParsedArgs): Prepared {
  for (const f of SCRIPT_FLAGS) if (p.flags.has(f)) throw new UsageError(`${f} is for Python scripts (lr-finder run train.py ${f} ...)`);
  const configFile = path.resolve(p.positionals[0]);
  const o = sweepOverrides(p);
  const seed = numberFlag(p, '--seed', (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  const backend = p.flags.get('--backend');
  if (backend !== undefined && !['auto', 'wasm', 'cpu', 'tensorflow'].includes(String(backend))) throw new UsageError(`--backend is ${JSON.stringify(backend)}; expected auto, wasm, cpu or tensorflow`);
  // Validate here first: config errors exit 2 before any process starts.
  const loaded = loadConfig(configFile, { ...o, seed });
  const cfg = loaded.config;
  const args: string[] = [];
  for (const [flag, v] of [['--start-lr', o.startLr], ['--end-lr', o.endLr], ['--num-iter', o.numIter], ['--stop-factor', o.stopFactor], ['--smoothing', o.smoothing]] as const) {
    if (v !== undefined) args.push(flag, String(v));
  }
  if (backend) args.push('--backend', String(backend));
  const root = p.flags.get('--root');
  const repeats = repeatsFlag(p) ?? cfg.sweep.repeats;
  const s = cfg.sweep;
  return {
    name: path.basename(configFile), file: configFile, repeats, parallel: processesAtOnce(false),
    settings: { startLr: s.startLr, endLr: s.endLr, numIter: s.numIter, mode: s.mode, stopFactor: s.stopFactor, smoothing: s.smoothing },
    launchFor: (run) => tfjsLaunch({
      enginePath: path.join(__dirname, 'engine.js'), configFile, root: typeof root === 'string' ? root : undefined,
      args: [...args, ...(repeats > 1 ? ['--seed', String(cfg.seed + run)] : seed !== undefined ? ['--seed', String(seed)] : [])],
    }),
    verifyLaunch: (lr, run, steps) => tfjsLaunch({
      enginePath: path.join(__dirname, 'engine.js'), configFile, root: typeof root === 'string' ? root : undefined,
      args: [...args, '--seed', String((seed ?? cfg.seed) + run), '--verify-lr', String(lr), '--verify-steps', String(steps)],
    }),
    verify: cfg.sweep.verify,
    seedText: (runs) => `seeds ${cfg.seed}…${cfg.seed + runs - 1}`,
  };
}

function prepareScript(p: ParsedArgs, module: string | undefined, args: string[]): Prepared {
  for (const f of ['--seed', '--backend']) if (p.flags.has(f)) throw new UsageError(`${f} is for training configs; a script sets its own seed and device`);
  const cwd = path.resolve(String(p.flags.get('--cwd') ?? '.'));
  if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) throw new UsageError(`--cwd ${cwd} is not a folder`);
  let script: string | undefined;
  if (!module) {
    script = path.resolve(p.positionals[0]);
    if (!fs.existsSync(script)) throw new UsageError(`${script} does not exist`);
    if (!fs.statSync(script).isFile()) throw new UsageError(`${script} is not a file`);
  }
  const launcherFlag = p.flags.get('--launcher');
  const launcher = launcherWords(typeof launcherFlag === 'string' ? launcherFlag : undefined);
  if (launcherFlag !== undefined && !launcher) throw new UsageError('--launcher needs the launcher command, e.g. --launcher "torchrun --nproc_per_node 2"');
  const o = sweepOverrides(p);
  const settings: SweepSettings = {
    startLr: o.startLr ?? FASTAI_DEFAULTS.startLr, endLr: o.endLr ?? FASTAI_DEFAULTS.endLr, numIter: o.numIter ?? FASTAI_DEFAULTS.numIter,
    mode: 'exponential', stopFactor: o.stopFactor ?? FASTAI_DEFAULTS.stopFactor, smoothing: o.smoothing ?? FASTAI_DEFAULTS.smoothing,
  };
  if (!(settings.endLr > settings.startLr)) throw new UsageError(`--end-lr (${settings.endLr}) must be above --start-lr (${settings.startLr})`);
  const timeout = numberFlag(p, '--first-step-timeout', (x) => x > 0, 'a positive number of seconds');
  const root = path.resolve(String(p.flags.get('--root') ?? (script ? path.dirname(script) : cwd)));
  const python = String(p.flags.get('--python') ?? process.env.LR_FINDER_PYTHON ?? 'python3');
  const hookDir = findHookDir(__dirname);
  return {
    name: module ? `python -m ${module}` : path.basename(script!), file: script ?? cwd, repeats: repeatsFlag(p) ?? 1, settings, parallel: processesAtOnce(true),
    launchFor: (run) => scriptLaunch({
      python, script, module, args, cwd, root, settings, seedOffset: run, allowLoad: p.flags.has('--allow-load'), hookDir,
      firstStepTimeoutMs: (timeout ?? 300) * 1000, launcher,
    }),
    verifyLaunch: (lr, run, steps) => scriptLaunch({
      python, script, module, args, cwd, root, settings, seedOffset: run, allowLoad: p.flags.has('--allow-load'), hookDir,
      firstStepTimeoutMs: (timeout ?? 300) * 1000, verify: { lr, steps },
    }),
    seedText: (runs) => `the script's seeds + 0…${runs - 1}`,
  };
}

async function execute(prep: Prepared, p: ParsedArgs, verify: VerifyOptions | undefined, out: Out, err: Out): Promise<number> {
  const json = p.flags.has('--json');
  const html = p.flags.get('--html');
  const tty = !json && process.stderr.isTTY;
  const { repeats } = prep;
  let numIter = prep.settings.numIter;
  let lastDraw = 0;
  let barShown = false;
  const clearBar = () => { if (barShown) { process.stderr.write('\r' + ' '.repeat(78) + '\r'); barShown = false; } };
  const t0 = Date.now();
  const proc = new RepeatedSweep({
    repeats, parallel: prep.parallel,
    launchFor: prep.launchFor,
    onEvent: (run, e) => {
      if (json) { if (repeats === 1) out(formatEvent(e)); return; }
      if (run !== 0) return;
      if (e.type === 'hello') {
        numIter = e.config.numIter ?? numIter;
        clearBar();
        err(describeRun(e));
        err(`backend: ${e.backend} — ${e.backendReason}`);
        for (const w of e.warnings) err(`warning: ${w}`);
      } else if (e.type === 'status') {
        clearBar();
        err(`${e.state}: ${e.message}`); // a cluster job: "pending: job 12 is waiting for resources"
      } else if (e.type === 'point' && tty && Date.now() - lastDraw > 50) {
        lastDraw = Date.now();
        const done = Math.min(1, (e.iteration + 1) / numIter);
        const runs = repeats > 1 ? ` (run 1 of ${repeats})` : '';
        const bar = '█'.repeat(Math.round(done * 30)).padEnd(30, '░');
        process.stderr.write(`\r${bar} ${String(e.iteration + 1).padStart(4)}/${numIter}  lr ${formatLr(e.lr).padEnd(8)} loss ${formatLoss(e.loss).padEnd(10)}${runs}`);
        barShown = true;
      }
    },
    // The script's own output goes to the terminal (stderr: stdout is the curve, or protocol lines with --json).
    onStdout: (line) => { clearBar(); err(line); },
    onStderr: (line) => { if (process.env.LR_FINDER_DEBUG || prep.file.endsWith('.py') || prep.name.startsWith('python -m')) { clearBar(); err(line); } },
    onMalformed: (_line, error) => err(`lr-finder: ignored a malformed line from the engine: ${error}`),
  });
  const onSigint = () => { void proc.cancel(); };
  // SIGTERM too (a job scheduler, a CI timeout, kill): the sweep's processes, or its cluster job, go with the CLI.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSigint);
  const outcome = await proc.done;
  const wallSeconds = (Date.now() - t0) / 1000;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSigint);
  clearBar();

  if (json && repeats > 1) {
    // One combined stream: the hello, the median curve's points, then the end.
    if (outcome.hello) out(formatEvent(outcome.hello));
    for (const q of outcome.points) out(formatEvent(q));
    if (outcome.end) out(formatEvent(outcome.end));
    else if (outcome.error) out(formatEvent(outcome.error));
    if (outcome.report) out(formatEvent(outcome.report));
  }
  const report = outcome.report ? reportLine(outcome.report) : undefined;
  if (report && !json) err(report);
  if (outcome.error) {
    if (!json) err(`lr-finder: ${outcome.error.message}${where(outcome.error)}`);
    // A config the engine refused is an input error (2); a script or sweep that failed is 1.
    return outcome.error.file && outcome.hello?.engine !== 'torch' && !prep.file.endsWith('.py') && !prep.name.startsWith('python -m') ? 2 : 1;
  }
  if (!outcome.end) {
    if (outcome.cancelled && !outcome.points.length && !outcome.hello) { err(`lr-finder: cancelled before ${prep.name} had started`); return 130; }
    const why = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
    err(`lr-finder: ${prep.name} ${why} without finishing the sweep${outcome.stderrTail.length ? ':\n' + outcome.stderrTail.slice(-10).join('\n') : ''}`);
    return 1;
  }
  const code = finishRun(prep, outcome, typeof html === 'string' ? html : undefined, json, out, err);
  if (code !== 0 || !verify) return code;
  return verifyAfterSweep(prep, outcome, verify, repeats === 1 ? wallSeconds : undefined, json, out, err);
}

/** The Verify options asked for (`--verify`, or the config's `sweep.verify`), or undefined when not verifying. */
function verifyOptions(p: ParsedArgs, prep: Prepared): VerifyOptions | undefined {
  const L = VERIFY_LIMITS;
  const int = (flag: string, lim: { min: number; max: number }) => numberFlag(p, flag, (x) => Number.isInteger(x) && x >= lim.min && x <= lim.max, `an integer from ${lim.min} to ${lim.max}`);
  const flags = { steps: int('--verify-steps', L.steps), seeds: int('--verify-seeds', L.seeds), maxCandidates: int('--verify-candidates', L.maxCandidates) };
  const asked = p.flags.has('--verify') || !!prep.verify?.enabled;
  if (!asked) {
    const given = VERIFY_FLAGS.find((f) => p.flags.has(f));
    if (given) throw new UsageError(`${given} is an option of --verify (lr-finder run ... --verify ${given} N)`);
    return undefined;
  }
  const pick = (k: keyof typeof flags) => flags[k] ?? prep.verify?.[k] ?? VERIFY_DEFAULTS[k];
  return { ...VERIFY_DEFAULTS, steps: pick('steps'), seeds: pick('seeds'), maxCandidates: pick('maxCandidates') };
}

/** Verify: short one-cycle trainings around the recommendation, scored on held-out loss (core/verify.ts). */
async function verifyAfterSweep(prep: Prepared, sweep: RepeatedOutcome, options: VerifyOptions, wallSeconds: number | undefined, json: boolean, out: Out, err: Out): Promise<number> {
  const settings = adopt(prep.settings, sweep.hello?.config);
  const analysis = analyzeCurve(sweep.points.map((q) => q.lr), sweep.points.map((q) => q.loss), settings);
  const rec = analysis.suggestions.recommended;
  if (!rec || !('lr' in rec)) {
    err(`lr-finder: nothing to verify: ${rec && 'reason' in rec ? rec.reason : 'the sweep gave no recommendation'}`);
    return 1;
  }
  const parallel = prep.parallel;
  const seconds = sweep.end?.seconds;
  const startup = wallSeconds !== undefined && seconds !== undefined ? Math.max(0, wallSeconds - seconds) : undefined;
  if (!json) err(`verify: ${describeBudget(options, { steps: sweep.points.length, seconds, startup }, parallel)}, around the recommendation ${formatLr(rec.lr)}`);
  const run = new VerifyRun({
    center: rec.lr, options, parallel,
    launchFor: (lr, seed) => prep.verifyLaunch(lr, seed, options.steps),
    onEvent: (_job, e) => { if (json && e.type === 'candidate') out(formatEvent(e)); },
    onCandidate: (r, done, planned) => {
      if (!json) err(`verify: ${done}/${planned}${planned < options.maxCandidates * options.seeds ? '+' : ''}  LR ${formatLr(r.lr).padEnd(8)} ${r.diverged ? 'diverged' : `${r.signal} loss ${formatLoss(r.loss)}`}${options.seeds > 1 ? ` (seed +${r.seed})` : ''}`);
    },
    onStdout: (line) => { if (process.env.LR_FINDER_DEBUG) err(line); },
    onStderr: (line) => { if (process.env.LR_FINDER_DEBUG) err(line); },
  });
  const onSignal = () => { void run.cancel(); };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  const v = await run.done;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal);
  if (v.verified && json) out(formatEvent({ type: 'verified', ...v.verified }));
  if (v.error) {
    if (json) out(formatEvent(v.error));
    else err(`lr-finder: verify stopped: ${v.error.message}${where(v.error)}`);
    return 1;
  }
  if (!v.verified) {
    err(`lr-finder: verify: ${v.reason}`);
    return v.cancelled ? 130 : 1;
  }
  if (!json) out(`\nverified: ${v.verified.explanation}`);
  return v.cancelled ? 130 : 0;
}

/** A script's traceback position, unless the message already starts with it (config and CSV errors do). */
function where(e: { file?: string; line?: number; message: string }): string {
  if (!e.file || !e.line || e.message.includes(`${path.basename(e.file)}:${e.line}`)) return '';
  return ` (${e.file}:${e.line})`;
}

function finishRun(prep: Prepared, outcome: RepeatedOutcome, html: string | undefined, json: boolean, out: Out, err: Out): number {
  const end = outcome.end!;
  const settings = adopt(prep.settings, outcome.hello?.config);
  const lrs = outcome.points.map((q) => q.lr);
  const losses = outcome.points.map((q) => q.loss);
  const analysis = analyzeCurve(lrs, losses, settings);
  const { repeats } = prep;
  if (html) {
    const file = path.resolve(html);
    writeHtmlReport(file, {
      record: {
        configPath: prep.file, configName: prep.name, settings: analysis.settings, hello: outcome.hello,
        points: outcome.points, end, repeats, ...(repeats > 1 ? { runs: outcome.runs } : {}),
      },
    });
    if (!json) err(`wrote ${file}`);
  }
  if (!json) {
    const how = { completed: 'completed', diverged: 'stopped: the loss diverged', 'non-finite': 'stopped: the loss became NaN/Infinity', cancelled: 'cancelled' }[end.reason];
    const skipped = end.skipped ? ` (${end.skipped} skipped by GradScaler)` : '';
    out(`${how} after ${end.points} steps${skipped}${end.seconds !== undefined ? ` in ${end.seconds.toFixed(1)} s` : ''}${repeats > 1 ? ` (median of ${outcome.runs.length} runs, ${prep.seedText(repeats)})` : ''}\n`);
    out(plotCurve(lrs, analysis));
    out('');
    out(suggestionTable(lrs, analysis, repeats > 1 ? suggestionSpread(outcome.runs, analysis.settings) : undefined));
  }
  if (end.reason === 'cancelled') return 130;
  return 0;
}
