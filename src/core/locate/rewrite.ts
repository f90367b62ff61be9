/**
 * Writing a value back: the new number in the style of the old one, and the file text with only the literal's
 * characters changed. Pure.
 */
import { formatLr, roundSignificant } from '../format';
import type { AppliedEdit, LrLiteral } from './types';

/** x = d.ddd × 10^exp with the shortest digits "dddd" (at most 15 significant, so no float noise like ...0000003). */
function decompose(x: number): { digits: string; exp: number } {
  const [m, e] = roundSignificant(x, 15).toExponential().split('e');
  const digits = m.replace('.', '').replace(/(?<=.)0+$/, '');
  return { digits, exp: Number(e) };
}

function plainDecimal(digits: string, exp: number): { int: string; frac: string } {
  if (exp >= 0) {
    const int = digits.length <= exp + 1 ? digits + '0'.repeat(exp + 1 - digits.length) : digits.slice(0, exp + 1);
    return { int, frac: digits.slice(exp + 1) };
  }
  return { int: '0', frac: '0'.repeat(-exp - 1) + digits };
}

/** Past this a decimal would have more than 8 zeros after the point: write scientific instead. */
const MIN_DECIMAL_EXP = -9;
const MAX_DECIMAL_EXP = 20;

/** Scientific with a point and a signed exponent (1.0e-10): a float in every language, PyYAML's YAML 1.1 included. */
function safeScientific(digits: string, exp: number): string {
  return `${digits[0]}.${digits.slice(1) || '0'}e${exp < 0 ? '-' : '+'}${Math.abs(exp)}`;
}

/**
 * `value` written in the number style of `original`: scientific stays scientific (keeping `E`, a mantissa point
 * `3.0e-4`, exponent zero padding `1e-05`, an explicit `e+`), a decimal stays a decimal (`.001` keeps no leading zero, a
 * whole number keeps its point: `1.0`), an integer becomes a decimal only when it must; Python/JS underscores are
 * dropped. A decimal that would need more than 8 zeros after the point becomes scientific (`1.0e-10`). The value is
 * written with its shortest digits (at most 15 significant, so 0.1 * 3 gives 0.3, not 0.30000000000000004); round it
 * first if you want fewer. Throws a RangeError for a value that is not a positive finite number.
 */
export function formatLikeOriginal(original: string, value: number): string {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`not a positive finite learning rate: ${value}`);
  const clean = original.trim().replace(/_/g, '');
  const m = /^\+?(\d*)(?:(\.)(\d*))?(?:([eE])([+-]?)(\d+))?$/.exec(clean);
  const { digits, exp } = decompose(value);
  if (!m || (m[1] === '' && (m[3] ?? '') === '')) return formatLr(value, 15);
  const [, intPart, point, fracPart = '', e, expSign, expDigits] = m;
  if (e) {
    let mantissa = digits[0];
    let frac = digits.slice(1);
    if (point) frac = frac.padEnd(fracPart.length, '0');
    if (point || frac) mantissa += `.${frac}`;
    const pad = expDigits.length > 1 && expDigits[0] === '0' ? expDigits.length : 0;
    const sign = exp < 0 ? '-' : expSign === '+' ? '+' : '';
    return `${mantissa}${e}${sign}${String(Math.abs(exp)).padStart(pad, '0')}`;
  }
  if (exp < MIN_DECIMAL_EXP || exp > MAX_DECIMAL_EXP) return safeScientific(digits, exp);
  const { int, frac } = plainDecimal(digits, exp);
  if (!point) return frac ? `${int}.${frac}` : int;
  if (!frac) return fracPart === '' && intPart !== '' ? `${int}.` : `${int}.0`;
  return int === '0' && intPart === '' ? `.${frac}` : `${int}.${frac}`;
}

/**
 * The text that makes `literal` give the learning rate `value`: `value` in the literal's style, divided first by what
 * the literal is multiplied by when it is the first number of a product of constants (`5e-4 * 1024 / 512` gets
 * value / 2, so that the product is `value`).
 */
export function replacementFor(literal: Pick<LrLiteral, 'text' | 'factor'>, value: number): string {
  return formatLikeOriginal(literal.text, literal.factor ? value / literal.factor : value);
}

/**
 * The file text with `literal` replaced by `value` in the literal's own style; every other character is kept (line
 * endings, BOM, indentation, comments). Throws when the text at the literal's offset is no longer `literal.text` (the
 * document changed: relocate() first), or for a value that is not a positive finite number.
 */
export function applyLearningRate(text: string, literal: Pick<LrLiteral, 'offset' | 'length' | 'text' | 'factor'>, value: number): AppliedEdit {
  const { offset, length } = literal;
  const current = text.slice(offset, offset + length);
  if (current !== literal.text) {
    throw new Error(`expected "${literal.text}" at offset ${offset} but found "${current}": the file changed since it was scanned`);
  }
  const replacement = replacementFor(literal, value);
  return { text: text.slice(0, offset) + replacement + text.slice(offset + length), replacement, offset, length };
}
