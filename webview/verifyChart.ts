/** The Verify chart: held-out loss against the candidate max LRs (core/chartSpec.ts verifyChartSpec). CSP-safe as the main chart. */
import embed, { type Result } from 'vega-embed';
import { expressionInterpreter } from 'vega-interpreter';
import { verifyChartSpec, type ChartTheme } from '../src/core/chartSpec';
import type { VerifyRow } from '../src/core/messages';

export class VerifyChart {
  private result: Result | undefined;
  private rows: VerifyRow[] = [];
  private embedding: Promise<void> = Promise.resolve();

  constructor(private readonly el: HTMLElement, private theme: ChartTheme) {}

  /** How many candidates are drawn (the UI test reads it). */
  get drawn(): number {
    try { return this.result?.view.data('candidates').length ?? 0; } catch { return 0; }
  }

  set(rows: VerifyRow[]): Promise<void> {
    const same = rows.length === this.rows.length && rows.every((r, i) => JSON.stringify(r) === JSON.stringify(this.rows[i]));
    if (same && this.result) return this.embedding;
    this.rows = rows.slice();
    return this.reembed();
  }

  setTheme(theme: ChartTheme): Promise<void> {
    this.theme = theme;
    return this.rows.length ? this.reembed() : Promise.resolve();
  }

  private reembed(): Promise<void> {
    this.embedding = this.embedding.then(async () => {
      this.result?.finalize();
      this.result = undefined;
      if (!this.rows.length) { this.el.replaceChildren(); return; }
      const spec = verifyChartSpec({ theme: this.theme });
      spec.datasets = { candidates: this.rows };
      this.result = await embed(this.el, spec as never, { ast: true, expr: expressionInterpreter, renderer: 'canvas', actions: false, defaultStyle: false, tooltip: false } as never);
    }).catch((e) => { console.error('verify chart', e); });
    return this.embedding;
  }
}
