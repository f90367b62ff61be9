/**
 * The Vega chart: embeds the shared Vega-Lite spec once, streams points with changesets, re-embeds only when the
 * final analysis sets the y-range. CSP-safe: Vega's AST interpreter (no eval), canvas renderer, no injected styles.
 */
import { changeset } from 'vega';
import embed, { type Result } from 'vega-embed';
import { expressionInterpreter } from 'vega-interpreter';
import { chartSpec, decades, type ChartTheme, type MarkRow, type PointRow, type TangentRow } from '../src/core/chartSpec';

export interface ChartCallbacks {
  /** The pointer is over a point of the curve (undefined when it leaves). */
  onHover(row: PointRow | MarkRow | undefined, x: number, y: number): void;
  /** The user clicked the plot at this LR. */
  onPick(lr: number): void;
}

export class LossChart {
  private result: Result | undefined;
  private rows: PointRow[] = [];
  private marks: MarkRow[] = [];
  private tangent: TangentRow[] = [];
  private yDomain: [number, number] | undefined;
  private xDomain: [number, number] | undefined;
  private showValidation = false;
  private showBand = false;
  private embedding: Promise<void> = Promise.resolve();

  constructor(private readonly el: HTMLElement, private theme: ChartTheme, private readonly cb: ChartCallbacks) {
    el.addEventListener('click', (ev) => this.pick(ev));
    // Hover anywhere above or below the curve: the nearest annotation within reach, else the point at that LR.
    el.addEventListener('pointermove', (ev) => this.cb.onHover(this.rowAt(ev.clientX, ev.clientY), ev.clientX, ev.clientY));
    el.addEventListener('pointerleave', () => this.cb.onHover(undefined, 0, 0));
  }

  /** The annotation within 12 px of the pointer, else the recorded point nearest in LR. */
  rowAt(clientX: number, clientY: number): PointRow | MarkRow | undefined {
    const view = this.result?.view;
    const canvas = this.el.querySelector('canvas');
    if (!view || !canvas || !this.rows.length) return undefined;
    const rect = canvas.getBoundingClientRect();
    const [ox, oy] = view.origin();
    const px = clientX - rect.left - ox, py = clientY - rect.top - oy;
    const sx = view.scale('x') as unknown as ((v: number) => number) | undefined;
    const sy = view.scale('y') as unknown as ((v: number) => number) | undefined;
    if (sx && sy) {
      for (const m of this.marks) if (Math.hypot(sx(m.lr) - px, sy(m.loss) - py) <= 12) return m;
    }
    const lr = this.lrAt(clientX);
    if (lr === undefined) return undefined;
    const x = Math.log10(lr);
    let best = this.rows[0];
    for (const r of this.rows) if (Math.abs(Math.log10(r.lr) - x) < Math.abs(Math.log10(best.lr) - x)) best = r;
    return best;
  }

  get view() {
    return this.result?.view;
  }

  /** How many points Vega holds in its "points" dataset (what is drawn; the UI test compares it with what was sent). */
  get renderedPoints(): number {
    try { return this.result?.view.data('points').length ?? 0; } catch { return 0; }
  }

  /** Replace everything (snapshot) and re-embed. The chart keeps its own copy of the rows: the one owner of live points. */
  setAll(rows: readonly PointRow[], marks: MarkRow[], tangent: TangentRow[], yDomain: [number, number] | undefined, showValidation: boolean, xDomain?: [number, number], showBand = false): Promise<void> {
    this.rows = rows.slice();
    this.showBand = showBand;
    this.xDomain = xDomain;
    this.marks = marks;
    this.tangent = tangent;
    this.yDomain = yDomain;
    this.showValidation = showValidation;
    return this.reembed();
  }

  setTheme(theme: ChartTheme): Promise<void> {
    this.theme = theme;
    return this.reembed();
  }

  /** Stream new points into the live chart (no re-embedding). */
  async append(rows: PointRow[], showValidation: boolean): Promise<void> {
    await this.embedding;
    this.rows.push(...rows);
    if (showValidation && !this.showValidation) { this.showValidation = true; return this.reembed(); }
    const view = this.result?.view;
    if (!view) return this.reembed();
    await view.change('points', changeset().insert(rows)).runAsync();
  }

  private reembed(): Promise<void> {
    this.embedding = this.embedding.then(async () => {
      this.result?.finalize();
      const lrs = this.rows.map((r) => r.lr);
      const [lo, hi] = this.xDomain ?? (lrs.length ? [Math.min(...lrs), Math.max(...lrs)] : [NaN, NaN]);
      const xDecades = decades(lo, hi);
      const spec = chartSpec({ theme: this.theme, yDomain: this.yDomain, showValidation: this.showValidation, xDecades: xDecades.length ? xDecades : undefined, xDomain: this.xDomain, showBand: this.showBand });
      spec.datasets = { points: this.rows, marks: this.marks, tangent: this.tangent };
      this.result = await embed(this.el, spec as never, {
        ast: true, expr: expressionInterpreter, renderer: 'canvas', actions: false, defaultStyle: false,
        tooltip: false, // our own tooltip (rowAt), which works anywhere above the curve, not only on a mark
      } as never);
    }).catch((e) => { console.error('chart', e); });
    return this.embedding;
  }

  /** The LR under the pointer, from the x scale. */
  lrAt(clientX: number): number | undefined {
    const view = this.result?.view;
    if (!view) return undefined;
    const canvas = this.el.querySelector('canvas');
    if (!canvas) return undefined;
    const rect = canvas.getBoundingClientRect();
    const [ox] = view.origin();
    const x = clientX - rect.left - ox;
    const scale = view.scale('x') as unknown as { invert(v: number): number; range(): number[] } | undefined;
    if (!scale) return undefined;
    const [r0, r1] = scale.range();
    if (x < Math.min(r0, r1) - 2 || x > Math.max(r0, r1) + 2) return undefined;
    const lr = scale.invert(Math.min(Math.max(x, Math.min(r0, r1)), Math.max(r0, r1)));
    return Number.isFinite(lr) && lr > 0 ? lr : undefined;
  }

  private pick(ev: MouseEvent) {
    const lr = this.lrAt(ev.clientX);
    if (lr !== undefined) this.cb.onPick(lr);
  }

  dispose() {
    this.result?.finalize();
  }
}
