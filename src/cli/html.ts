/** Writes the self-contained HTML report: the shared chart spec and data, with the Vega bundle inlined. */
import * as fs from 'fs';
import * as path from 'path';
import { subtitle as helloSubtitle } from '../core/engineSummary';
import type { SuggestionName } from '../core/analysis';
import { buildView, type SweepRecord } from '../core/sweepView';

export interface Report {
  record: SweepRecord;
  recommended?: SuggestionName;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

export function renderHtmlReport(r: Report, script: string): string {
  // The same view the extension's panel renders (rows, annotations, y-range, band of repeated runs).
  const v = buildView(r.record, { recommended: r.recommended ?? 'recommended', digits: 2, target: '' });
  const data = { rows: v.rows, marks: v.marks, tangent: v.tangent, yDomain: v.yDomain, xDomain: v.xDomain, showValidation: v.showValidation, showBand: !!v.showBand };
  const list = v.suggestions.map((s) =>
    `<li><b>${esc(s.label)}</b> ${esc(s.text ?? '—')} — ${esc(s.explanation)}${s.spread ? ` (${esc(s.spread)})` : ''}</li>`).join('\n');
  const title = r.record.configName;
  const subtitle = esc(helloSubtitle(r.record.hello));
  // JSON inside <script> must not be able to close the tag.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>LR Finder — ${esc(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
#chart { width: 100%; max-width: 900px; height: 420px; }
#tooltip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #999; padding: 6px 8px; max-width: 340px; font-size: 12px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
.tt-title { font-weight: bold; }
</style></head>
<body>
<h1>LR Finder — ${esc(title)}</h1>
<p>${subtitle}</p>
<div id="chart"></div>
<div id="tooltip" hidden></div>
<p id="picked"></p>
<ul>${list}</ul>
<p>Pick from where the loss falls fastest (the steepest slope), not at the minimum: at the minimum the loss has already stopped improving and the LR is at the edge of divergence. Use the value as the maximum LR of a one-cycle schedule.</p>
<script type="application/json" id="lr-finder-data">${json}</script>
<script>${script.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>
`;
}

export function writeHtmlReport(file: string, r: Report): void {
  const script = fs.readFileSync(path.join(__dirname, 'report.js'), 'utf8');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, renderHtmlReport(r, script));
  fs.renameSync(tmp, file);
}
