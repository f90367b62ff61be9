/**
 * The one-cycle schedule that a chosen max LR implies: cosine warm-up from max/div to max, then cosine annealing
 * to max/divFinal. fastai's fit_one_cycle and torch's OneCycleLR defaults are named. Pure.
 */
export interface OneCyclePolicy {
  name: string;
  pctStart: number;
  div: number;
  divFinal: number;
}

/** fastai fit_one_cycle: pct_start 0.25, div 25, div_final 1e5. */
export const FASTAI_ONE_CYCLE: OneCyclePolicy = { name: 'fastai fit_one_cycle', pctStart: 0.25, div: 25, divFinal: 1e5 };
/** torch.optim.lr_scheduler.OneCycleLR: pct_start 0.3, div_factor 25, final_div_factor 1e4 (of the initial LR). */
export const TORCH_ONE_CYCLE: OneCyclePolicy = { name: 'torch OneCycleLR', pctStart: 0.3, div: 25, divFinal: 25 * 1e4 };

const cosine = (start: number, end: number, pos: number) => start + ((1 + Math.cos(Math.PI * (1 - pos))) * (end - start)) / 2;

/** LR at fraction `t` (0..1) of training. */
export function oneCycleLr(maxLr: number, t: number, p: OneCyclePolicy = FASTAI_ONE_CYCLE): number {
  const start = maxLr / p.div, end = maxLr / p.divFinal;
  if (t <= p.pctStart) return cosine(start, maxLr, p.pctStart > 0 ? t / p.pctStart : 1);
  return cosine(maxLr, end, (t - p.pctStart) / (1 - p.pctStart));
}

/** `n + 1` points (t, lr) from start to end of training. */
export function oneCycleCurve(maxLr: number, n = 100, p: OneCyclePolicy = FASTAI_ONE_CYCLE): { t: number; lr: number }[] {
  return Array.from({ length: n + 1 }, (_, i) => ({ t: i / n, lr: oneCycleLr(maxLr, i / n, p) }));
}
