/** The small one-cycle preview beside the plot: the /\ schedule the hovered or picked LR implies. Plain SVG. */
import { formatLr } from '../src/core/format';
import { FASTAI_ONE_CYCLE, TORCH_ONE_CYCLE, oneCycleCurve } from '../src/core/oneCycle';

const NS = 'http://www.w3.org/2000/svg';
const W = 300, H = 110, PAD = { l: 6, r: 6, t: 8, b: 18 };

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export class OneCyclePreview {
  private readonly svg: SVGSVGElement;
  private readonly caption: HTMLElement;
  private current = NaN;

  constructor(container: HTMLElement) {
    this.svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'onecycle' });
    this.caption = document.createElement('p');
    this.caption.className = 'onecycle-caption';
    container.replaceChildren(this.svg, this.caption);
  }

  show(maxLr: number | undefined, why: string) {
    if (maxLr === undefined || !(maxLr > 0)) { this.caption.textContent = 'Pick or hover an LR to see its one-cycle schedule.'; this.svg.replaceChildren(); return; }
    if (maxLr === this.current && this.caption.dataset.why === why) return;
    this.current = maxLr;
    this.caption.dataset.why = why;
    const x = (t: number) => PAD.l + t * (W - PAD.l - PAD.r);
    const y = (lr: number) => PAD.t + (1 - lr / maxLr) * (H - PAD.t - PAD.b);
    const path = (pts: { t: number; lr: number }[]) => pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.lr).toFixed(1)}`).join('');
    const fastai = oneCycleCurve(maxLr, 120, FASTAI_ONE_CYCLE);
    const torch = oneCycleCurve(maxLr, 120, TORCH_ONE_CYCLE);
    const base = H - PAD.b;
    this.svg.replaceChildren(
      el('line', { x1: PAD.l, x2: W - PAD.r, y1: base, y2: base, class: 'axis' }),
      el('path', { d: path(torch), class: 'torch' }),
      el('path', { d: path(fastai), class: 'fastai' }),
      Object.assign(el('text', { x: x(FASTAI_ONE_CYCLE.pctStart), y: PAD.t + 2, 'text-anchor': 'middle', class: 'peak' }), { textContent: `max ${formatLr(maxLr)}` }),
      Object.assign(el('text', { x: PAD.l, y: H - 4, class: 'tick' }), { textContent: 'start' }),
      Object.assign(el('text', { x: W - PAD.r, y: H - 4, 'text-anchor': 'end', class: 'tick' }), { textContent: 'end of training' }),
    );
    this.svg.setAttribute('aria-label', `One-cycle schedule with max LR ${formatLr(maxLr)}`);
    this.caption.textContent = `${why}: one-cycle with max LR ${formatLr(maxLr)} starts at ${formatLr(maxLr / FASTAI_ONE_CYCLE.div)}, ` +
      `rises to the max by 25% of training, then anneals to ${formatLr(maxLr / FASTAI_ONE_CYCLE.divFinal)} (solid: fastai fit_one_cycle; ` +
      `dashed: torch OneCycleLR, peak at 30%, ends at ${formatLr(maxLr / TORCH_ONE_CYCLE.divFinal)}).`;
  }
}
