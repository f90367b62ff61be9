/** The hover box: LR, loss, slope and what it means there, or why an annotation sits where it is. */
import type { MarkRow, PointRow } from '../src/core/chartSpec';
import { tooltipLines } from '../src/core/chartSpec';
import { formatLoss, formatLr } from '../src/core/format';

export function tooltipText(row: PointRow | MarkRow): string[] {
  if ('name' in row && 'label' in row) {
    return [row.label, `LR ${formatLr(row.lr, 3)}, loss ${formatLoss(row.loss)}`, row.explanation];
  }
  return tooltipLines(row as PointRow);
}

export function showTooltip(el: HTMLElement, row: PointRow | MarkRow | undefined, x: number, y: number): void {
  if (!row) { el.hidden = true; return; }
  el.replaceChildren(...tooltipText(row).map((line, k) => {
    const div = document.createElement('div');
    div.textContent = line;
    if (k === 0) div.className = 'tt-title';
    return div;
  }));
  el.hidden = false;
  const pad = 14;
  const w = el.offsetWidth, h = el.offsetHeight;
  const left = x + pad + w > window.innerWidth ? Math.max(0, x - pad - w) : x + pad;
  const top = y + pad + h > window.innerHeight ? Math.max(0, y - pad - h) : y + pad;
  el.style.left = `${left}px`;
  el.style.top = `${top}px`;
}
