/** What the panel shows, derived from a sweep's record: pure, so the host stays thin and this is unit-tested. */
import { subtitle } from './engineSummary';
import { analyzeCurve, isSuggestion, type Analysis, type SuggestionName, type SweepSettings } from './analysis';
import { analysisRows, liveRow, markRows, tangentRows, yDomain, type PointRow } from './chartSpec';
import { SmoothedLoss } from './fastai';
import { formatLr, roundSignificant } from './format';
import type { SuggestionView, SweepView } from './messages';
import type { EndEvent, HelloEvent, PointEvent } from './protocol';
import { runBand, suggestionSpread, suggestionsFromRuns } from './repeats';
import { SUGGESTION_NAMES, suggestionSpec } from './suggestions';

/** Everything the host keeps about one sweep; also what a restored panel is rebuilt from. */
export interface SweepRecord {
  configPath: string;
  configName: string;
  settings: SweepSettings;
  hello?: HelloEvent;
  points: PointEvent[];
  end?: EndEvent;
  error?: string;
  /** How many sweeps (seeds) this record combines; `points` is then their median curve. */
  repeats?: number;
  /** Every run's points, when repeats > 1. */
  runs?: PointEvent[][];
  /** One line shown after the status (the script engine's "Your folder is as it was: ..."). */
  notice?: string;
}

export interface ViewOptions {
  recommended: SuggestionName;
  digits: number;
  target: string;
}

/**
 * The analysis the panel shows, the keyboard command inserts and the report prints: the curve's own, or for repeated
 * sweeps the median curve with each suggestion taken from the runs (suggestionsFromRuns, what the benchmarks score).
 */
export function analyzeRecord(r: SweepRecord): Analysis {
  const lrs = r.points.map((p) => p.lr);
  const a = analyzeCurve(lrs, r.points.map((p) => p.loss), r.settings);
  if (r.runs && r.runs.length > 1 && r.end) a.suggestions = suggestionsFromRuns(r.runs, r.settings, lrs);
  return a;
}

/** Live rows with a running fastai-smoothed loss, for points streamed before the analysis exists. */
export class LiveRows {
  private readonly smoother: SmoothedLoss;
  constructor(beta: number) { this.smoother = new SmoothedLoss(beta); }
  next(p: PointEvent): PointRow {
    return liveRow(p.iteration, p.lr, p.loss, this.smoother.push(p.loss), p.valLoss);
  }
}

export function statusText(r: SweepRecord): string {
  if (r.error) return `Failed: ${r.error}${r.notice ? `. ${r.notice}` : ''}`;
  const k = r.repeats && r.repeats > 1 ? r.repeats : 1;
  if (k > 1 && r.end) return `median of ${r.runs?.length ?? k} runs, ${statusText({ ...r, repeats: 1 })}`;
  if (k > 1 && !r.end) return `Run 1 of ${k} shown live. ${statusText({ ...r, repeats: 1 })}`;
  const n = r.points.length;
  const last = r.points[n - 1];
  if (!r.end) return n ? `Running: step ${n} of ${r.settings.numIter}, LR ${formatLr(last.lr)}, loss ${last.loss.toPrecision(4)}` : 'Starting…';
  const why = { completed: 'completed', diverged: 'stopped: the loss diverged', 'non-finite': 'stopped: the loss became NaN/Infinity', cancelled: 'cancelled' }[r.end.reason];
  const skipped = r.end.skipped ? `, ${r.end.skipped} skipped by GradScaler` : '';
  return `${n} steps, ${why}${skipped}${r.end.seconds !== undefined ? ` (${r.end.seconds.toFixed(1)} s)` : ''}${r.notice ? `. ${r.notice}` : ''}`;
}

export function buildView(r: SweepRecord, o: ViewOptions): SweepView {
  const base = {
    title: r.configName,
    subtitle: subtitle(r.hello),
    statusText: statusText(r),
    target: o.target,
    digits: o.digits,
    showValidation: r.points.some((p) => p.valLoss !== undefined),
    xDomain: [r.settings.startLr, r.settings.endLr] as [number, number],
  };
  if (!r.end) {
    const live = new LiveRows(r.settings.smoothing);
    return { ...base, status: r.error ? 'failed' : 'running', rows: r.points.map((p) => live.next(p)), marks: [], tangent: [], suggestions: [] };
  }
  const a = analyzeRecord(r);
  const rows = analysisRows(r.points.map((p) => p.lr), r.points.map((p) => p.loss), base.showValidation ? r.points.map((p) => p.valLoss) : undefined, a);
  const multi = r.runs && r.runs.length > 1 ? r.runs : undefined;
  if (multi) runBand(multi, rows.length, r.settings.smoothing).forEach((b, i) => { rows[i].lo = Number.isFinite(b.lo) ? b.lo : null; rows[i].hi = Number.isFinite(b.hi) ? b.hi : null; });
  const spread = multi ? suggestionSpread(multi, r.settings) : {};
  const suggestions = suggestionViews(a, o).map((s) => {
    const sp = spread[s.name];
    return sp ? { ...s, spread: `${multi!.length} runs: ${formatLr(sp.min)} … ${formatLr(sp.max)}` } : s;
  });
  return {
    ...base,
    status: r.end.reason === 'cancelled' ? 'cancelled' : 'done',
    rows,
    marks: markRows(a, o.recommended),
    tangent: tangentRows(a),
    yDomain: yDomain(rows.slice(0, a.stop.index + 1).map((x) => x.smoothed), rows.slice(0, a.stop.index + 1).map((x) => x.valLoss)),
    suggestions,
    showBand: !!multi,
  };
}

export function suggestionViews(a: Analysis, o: ViewOptions): SuggestionView[] {
  const order = [o.recommended, ...SUGGESTION_NAMES.filter((n) => n !== o.recommended)];
  return order.map((name) => {
    const s = a.suggestions[name];
    if (!isSuggestion(s)) return { name, label: suggestionSpec(name).label, explanation: `No suggestion: ${s.reason}.`, recommended: name === o.recommended };
    return {
      name, label: suggestionSpec(name).label, lr: s.lr, text: formatLr(roundSignificant(s.lr, o.digits), o.digits),
      explanation: s.explanation, recommended: name === o.recommended,
    };
  });
}

/** The curve as CSV: one row per step. */
export function curveCsv(r: SweepRecord): string {
  const a = analyzeRecord(r);
  const hasVal = r.points.some((p) => p.valLoss !== undefined);
  const head = ['iteration', 'lr', 'loss', 'smoothed_loss', 'slope_per_decade', ...(hasVal ? ['val_loss'] : [])];
  const lines = r.points.map((p, i) => [p.iteration, p.lr, p.loss, a.smoothed[i], a.points[i]?.slope ?? '', ...(hasVal ? [p.valLoss ?? ''] : [])].join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** The curve as JSON, in the shape `lr-finder suggest` reads back. */
export function curveJson(r: SweepRecord): string {
  const enc = (v: number | undefined) => (v === undefined ? undefined : Number.isFinite(v) ? v : String(v));
  return JSON.stringify({
    lrs: r.points.map((p) => p.lr),
    losses: r.points.map((p) => enc(p.loss)),
    ...(r.points.some((p) => p.valLoss !== undefined) ? { valLosses: r.points.map((p) => enc(p.valLoss)) } : {}),
    config: { num_it: r.settings.numIter, start_lr: r.settings.startLr, end_lr: r.settings.endLr, mode: r.settings.mode, beta: r.settings.smoothing, stop_div_factor: r.settings.stopFactor },
    source: r.configPath,
  }, null, 1) + '\n';
}
