/** The CLI's self-contained HTML report (`lr-finder run --html`): the same chart as the webview, data inlined. */
import { DEFAULT_THEME, type MarkRow, type PointRow, type TangentRow } from '../src/core/chartSpec';
import { LossChart } from './chart';
import { showTooltip } from './tooltip';

interface ReportData {
  rows: PointRow[];
  marks: MarkRow[];
  tangent: TangentRow[];
  yDomain?: [number, number];
  xDomain?: [number, number];
  showValidation: boolean;
  showBand: boolean;
}

const data = JSON.parse(document.getElementById('lr-finder-data')!.textContent!) as ReportData;
const tooltip = document.getElementById('tooltip')!;
const picked = document.getElementById('picked')!;
const chart = new LossChart(document.getElementById('chart')!, DEFAULT_THEME, {
  onHover: (row, x, y) => showTooltip(tooltip, row, x, y),
  onPick: (lr) => { picked.textContent = `clicked LR ${lr.toPrecision(2)}`; },
});
void chart.setAll(data.rows, data.marks, data.tangent, data.yDomain, data.showValidation, data.xDomain, data.showBand);
