/** Terminal output of the CLI: the curve as a text plot and the suggestions table. Pure string building. */
import { isSuggestion, type Analysis, type SuggestionName } from '../core/analysis';
import { formatLoss, formatLr } from '../core/format';
import { SUGGESTIONS, suggestionSpec } from '../core/suggestions';

// Drawn in this order, so the recommendation wins a shared cell; letters and words are the registry's.
const DRAWN: SuggestionName[] = ['valley', 'steepest', 'minimumPoint', 'recommended'];
const MARKS = DRAWN.map((n) => [n, suggestionSpec(n).letter ?? '*'] as const);
const LEGEND = ['recommended', 'steepest', 'minimumPoint', 'valley'].map((n) => suggestionSpec(n as SuggestionName))
  .map((s) => `${s.letter} ${s.fastai ? `fastai ${s.mark}` : s.mark}`).join('   ');

/** Smoothed loss against log10(lr), `width` x `height` characters, with R (recommended), S (steepest), M (minimum), V (valley). */
export function plotCurve(lrs: readonly number[], a: Analysis, width = 64, height = 16): string {
  const last = a.stop.reason === 'end' ? lrs.length - 1 : a.stop.index;
  // Two passes over the points, no object per point (a curve may have a million).
  let first = -1, end = -1, count = 0, lo = Infinity, yMax = -Infinity;
  for (let i = 0; i <= last && i < lrs.length; i++) {
    const x = Math.log10(lrs[i]), y = a.smoothed[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (first < 0) first = i;
    end = i; count++;
    if (y < lo) lo = y;
    if (y > yMax) yMax = y;
  }
  if (count < 2) return '(not enough finite points to plot)';
  const xmin = Math.log10(lrs[first]), xmax = Math.log10(lrs[end]);
  // Clip the divergence tail so the interesting part keeps its resolution.
  const start = a.smoothed[first];
  const hi = Math.max(Math.min(yMax, lo + 2.5 * Math.max(start - lo, 1e-9)), lo + 1e-9);
  const grid = Array.from({ length: height }, () => new Array<string>(width).fill(' '));
  const col = (x: number) => Math.min(width - 1, Math.max(0, Math.round(((x - xmin) / (xmax - xmin || 1)) * (width - 1))));
  const row = (y: number) => Math.min(height - 1, Math.max(0, Math.round(((hi - Math.min(y, hi)) / (hi - lo)) * (height - 1))));
  for (let i = first; i <= end; i++) {
    const x = Math.log10(lrs[i]), y = a.smoothed[i];
    if (Number.isFinite(x) && Number.isFinite(y)) grid[row(y)][col(x)] = y > hi ? '^' : '·';
  }
  for (const [name, mark] of MARKS) {
    const s = a.suggestions[name];
    if (isSuggestion(s) && s.index < lrs.length && Number.isFinite(a.smoothed[s.index])) grid[row(a.smoothed[s.index])][col(Math.log10(lrs[s.index]))] = mark;
  }
  const label = (y: number) => formatLoss(y).padStart(8);
  const lines = grid.map((r, k) => {
    const y = hi - (k / (height - 1)) * (hi - lo);
    return `${k === 0 || k === height - 1 || k === Math.floor(height / 2) ? label(y) : ' '.repeat(8)} │${r.join('')}`;
  });
  lines.push(`${' '.repeat(8)} └${'─'.repeat(width)}`);
  const left = formatLr(10 ** xmin), right = formatLr(10 ** xmax);
  lines.push(`${' '.repeat(10)}${left}${' '.repeat(Math.max(1, width - left.length - right.length))}${right}   learning rate (log scale)`);
  lines.push(`${' '.repeat(10)}${LEGEND}`);
  return lines.join('\n');
}


export function suggestionTable(lrs: readonly number[], a: Analysis, spread?: Partial<Record<SuggestionName, { min: number; max: number; lrs: number[] }>>): string {
  void lrs;
  const rows = SUGGESTIONS.map(({ name, cli }) => {
    const s = a.suggestions[name];
    if (!isSuggestion(s)) return `  ${cli.padEnd(20)} ${'—'.padEnd(9)} ${s.reason}`;
    const sp = spread?.[name];
    const range = sp ? ` [${sp.lrs.length} runs: ${formatLr(sp.min)} … ${formatLr(sp.max)}]` : '';
    return `  ${cli.padEnd(20)} ${formatLr(s.lr).padEnd(9)} ${s.explanation}${range}`;
  });
  return ['  suggestion           LR        why', ...rows].join('\n');
}
