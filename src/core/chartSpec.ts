/**
 * The loss-vs-LR chart as a Vega-Lite spec, shared by the webview and the CLI's HTML report. Pure: data rows are
 * built here too, so the webview only streams rows into the named datasets "points" and "marks".
 */
import { explainRegion, isSuggestion, type Analysis, type SuggestionName } from './analysis';
import { extent, formatLoss, formatLr } from './format';
import { SUGGESTION_NAMES, suggestionSpec } from './suggestions';

export interface ChartTheme {
  foreground: string;
  background: string;
  grid: string;
  raw: string;
  smoothed: string;
  validation: string;
  steepest: string;
  minimum: string;
  recommended: string;
  font: string;
}

export const DEFAULT_THEME: ChartTheme = {
  foreground: '#333333', background: '#ffffff', grid: '#e5e5e5', raw: '#7f9fbf', smoothed: '#1f6feb', validation: '#8250df',
  steepest: '#1a7f37', minimum: '#cf222e', recommended: '#bf8700', font: 'sans-serif',
};

/** One row of the "points" dataset. */
export interface PointRow {
  i: number;
  lr: number;
  loss: number | null;
  smoothed: number | null;
  valLoss?: number | null;
  slope?: number | null;
  region?: string;
  explanation?: string;
  /** Repeated sweeps: the lowest and highest smoothed loss of the runs at this step. */
  lo?: number | null;
  hi?: number | null;
}

/** One row of the "marks" dataset: an annotated point. */
export interface MarkRow {
  name: SuggestionName | 'verified';
  label: string;
  lr: number;
  loss: number;
  explanation: string;
  recommended: boolean;
}

/** One row of the "tangent" dataset: the steepest slope drawn as a short line segment. */
export interface TangentRow {
  lr: number;
  loss: number;
}

const finite = (x: number | undefined | null) => (x !== undefined && x !== null && Number.isFinite(x) ? x : null);

/** Rows for a live sweep (no analysis yet): raw loss only plus a running smoothed loss supplied by the caller. */
export function liveRow(i: number, lr: number, loss: number, smoothed: number, valLoss?: number): PointRow {
  const r: PointRow = { i, lr, loss: finite(loss), smoothed: finite(smoothed) };
  if (valLoss !== undefined) r.valLoss = finite(valLoss);
  return r;
}

/**
 * The y-range worth showing: clip the divergence tail so the valley keeps its resolution. `also` (e.g. validation
 * losses up to the stop) only extends the bottom, so that a lower validation curve stays visible.
 */
export function yDomain(smoothed: readonly (number | null)[], also: readonly (number | null | undefined)[] = []): [number, number] | undefined {
  const ys = smoothed.filter((v): v is number => v !== null && Number.isFinite(v));
  if (ys.length < 2) return undefined;
  const extra = also.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
  const lo = Math.min(extent(ys)[0], extent(extra)[0]);
  const start = ys[0];
  const hi = Math.min(extent(ys)[1], lo + 2.5 * Math.max(start - lo, Math.abs(lo) * 0.05, 1e-6));
  const pad = (hi - lo) * 0.05 || 0.05;
  return [lo - 3 * pad, hi + pad]; // room below the minimum for its label
}

export function analysisRows(lrs: readonly number[], losses: readonly number[], valLosses: readonly (number | undefined)[] | undefined, a: Analysis): PointRow[] {
  return lrs.map((lr, i) => {
    const r: PointRow = {
      i, lr, loss: finite(losses[i]), smoothed: finite(a.smoothed[i]),
      slope: finite(a.slopes[i]), region: a.regions[i], explanation: a.regions[i] && explainRegion(a.regions[i], a.slopes[i]),
    };
    if (valLosses && valLosses[i] !== undefined) r.valLoss = finite(valLosses[i]);
    return r;
  });
}


/** Annotated points: steepest, minimum, and the recommended suggestion (if it is another one). */
export function markRows(a: Analysis, recommended: SuggestionName | undefined): MarkRow[] {
  const rows: MarkRow[] = [];
  const names: SuggestionName[] = ['steepest', 'minimumPoint'];
  if (recommended && !names.includes(recommended)) names.push(recommended);
  for (const name of names) {
    const s = a.suggestions[name];
    if (!isSuggestion(s)) continue;
    const loss = a.smoothed[s.index];
    if (!Number.isFinite(loss)) continue;
    const isRec = name === recommended;
    rows.push({
      name, lr: s.lr, loss, recommended: isRec,
      label: `${suggestionSpec(name).mark}${isRec ? ' ★' : ''} ${formatLr(s.lr)}`,
      explanation: s.explanation,
    });
  }
  return rows;
}

/** The steepest slope as a segment of ±0.35 decades around its point, clipped to the curve's loss range. */
export function tangentRows(a: Analysis): TangentRow[] {
  const s = a.suggestions.steepest;
  if (!isSuggestion(s)) return [];
  const slope = a.slopes[s.index];
  const y = a.smoothed[s.index];
  if (!Number.isFinite(slope) || !Number.isFinite(y)) return [];
  const d = 0.35;
  return [-d, d].map((dx) => ({ lr: s.lr * 10 ** dx, loss: y + slope * dx }));
}

export interface ChartOptions {
  theme?: ChartTheme;
  width?: number | 'container';
  height?: number | 'container';
  yDomain?: [number, number];
  showValidation?: boolean;
  /** Axis values (powers of ten) for the x axis. */
  xDecades?: number[];
  /** Fixed x range (the sweep's start and end LR). */
  xDomain?: [number, number];
  /** Draw the lo..hi band of repeated sweeps. */
  showBand?: boolean;
}

/** Powers of ten inside [lo, hi], at most ~10 of them (every other decade on very wide sweeps). */
export function decades(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo)) return [];
  const a = Math.ceil(Math.log10(lo) - 1e-9), b = Math.floor(Math.log10(hi) + 1e-9);
  const step = Math.max(1, Math.ceil((b - a) / 10));
  const out: number[] = [];
  for (let e = a; e <= b; e += step) out.push(Number(`1e${e}`));
  return out;
}

/** The Vega-Lite spec. Data arrive through the named datasets "points", "marks" and "tangent". */
export function chartSpec(opts: ChartOptions = {}): Record<string, unknown> {
  const t = opts.theme ?? DEFAULT_THEME;
  // One grid line and label per decade: a log axis' default minor ticks turn into a dense comb.
  const axis: Record<string, unknown> = { title: 'learning rate (log scale)', format: '.0e', grid: true };
  if (opts.xDecades) axis.values = opts.xDecades;
  const x = { field: 'lr', type: 'quantitative', scale: opts.xDomain ? { type: 'log', domain: opts.xDomain } : { type: 'log' }, axis };
  const yScale: Record<string, unknown> = { zero: false, nice: false };
  if (opts.yDomain) { yScale.domain = opts.yDomain; yScale.clamp = true; }
  const y = (field: string) => ({ field, type: 'quantitative', scale: yScale, axis: { title: 'loss' } });
  const layers: Record<string, unknown>[] = [];
  if (opts.showBand) {
    layers.push({
      data: { name: 'points' }, transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      mark: { type: 'area', color: t.smoothed, opacity: 0.18, clip: true },
      encoding: { x, y: { ...y('lo') }, y2: { field: 'hi' } },
    });
  }
  layers.push(
    { data: { name: 'points' }, mark: { type: 'line', color: t.raw, opacity: 0.35, strokeWidth: 1, clip: true }, encoding: { x, y: y('loss') } },
    { data: { name: 'points' }, mark: { type: 'line', color: t.smoothed, strokeWidth: 2.5, clip: true }, encoding: { x, y: y('smoothed') } },
  );
  if (opts.showValidation) {
    layers.push({ data: { name: 'points' }, mark: { type: 'line', color: t.validation, strokeDash: [5, 3], strokeWidth: 1.5, clip: true }, encoding: { x, y: y('valLoss') } });
  }
  layers.push(
    // Invisible targets on the smoothed curve that drive the hover rule (the tooltip itself is the page's).
    {
      data: { name: 'points' },
      params: [{ name: 'hover', select: { type: 'point', on: 'pointermove', nearest: true, clear: 'pointerout', fields: ['i'] } }],
      mark: { type: 'point', opacity: 0, size: 120, clip: true },
      encoding: { x, y: y('smoothed') },
    },
    {
      data: { name: 'points' },
      transform: [{ filter: { param: 'hover', empty: false } }],
      mark: { type: 'rule', color: t.foreground, opacity: 0.4, strokeDash: [2, 2] },
      encoding: { x },
    },
    { data: { name: 'tangent' }, mark: { type: 'line', color: t.steepest, strokeWidth: 2, strokeDash: [6, 3], clip: true }, encoding: { x, y: y('loss') } },
    {
      data: { name: 'marks' },
      mark: { type: 'point', filled: true, size: 110, stroke: t.background, strokeWidth: 1.5, clip: true },
      encoding: {
        x, y: y('loss'),
        color: {
          field: 'name', type: 'nominal', legend: null,
          scale: {
            domain: [...SUGGESTION_NAMES, 'verified'],
            range: [...SUGGESTION_NAMES.map((n) => (n === 'steepest' ? t.steepest : n === 'minimumPoint' ? t.minimum : t.recommended)), t.validation],
          },
        },
      },
    },
    {
      data: { name: 'marks' },
      transform: [{ filter: 'datum.recommended' }],
      mark: { type: 'point', filled: false, size: 420, strokeWidth: 2.5, color: t.recommended, clip: true },
      encoding: { x, y: y('loss') },
    },
    // Labels: the steepest slope's below-left of its point (the curve comes down from the upper left), the minimum's
    // below it, the others above-right, so they do not sit on the curve or on each other.
    {
      data: { name: 'marks' },
      transform: [{ filter: "datum.name === 'steepest'" }],
      mark: { type: 'text', align: 'right', dx: -10, dy: 14, fontSize: 12, fontWeight: 'bold', color: t.steepest },
      encoding: { x, y: y('loss'), text: { field: 'label' } },
    },
    {
      data: { name: 'marks' },
      transform: [{ filter: "datum.name === 'minimumPoint'" }],
      mark: { type: 'text', align: 'center', dy: 18, fontSize: 12, fontWeight: 'bold', color: t.minimum },
      encoding: { x, y: y('loss'), text: { field: 'label' } },
    },
    {
      data: { name: 'marks' },
      transform: [{ filter: "datum.name !== 'steepest' && datum.name !== 'minimumPoint'" }],
      mark: { type: 'text', align: 'left', dx: 10, dy: -12, fontSize: 12, fontWeight: 'bold', color: t.foreground },
      encoding: { x, y: y('loss'), text: { field: 'label' } },
    },
  );
  return { ...frame(t, opts, { points: [], marks: [], tangent: [] }, 11, 12), layer: layers };
}

/** What both charts share: size, theme colours and fonts, the named datasets. */
function frame(t: ChartTheme, opts: { width?: number | 'container'; height?: number | 'container' }, datasets: Record<string, unknown[]>, labelFontSize: number, titleFontSize: number) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: opts.width ?? 'container',
    height: opts.height ?? 'container',
    autosize: { type: 'fit', contains: 'padding' },
    background: t.background,
    datasets,
    config: {
      font: t.font,
      axis: { labelColor: t.foreground, titleColor: t.foreground, gridColor: t.grid, domainColor: t.grid, tickColor: t.grid, labelFontSize, titleFontSize },
      view: { stroke: null },
    },
  };
}

/** Tooltip text for a hovered point: LR, loss, slope per decade and what it means there. */
export function tooltipLines(row: PointRow): string[] {
  const lines = [`LR ${formatLr(row.lr, 3)}`];
  if (row.loss !== null) lines.push(`loss ${formatLoss(row.loss)}${row.smoothed !== null ? ` (smoothed ${formatLoss(row.smoothed)})` : ''}`);
  if (row.valLoss !== undefined && row.valLoss !== null) lines.push(`validation loss ${formatLoss(row.valLoss)}`);
  if (row.slope !== undefined && row.slope !== null) lines.push(`slope ${row.slope > 0 ? '+' : ''}${formatLoss(row.slope)} per decade of LR`);
  if (row.explanation) lines.push(row.explanation);
  return lines;
}

/**
 * The Verify chart's Vega-Lite spec: held-out loss against the candidates' max LR (log axis), the seeds' spread as a
 * bar, the best candidate filled. Data arrive through the named dataset "candidates" (VerifyRow). A diverged
 * candidate has no loss: it is drawn as a cross at the top.
 */
export function verifyChartSpec(opts: { theme?: ChartTheme; width?: number | 'container'; height?: number | 'container' } = {}): Record<string, unknown> {
  const t = opts.theme ?? DEFAULT_THEME;
  const x = { field: 'lr', type: 'quantitative', scale: { type: 'log' }, axis: { title: 'candidate max LR (one-cycle)', format: '.0e', tickCount: 4, grid: true } };
  const y = { field: 'loss', type: 'quantitative', scale: { zero: false, nice: true }, axis: { title: 'held-out loss', tickCount: 4 } };
  return {
    ...frame(t, opts, { candidates: [] }, 10, 11),
    layer: [
      { data: { name: 'candidates' }, transform: [{ filter: 'isValid(datum.loss)' }], mark: { type: 'line', color: t.grid, strokeWidth: 1.5 }, encoding: { x, y } },
      {
        data: { name: 'candidates' }, transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
        mark: { type: 'rule', color: t.foreground, opacity: 0.6, strokeWidth: 2 }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
      },
      {
        data: { name: 'candidates' }, transform: [{ filter: 'isValid(datum.loss)' }],
        mark: { type: 'point', filled: true, size: 70 },
        encoding: { x, y, color: { condition: { test: 'datum.best', value: t.validation }, value: t.raw }, size: { condition: { test: 'datum.best', value: 160 }, value: 60 } },
      },
      {
        data: { name: 'candidates' }, transform: [{ filter: 'datum.best' }],
        mark: { type: 'text', dy: -12, fontSize: 11, fontWeight: 'bold', color: t.foreground }, encoding: { x, y, text: { field: 'label' } },
      },
      {
        data: { name: 'candidates' }, transform: [{ filter: 'datum.diverged' }],
        mark: { type: 'text', text: '× diverged', fontSize: 10, color: t.minimum, baseline: 'top', y: 2 }, encoding: { x },
      },
    ],
  };
}
