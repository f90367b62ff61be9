/** Text and markdown tables of the benchmark's results. Pure. */
import { formatLr } from '../../src/core/format';
import type { Protocol } from './schedule';
import { FASTAI, METHODS, meetsBar, summaryTable, type Method, type Summary, type TaskRecord, type TaskScore, type Variant } from './score';

export const METHOD_LABEL: Record<Method, string> = {
  valley: 'valley', slide: 'slide', minimum: 'minimum', steep: 'steep', steepest: 'steepest', recommended: 'recommended',
};
export const PROTOCOL_LABEL: Record<Protocol, string> = { onecycle: 'one-cycle', constant: 'constant LR' };

/** A regret as a percentage; ∞ in a summary is a range test on which the method gave no suggestion. */
export const pct = (r: number) => (Number.isFinite(r) ? `${(100 * r).toFixed(r < 0.095 ? 1 : 0)}%` : r === Infinity ? '∞' : 'n/a');

function cell(lr: number | undefined, regret: number): string {
  return lr === undefined ? 'n/a' : `${formatLr(lr)} (${pct(regret)})`;
}

/** Rows of one per-task table: task, best LR and loss, then each method's LR and regret. */
export function taskRows(tasks: TaskRecord[], scores: TaskScore[], protocol: Protocol): string[][] {
  const header = ['task', 'set', 'best LR', 'best loss', ...METHODS.map((m) => METHOD_LABEL[m])];
  const rows = [header];
  scores.forEach((s, i) => {
    const r = s.regret[protocol];
    if (!r) return;
    rows.push([
      s.name, tasks[i].holdout ? 'holdout' : 'design', formatLr(s.bestLr[protocol]!), s.bestLoss[protocol]!.toPrecision(3),
      ...METHODS.map((m) => cell(s.picks[m], r[m])),
    ]);
  });
  return rows;
}

/** Rows of the per-task regret of every method under one variant (mean over the range tests, or the K = 3 pick). */
export function taskVariantRows(tasks: TaskRecord[], scores: TaskScore[], protocol: Protocol, variant: 'meanK1' | 'K3'): string[][] {
  const rows = [['task', 'set', ...METHODS.map((m) => METHOD_LABEL[m])]];
  scores.forEach((s, i) => {
    const r = (variant === 'meanK1' ? s.regretMeanK1 : s.regretK)[protocol];
    if (r) rows.push([s.name, tasks[i].holdout ? 'holdout' : 'design', ...METHODS.map((m) => pct(r[m]))]);
  });
  return rows;
}

export interface SummaryBlock {
  label: string;
  protocol: Protocol;
  variant: Variant;
  table: Record<Method, Summary>;
}

export function summaryBlocks(scores: TaskScore[], protocols: Protocol[], variants: Variant[]): SummaryBlock[] {
  const sets: [string, TaskScore[]][] = [
    ['design', scores.filter((s) => !s.holdout)],
    ['holdout', scores.filter((s) => s.holdout)],
    ['all', scores],
  ];
  const out: SummaryBlock[] = [];
  for (const protocol of protocols) {
    for (const variant of variants) {
      for (const [label, set] of sets) {
        if (!set.length || !set.some((s) => s.regret[protocol])) continue;
        out.push({ label, protocol, variant, table: summaryTable(set, protocol, variant) });
      }
    }
  }
  return out;
}

const VARIANT_LABEL: Record<Variant, string> = {
  single: 'one range test (the config seed)',
  meanK1: 'one range test, averaged over the 3 range-test seeds',
  K3: 'K = 3 range tests, median of the 3 picks',
};

/** Rows: method, then median / worst / within-10% per block. */
export function summaryRows(blocks: SummaryBlock[]): string[][] {
  const header = ['method', ...blocks.flatMap((b) => [`${b.label} n=${b.table.recommended.n}: median`, 'worst', '≤10%'])];
  const rows = [header];
  for (const m of METHODS) {
    rows.push([METHOD_LABEL[m], ...blocks.flatMap((b) => {
      const s = b.table[m];
      return [pct(s.median), pct(s.worst), `${s.within10}/${s.n}`];
    })]);
  }
  return rows;
}

export function barLine(t: Record<Method, Summary>): string {
  const bar = meetsBar(t);
  const r = t.recommended;
  const bestFastaiMedian = Math.min(...FASTAI.map((m) => t[m].median));
  const bestFastaiWorst = Math.min(...FASTAI.map((m) => t[m].worst));
  return `recommended: median ${pct(r.median)} vs best fastai median ${pct(bestFastaiMedian)} -> ${bar.median ? 'lower than all four' : 'NOT lower than all four'}; ` +
    `worst ${pct(r.worst)} vs best fastai worst ${pct(bestFastaiWorst)} -> ${bar.worst ? 'not worse than any' : 'WORSE than at least one'}`;
}

export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, i) => {
    const line = r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export function markdownTable(rows: string[][]): string {
  const esc = (v: string) => v.replace(/\|/g, '\\|');
  return [
    `| ${rows[0].map(esc).join(' | ')} |`,
    `| ${rows[0].map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function variantLabel(v: Variant): string {
  return VARIANT_LABEL[v];
}
