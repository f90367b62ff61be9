/**
 * What a hello says about the run, in words: the one place that turns either engine's hello into the panel's
 * subtitle, the CLI's first line and the report's header. Pure.
 */
import { formatLr } from './format';
import type { HelloEvent, ScriptSummary } from './protocol';

/** The user's command line as they would type it: `python train.py --epochs 3` or `python -m pkg.train`. */
export function commandLine(s: ScriptSummary): string {
  const py = s.python || 'python';
  const args = s.argv.slice(1).map(quoteArg);
  const target = s.module ? ['-m', s.module] : [quoteArg(s.argv[0] ?? '')];
  return [quoteArg(py), ...target, ...args].join(' ');
}

export function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function optimizerText(s: ScriptSummary): string {
  if (!s.optimizers.length) return 'no optimizer';
  return s.optimizers.map((o) => {
    const lrs = o.groups.map((g) => (g.lr === null ? '?' : formatLr(g.lr)));
    const groups = o.groups.length > 1 ? `${o.groups.length} groups, LR ${lrs.join('/')}` : `LR ${lrs[0] ?? '?'}`;
    return `${o.class} (${groups})`;
  }).join(' + ');
}

/** One line under the title. */
export function subtitle(h: HelloEvent | undefined): string {
  if (!h) return '';
  if (h.script) {
    const s = h.script;
    const d = s.distributed;
    const ddp = d ? ` · DDP × ${d.worldSize}${d.effectiveBatch ? ` (batch ${d.perRankBatch} per rank, ${d.effectiveBatch} in all)` : ''}` : '';
    return `${optimizerText(s)} · PyTorch ${s.torch ?? '?'} on ${s.device}${ddp} · ${commandLine(s)}`;
  }
  const c = h.config;
  return `${c.model} · ${c.dataset} (${c.samples} rows) · ${c.optimizer}, batch ${c.batchSize} · ${h.backend}`;
}

/** The CLI's opening line. */
export function describeRun(h: HelloEvent): string {
  const c = h.config;
  const lr = (x: number | undefined) => (x === undefined ? '?' : formatLr(x));
  const range = `LR ${lr(c.startLr)} → ${lr(c.endLr)} over ${c.numIter ?? '?'} steps`;
  if (h.script) {
    const d = h.script.distributed;
    const ddp = d ? ` on ${d.worldSize} ranks (${d.launcher ?? 'launcher'}${d.backend ? `, ${d.backend}` : ''}; the loss of each step is the mean over the ranks${d.effectiveBatch ? `; effective batch ${d.effectiveBatch} = ${d.perRankBatch} × ${d.worldSize}` : ''})` : '';
    return `LR range test of ${commandLine(h.script)}${ddp}: ${optimizerText(h.script)}, ${range}`;
  }
  return `LR range test: ${c.model} (${c.parameters} parameters) on ${c.dataset} (${c.samples} rows), ${c.optimizer}, batch ${c.batchSize}, ${range}`;
}
