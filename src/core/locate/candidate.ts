/**
 * From what a language module found (offset, length, key, score) to the literals the API returns: the number checked
 * again, its line and column as an editor shows them, the source line, duplicates merged. Pure.
 *
 * Offsets are 0-based UTF-16 offsets into `text` (a BOM counts); line and column are 1-based, and the column does not
 * count a BOM at the start of the file (editors do not show it).
 */
import type { Found, LrKind, LrLiteral } from './types';

/** A positive finite decimal literal as any of our languages writes it: 1, 0.001, .001, 1., 1e-3, 3.0E-4, 1_000e-6. */
export const DECIMAL_LITERAL = /^(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

/** The value of a candidate's text, or undefined when it is not a positive finite decimal literal. */
export function literalValue(s: string): number | undefined {
  if (!DECIMAL_LITERAL.test(s)) return undefined;
  const v = Number(s.replace(/_/g, ''));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Offsets where each line starts (LF, CRLF and lone CR end a line). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}

/** The 0-based index of the line holding `offset`. */
export function lineIndexOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid; else hi = mid - 1;
  }
  return lo;
}

function lineText(text: string, starts: number[], index: number): string {
  const end = index + 1 < starts.length ? starts[index + 1] : text.length;
  return text.slice(starts[index], end).replace(/[\r\n]+$/, '');
}

/** One candidate per offset (the best-scored), in file order. */
function dedupe(found: Found[]): Found[] {
  const byOffset = new Map<number, Found>();
  for (const f of found) {
    const prev = byOffset.get(f.offset);
    if (!prev || f.score > prev.score) byOffset.set(f.offset, f);
  }
  return [...byOffset.values()].sort((a, b) => a.offset - b.offset);
}

/** An LR of 1 or more is rare (a finder's upper end, a placeholder): any other candidate goes first. */
const WHOLE_LR_PENALTY = 15;

/** The literals of `found` in file order; a candidate whose text is not a positive decimal literal is dropped. */
export function toLiterals(text: string, kind: LrKind, found: Found[]): LrLiteral[] {
  const starts = lineStarts(text);
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const out: LrLiteral[] = [];
  for (const f of dedupe(found)) {
    const literal = text.slice(f.offset, f.offset + f.length);
    const value = literalValue(literal);
    if (value === undefined) continue;
    const li = lineIndexOf(starts, f.offset);
    const column = f.offset - starts[li] + 1 - (li === 0 && f.offset > 0 ? bom : 0);
    const product = f.factor !== undefined;
    const factor = product && Number.isFinite(f.factor) ? f.factor : undefined;
    out.push({
      line: li + 1, column, offset: f.offset, length: f.length, key: f.key, text: literal, value: factor ? value * factor : value,
      ...(factor ? { factor } : product ? { product: true } : {}), kind,
      context: lineText(text, starts, li).replace(/^\uFEFF/, '').trim(), score: f.score - (value >= 1 ? WHOLE_LR_PENALTY : 0),
    });
  }
  return out;
}

/** Highest score first; Array.prototype.sort is stable, so equal scores stay in file order. */
export function byScore(list: LrLiteral[]): LrLiteral[] {
  return list.sort((a, b) => b.score - a.score);
}
