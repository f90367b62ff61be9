/** Number formatting shared by the CLI, the webview and the editor. Pure. */

/** Round to `digits` significant digits (2 by default: 0.0031622 -> 0.0032). */
export function roundSignificant(x: number, digits = 2): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** A readable LR: 3.2e-3 style below 0.01 and above 1000, plain decimals otherwise. */
export function formatLr(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const r = roundSignificant(x, digits);
  const a = Math.abs(r);
  if (a < 0.01 || a >= 1000) {
    const [m, e] = r.toExponential(digits - 1).split('e');
    return `${m.replace(/\.?0+$/, '')}e${Number(e)}`;
  }
  return String(r);
}

/** A loss for display: 4 significant digits. */
export function formatLoss(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Number(x.toPrecision(4)).toString();
}

/** Smallest and largest of many numbers (Math.min(...xs) overflows the stack at about a million). */
export function extent(xs: readonly number[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const x of xs) { if (x < lo) lo = x; if (x > hi) hi = x; }
  return [lo, hi];
}
