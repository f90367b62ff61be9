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
import { describeBudget, summarize, type CandidateResult, type Verified, type VerifyOptions } from './verify';
import { formatLoss } from './format';

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
  /** Verify, once started: its trainings so far and the result. */
  verify?: VerifyRecord;
  /** Wall time of the sweep, start-up included (for Verify's estimate of each training's start-up). */
  wallSeconds?: number;
}

export interface VerifyRecord {
  status: 'running' | 'done' | 'failed' | 'cancelled';
  options: VerifyOptions;
  /** The recommendation the candidates are centred on. */
  center: number;
  results: CandidateResult[];
  /** Trainings planned so far (grows as Verify follows the best). */
  planned: number;
  verified?: Verified;
  /** Why there is no verified LR, or what failed. */
  reason?: string;
}

export interface ViewOptions {
  recommended: SuggestionName;
  digits: number;
  target: string;
  /** Verify's options (the settings), for the budget shown before it runs; absent: no Verify offered. */
  verify?: VerifyOptions;
  /** How many trainings run at a time. */
  parallel?: number;
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
  const spread: Partial<Record<string, { min: number; max: number }>> = multi ? suggestionSpread(multi, r.settings) : {};
  const verified = r.verify?.verified;
  let suggestions = suggestionViews(a, o).map((s) => {
    const sp = spread[s.name];
    return sp ? { ...s, spread: `${multi!.length} runs: ${formatLr(sp.min)} … ${formatLr(sp.max)}` } : s;
  });
  // With a verified LR, the curve's recommendation stays marked, without its star.
  const marks = markRows(a, o.recommended).map((m) => (verified ? { ...m, recommended: false, label: m.label.replace(' ★', '') } : m));
  if (verified) {
    // The measured LR goes first and is the one Insert Suggested writes; the curve's suggestions stay below it.
    suggestions = [{
      name: 'verified', label: 'Verified (measured)', lr: verified.lr, text: formatLr(roundSignificant(verified.lr, o.digits), o.digits),
      explanation: verified.explanation, recommended: true,
    }, ...suggestions.map((s) => ({ ...s, recommended: false }))];
    const loss = smoothedAt(r.points.map((p) => p.lr), a.smoothed, verified.lr);
    if (loss !== undefined) {
      marks.push({ name: 'verified', lr: verified.lr, loss, recommended: true, label: `verified ★ ${formatLr(verified.lr)}`, explanation: verified.explanation });
    }
  }
  const ended = r.end.reason !== 'cancelled';
  const verifyView = o.verify && ended && isSuggestion(a.suggestions.recommended)
    ? buildVerifyView(r, o.verify, o.parallel ?? 1, o.digits) : undefined;
  return {
    ...base,
    status: r.end.reason === 'cancelled' ? 'cancelled' : 'done',
    rows,
    ...(verifyView ? { verify: verifyView } : {}),
    marks,
    tangent: tangentRows(a),
    yDomain: yDomain(rows.slice(0, a.stop.index + 1).map((x) => x.smoothed), rows.slice(0, a.stop.index + 1).map((x) => x.valLoss)),
    suggestions,
    showBand: !!multi,
  };
}

/** The smoothed loss at `lr`, interpolated in log LR between the recorded points (undefined outside them). */
function smoothedAt(lrs: readonly number[], smoothed: readonly number[], lr: number): number | undefined {
  for (let i = 1; i < lrs.length; i++) {
    if (lrs[i] >= lr && lrs[i - 1] <= lr) {
      const f = Math.log(lr / lrs[i - 1]) / Math.log(lrs[i] / lrs[i - 1] || 1);
      const v = smoothed[i - 1] + (Number.isFinite(f) ? f : 0) * (smoothed[i] - smoothed[i - 1]);
      return Number.isFinite(v) ? v : undefined;
    }
  }
  return undefined;
}

/** The Verify part of the panel: the budget before it runs, progress, the small chart's rows and the sentence. */
export function buildVerifyView(r: SweepRecord, options: VerifyOptions, parallel: number, digits: number): SweepView['verify'] {
  const v = r.verify;
  const seconds = r.end?.seconds;
  const startup = r.wallSeconds !== undefined && seconds !== undefined && !(r.repeats && r.repeats > 1) ? Math.max(0, r.wallSeconds - seconds) : undefined;
  const budget = `Verify trains ${describeBudget(v?.options ?? options, { steps: r.points.length, seconds, startup }, parallel)}.`;
  if (!v) return { status: 'ready', budget, text: '', rows: [] };
  const c = v.verified?.candidates ?? summarize(v.results);
  const best = v.verified?.lr;
  const rows = c.map((x) => ({
    lr: x.lr, loss: x.diverged ? null : x.loss,
    lo: x.losses.length > 1 && !x.diverged ? Math.min(...x.losses) : null, hi: x.losses.length > 1 && !x.diverged ? Math.max(...x.losses) : null,
    best: x.lr === best, diverged: x.diverged, label: `${formatLr(roundSignificant(x.lr, digits), digits)}: ${x.diverged ? 'diverged' : formatLoss(x.loss)}`,
  }));
  let text: string;
  if (v.status === 'running') {
    const last = v.results[v.results.length - 1];
    text = `Verifying: ${v.results.length} of ${v.planned}${v.planned < v.options.maxCandidates * v.options.seeds ? '+' : ''} trainings done` +
      (last ? ` (last: ${formatLr(last.lr)} → ${last.diverged ? 'diverged' : formatLoss(last.loss)})` : '') + '.';
  } else if (v.verified) text = v.verified.explanation;
  else text = `Verify ${v.status === 'cancelled' ? 'was stopped' : 'failed'}: ${v.reason ?? 'no result'}.`;
  return {
    status: v.status, budget, text, rows,
    ...(best !== undefined ? { lr: best, lrText: formatLr(roundSignificant(best, digits), digits) } : {}),
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
  const lines = r.points.map((p, i) => [p.iteration, p.lr, p.loss, a.smoothed[i], a.slopes[i] ?? '', ...(hasVal ? [p.valLoss ?? ''] : [])].join(','));
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
