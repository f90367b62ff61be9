/** Text and markdown tables of the benchmark's results. Pure. */
import { formatLr } from '../../src/core/format';
import type { Protocol } from './schedule';
import { CURVE_METHODS, FASTAI, METHODS, meetsBar, summaryTable, verifyCostSummary, type Method, type Summary, type TaskRecord, type TaskScore, type Variant } from './score';
import { SET_LABEL, TASK_SETS } from './tasks';

export const METHOD_LABEL: Record<Method, string> = {
  valley: 'valley', slide: 'slide', minimum: 'minimum', steep: 'steep', steepest: 'steepest', recommended: 'recommended', verified: 'verified',
};

/** Not measured: a task recorded without Verify, or `verified` under a protocol or variant it is not scored in. */
export const MISSING = '–';
export const PROTOCOL_LABEL: Record<Protocol, string> = { onecycle: 'one-cycle', constant: 'constant LR' };

/** A regret as a percentage; ∞ in a summary is a range test on which the method gave no suggestion. */
export const pct = (r: number) => (Number.isFinite(r) ? `${(100 * r).toFixed(r < 0.095 ? 1 : 0)}%` : r === Infinity ? '∞' : 'n/a');

function cell(lr: number | undefined, regret: number | undefined): string {
  if (regret === undefined) return MISSING;
  return lr === undefined ? 'n/a' : `${formatLr(lr)} (${pct(regret)})`;
}

/** Rows of one per-task table: task, best LR and loss, then each method's LR and regret (verified: "–" when not measured). */
export function taskRows(_tasks: TaskRecord[], scores: TaskScore[], protocol: Protocol): string[][] {
  const header = ['task', 'set', 'best LR', 'best loss', ...METHODS.map((m) => METHOD_LABEL[m])];
  const rows = [header];
  scores.forEach((s) => {
    const r = s.regret[protocol];
    if (!r) return;
    rows.push([
      s.name, SET_LABEL[s.set], formatLr(s.bestLr[protocol]!), s.bestLoss[protocol]!.toPrecision(3),
      ...METHODS.map((m) => cell(s.picks[m], r[m])),
    ]);
  });
  return rows;
}

/**
 * Rows of the per-task regret of every curve method under one variant (mean over the range tests, or the K = 3 pick).
 * Verify runs once per task, on the primary range test: it has no column here.
 */
export function taskVariantRows(_tasks: TaskRecord[], scores: TaskScore[], protocol: Protocol, variant: 'meanK1' | 'K3'): string[][] {
  const rows = [['task', 'set', ...CURVE_METHODS.map((m) => METHOD_LABEL[m])]];
  scores.forEach((s) => {
    const r = (variant === 'meanK1' ? s.regretMeanK1 : s.regretK)[protocol];
    if (r) rows.push([s.name, SET_LABEL[s.set], ...CURVE_METHODS.map((m) => pct(r[m]))]);
  });
  return rows;
}

/** Per task: Verify's candidates (LR: held-out loss, * the winner), the verified LR and what it cost. */
export function verifyRows(tasks: TaskRecord[], scores: TaskScore[]): string[][] {
  const rows = [['task', 'set', 'recommended (center)', 'candidates: LR held-out loss (* chosen)', 'verified', 'regret verified', 'regret recommended', 'steps', 'range tests (÷ 100)', '÷ points']];
  scores.forEach((s, i) => {
    const v = tasks[i].verify;
    const c = s.verifyCost;
    if (!v || !c) return;
    const byLr = v.candidates.slice().sort((a, b) => a.lr - b.lr);
    const cands = byLr.map((x) => `${formatLr(x.lr)}${v.lr !== undefined && Math.abs(x.lr / v.lr - 1) < 1e-9 ? '*' : ''} ${x.diverged ? 'diverged' : x.loss.toPrecision(3)}`).join(', ');
    const r = s.regret.onecycle;
    rows.push([
      s.name, SET_LABEL[s.set], formatLr(v.center), cands, v.lr === undefined ? `none (${v.reason ?? 'no verified LR'})` : formatLr(v.lr),
      r?.verified === undefined ? MISSING : pct(r.verified), r ? pct(r.recommended) : MISSING,
      String(c.totalSteps), c.rangeTests.toFixed(1), c.rangeTestPoints.toFixed(1),
    ]);
  });
  return rows;
}

export interface SummaryBlock {
  label: string;
  protocol: Protocol;
  variant: Variant;
  table: Record<Method, Summary>;
  /** Verify's cost over the block's tasks recorded with it (in the blocks where `verified` is scored). */
  cost?: ReturnType<typeof verifyCostSummary>;
}

/** Groups: each task set present (design, holdout, verify holdout), then all tasks. */
export function summaryBlocks(scores: TaskScore[], protocols: Protocol[], variants: Variant[]): SummaryBlock[] {
  const sets: [string, TaskScore[]][] = [
    ...TASK_SETS.map((set) => [SET_LABEL[set], scores.filter((s) => s.set === set)] as [string, TaskScore[]]),
    ['all', scores],
  ];
  const out: SummaryBlock[] = [];
  for (const protocol of protocols) {
    for (const variant of variants) {
      for (const [label, set] of sets) {
        if (!set.length || !set.some((s) => s.regret[protocol])) continue;
        const table = summaryTable(set, protocol, variant);
        const cost = table.verified.n ? verifyCostSummary(set) : undefined;
        out.push({ label, protocol, variant, table, ...(cost ? { cost } : {}) });
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
      return s.n ? [pct(s.median), pct(s.worst), `${s.within10}/${s.n}`] : [MISSING, MISSING, MISSING];
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

/** Verified against the recommendation, and what Verify cost; undefined in a block without Verify. */
export function verifyLine(b: SummaryBlock): string | undefined {
  const v = b.table.verified, r = b.table.recommended;
  if (!v.n || !b.cost) return undefined;
  const c = b.cost;
  const x = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));
  return `verified (${v.n} task${v.n === 1 ? '' : 's'}${v.n < r.n ? ` of ${r.n}` : ''}): median ${pct(v.median)}, worst ${pct(v.worst)}, ${v.within10}/${v.n} within 10% ` +
    `(recommended on the same tasks: ${v.n < r.n ? 'see the table' : `${pct(r.median)}, ${pct(r.worst)}, ${r.within10}/${r.n}`}); ` +
    `cost ${x(c.rangeTests.median)} range tests' worth of steps median, ${x(c.rangeTests.max)} max (total steps / 100), ` +
    `${x(c.rangeTestPoints.median)}× / ${x(c.rangeTestPoints.max)}× the primary range test's own points; ${x(c.candidates.median)} candidates median, ${c.candidates.max} max`;
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
