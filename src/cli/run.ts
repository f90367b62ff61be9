/** `lr-finder run CONFIG`: validate, run the engine in a child process, show progress, then the curve and suggestions. */
import * as path from 'path';
import { analyzeCurve } from '../core/analysis';
import { formatLoss, formatLr } from '../core/format';
import { formatEvent } from '../core/protocol';
import { loadConfig } from '../engine/load';
import { RepeatedSweep } from '../host/repeatedSweep';
import { suggestionSpread } from '../core/repeats';
import { numberFlag, parseArgs, UsageError } from './args';
import { writeHtmlReport } from './html';
import { plotCurve, suggestionTable } from './terminal';

export async function runCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, ['--html', '--start-lr', '--end-lr', '--num-iter', '--seed', '--backend', '--root', '--repeats'], ['--json']);
  if (p.positionals.length !== 1) throw new UsageError('run needs exactly one CONFIG file');
  const configFile = path.resolve(p.positionals[0]);
  const overrides = {
    startLr: numberFlag(p, '--start-lr', (x) => x > 0, 'a positive number'),
    endLr: numberFlag(p, '--end-lr', (x) => x > 0, 'a positive number'),
    numIter: numberFlag(p, '--num-iter', (x) => Number.isInteger(x) && x >= 6, 'an integer >= 6'),
    seed: numberFlag(p, '--seed', (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer'),
  };
  const backend = p.flags.get('--backend');
  if (backend !== undefined && !['auto', 'wasm', 'cpu', 'tensorflow'].includes(String(backend))) throw new UsageError(`--backend is ${JSON.stringify(backend)}; expected auto, wasm, cpu or tensorflow`);
  const repeatsFlag = numberFlag(p, '--repeats', (x) => Number.isInteger(x) && x >= 1 && x <= 16, 'an integer from 1 to 16');
  const json = p.flags.has('--json');
  const html = p.flags.get('--html');

  // Validate here first: config errors exit 2 before any process starts.
  const loaded = loadConfig(configFile, overrides);
  const numIter = loaded.config.sweep.numIter;

  const engineArgs: string[] = [];
  for (const [flag, v] of [['--start-lr', overrides.startLr], ['--end-lr', overrides.endLr], ['--num-iter', overrides.numIter], ['--seed', overrides.seed]] as const) {
    if (v !== undefined) engineArgs.push(flag, String(v));
  }
  if (backend) engineArgs.push('--backend', String(backend));
  const root = p.flags.get('--root');
  const tty = !json && process.stderr.isTTY;
  let lastDraw = 0;
  const repeats = repeatsFlag ?? loaded.config.sweep.repeats;
  const proc = new RepeatedSweep({
    repeats,
    seed: loaded.config.seed,
    enginePath: path.join(__dirname, 'engine.js'),
    configFile,
    root: typeof root === 'string' ? root : process.cwd(),
    args: engineArgs,
    onEvent: (run, e) => {
      if (json) { if (repeats === 1) out(formatEvent(e)); return; }
      if (run !== 0) return;
      if (e.type === 'hello') {
        err(`LR range test: ${e.config.model} (${e.config.parameters} parameters) on ${e.config.dataset} (${e.config.samples} rows), ` +
          `${e.config.optimizer}, batch ${e.config.batchSize}, LR ${formatLr(e.config.startLr)} → ${formatLr(e.config.endLr)} over ${e.config.numIter} steps`);
        err(`backend: ${e.backend} — ${e.backendReason}`);
        for (const w of e.warnings) err(`warning: ${w}`);
      } else if (e.type === 'point' && tty && Date.now() - lastDraw > 50) {
        lastDraw = Date.now();
        const done = (e.iteration + 1) / numIter;
        const runs = repeats > 1 ? ` (run 1 of ${repeats})` : '';
        const bar = '█'.repeat(Math.round(done * 30)).padEnd(30, '░');
        process.stderr.write(`\r${bar} ${String(e.iteration + 1).padStart(4)}/${numIter}  lr ${formatLr(e.lr).padEnd(8)} loss ${formatLoss(e.loss).padEnd(10)}${runs}`);
      }
    },
    onStderr: (line) => { if (process.env.LR_FINDER_DEBUG) err(`[engine] ${line}`); },
    onMalformed: (_line, error) => err(`lr-finder: ignored a malformed line from the engine: ${error}`),
  });
  const onSigint = () => { void proc.cancel(); };
  process.on('SIGINT', onSigint);
  const outcome = await proc.done;
  process.off('SIGINT', onSigint);
  if (tty) process.stderr.write('\r' + ' '.repeat(70) + '\r');

  if (json && repeats > 1) {
    // One combined stream: the hello, the median curve's points, then the end.
    if (outcome.hello) out(formatEvent(outcome.hello));
    for (const q of outcome.points) out(formatEvent(q));
    if (outcome.end) out(formatEvent(outcome.end));
    else if (outcome.error) out(formatEvent(outcome.error));
  }
  if (outcome.error) {
    if (!json) err(`lr-finder: ${outcome.error.message}`);
    return outcome.error.file ? 2 : 1;
  }
  if (!outcome.end) {
    const why = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
    err(`lr-finder: the engine ${why} without finishing the sweep${outcome.stderrTail.length ? ':\n' + outcome.stderrTail.slice(-10).join('\n') : ''}`);
    return 1;
  }
  const lrs = outcome.points.map((q) => q.lr);
  const losses = outcome.points.map((q) => q.loss);
  const s = loaded.config.sweep;
  const analysis = analyzeCurve(lrs, losses, { numIter: s.numIter, startLr: s.startLr, endLr: s.endLr, mode: s.mode, stopFactor: s.stopFactor, smoothing: s.smoothing });
  if (typeof html === 'string') {
    const file = path.resolve(html);
    writeHtmlReport(file, {
      record: {
        configPath: configFile, configName: path.basename(configFile), settings: analysis.settings, hello: outcome.hello,
        points: outcome.points, end: outcome.end, repeats, ...(repeats > 1 ? { runs: outcome.runs } : {}),
      },
    });
    if (!json) err(`wrote ${file}`);
  }
  if (!json) {
    const e = outcome.end;
    const how = { completed: 'completed', diverged: 'stopped: the loss diverged', 'non-finite': 'stopped: the loss became NaN/Infinity', cancelled: 'cancelled' }[e.reason];
    out(`${how} after ${e.points} steps${e.seconds !== undefined ? ` in ${e.seconds.toFixed(1)} s` : ''}${repeats > 1 ? ` (median of ${outcome.runs.length} runs, seeds ${loaded.config.seed}…${loaded.config.seed + repeats - 1})` : ''}\n`);
    out(plotCurve(lrs, analysis));
    out('');
    out(suggestionTable(lrs, analysis, repeats > 1 ? suggestionSpread(outcome.runs, analysis.settings) : undefined));
  }
  if (outcome.end.reason === 'cancelled') return 130;
  return 0;
}

