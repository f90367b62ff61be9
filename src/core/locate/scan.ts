/**
 * The state of one pass over Python or JavaScript tokens, and the small questions the rules ask of it: is this an
 * operator, the dotted name ending here, is this value bare (the whole value, not part of an expression), the
 * arguments of a call, the ends of a `slice(...)`. Pure.
 */
import { contextScore } from './keys';
import type { Tok } from './tokens';
import type { Found } from './types';

export type CodeLang = 'python' | 'js';

/** An open bracket. */
export interface Frame {
  open: string;
  /** Token index of the opening bracket. */
  index: number;
  /** Dotted name of the called function when this is a call's `(`. */
  callee?: string;
  /** What the bracketed expression is assigned to / the key or keyword it is the value of. */
  owner?: string;
  /** The parameter list of a function definition (`def f(lr=0.1)`, `function f(lr = 0.1)`): its defaults are overridable. */
  def?: boolean;
}

/** A user's function with a learning-rate parameter: `def train(net, lr, epochs)` -> train: {index 1, key lr}. */
export interface UserFunction {
  /** The parameter's index among the positional arguments of a call (self/cls not counted). */
  index: number;
  key: string;
  score: number;
}

export interface Scan {
  toks: Tok[];
  lang: CodeLang;
  /** The brackets open at the current token, outermost first. */
  stack: Frame[];
  found: Found[];
  /** A call of an LR finder (`learn.lr_find()`) came after the last fit: the next fit's LR is the one it chose. */
  afterFinder?: boolean;
  /** The file's (or notebook's) functions with a learning-rate parameter, by name. */
  functions: Map<string, UserFunction>;
}

/** A token range [from, to). */
export type Range = [number, number];

/** What may follow a bare value: it is the whole value. */
const TERMINATORS = new Set([',', ')', ']', '}', ';']);

export function isOp(t: Tok | undefined, v: string): boolean {
  return t !== undefined && t.type === 'op' && t.value === v;
}

export function isDot(s: Scan, t: Tok | undefined): boolean {
  return t !== undefined && t.type === 'op' && (t.value === '.' || (s.lang === 'js' && t.value === '?.'));
}

/** The dotted name ending at name token j: {start token, parts}. */
export function chainBefore(s: Scan, j: number): { start: number; parts: string[] } {
  const parts = [s.toks[j].value];
  let k = j;
  while (isDot(s, s.toks[k - 1]) && s.toks[k - 2]?.type === 'name') { parts.unshift(s.toks[k - 2].value); k -= 2; }
  return { start: k, parts };
}

/** Token j ends a value: a newline, `,` `)` `]` `}` `;`, the end, or (JS) a new line that starts a new statement. */
export function isBare(s: Scan, j: number): boolean {
  const t = s.toks[j];
  if (!t || t.type === 'newline') return true;
  if (t.type === 'op' && TERMINATORS.has(t.value)) return true;
  return s.lang === 'js' && t.nl === true && t.type !== 'op';
}

/** The decimal number at j when it is the whole value. */
export function plainNumber(s: Scan, j: number): Tok | undefined {
  const t = s.toks[j];
  return t && t.type === 'number' && t.decimal && isBare(s, j + 1) ? t : undefined;
}

/** The decimal number that is the whole token range. */
export function single(s: Scan, r: Range | undefined): Tok | undefined {
  return r && r[1] - r[0] === 1 && s.toks[r[0]].type === 'number' && s.toks[r[0]].decimal ? s.toks[r[0]] : undefined;
}

/** The top-level arguments between the bracket at `open` and its match at `close`, as token ranges. */
export function splitArgs(s: Scan, open: number, close: number): Range[] {
  const args: Range[] = [];
  let depth = 0;
  let from = open + 1;
  for (let j = open + 1; j < close; j++) {
    const v = s.toks[j].type === 'op' ? s.toks[j].value : '';
    if (v === '(' || v === '[' || v === '{') depth++;
    else if (v === ')' || v === ']' || v === '}') depth--;
    else if (v === ',' && depth === 0) { args.push([from, j]); from = j + 1; }
  }
  if (from < close) args.push([from, close]);
  return args;
}

/** The index of the bracket closing the one at `open`, or -1. */
export function matchingClose(s: Scan, open: number): number {
  let depth = 0;
  for (let j = open; j < s.toks.length; j++) {
    const t = s.toks[j];
    if (t.type !== 'op') continue;
    if (t.value === '(' || t.value === '[' || t.value === '{') depth++;
    else if ((t.value === ')' || t.value === ']' || t.value === '}') && --depth === 0) return j;
  }
  return -1;
}

/** fastai's discriminative LRs, `slice(1e-5, 1e-3)` / `slice(1e-3)` / `slice(None, 1e-3)`: its ends, and the token after it. */
export interface SliceEnds { stop: Tok; start?: Tok; end: number }

/** A Python `slice(...)` call at token `at` whose stop (the upper end) is a number. */
export function sliceAt(s: Scan, at: number): SliceEnds | undefined {
  const t = s.toks[at];
  if (s.lang !== 'python' || t?.type !== 'name' || t.value !== 'slice' || isDot(s, s.toks[at - 1]) || !isOp(s.toks[at + 1], '(')) return undefined;
  const close = matchingClose(s, at + 1);
  if (close < 0) return undefined;
  const args = splitArgs(s, at + 1, close);
  if (args.length < 1 || args.length > 2) return undefined;
  const stop = single(s, args[args.length - 1]);
  return stop ? { stop, start: args.length === 2 ? single(s, args[0]) : undefined, end: close + 1 } : undefined;
}

/** The names of the calls and owners of the brackets around the current token, then `extra`. */
function labels(s: Scan, extra: string[]): string[] {
  return [...s.stack.flatMap((f) => [f.callee, f.owner]).filter((x): x is string => x !== undefined), ...extra];
}

/** A default in a function's signature is what a call overrides: below the calls that give the value. */
const SIGNATURE_PENALTY = 10;

export function add(s: Scan, num: Tok, key: string, base: number, extra: string[] = [], factor?: number): void {
  const signature = s.stack.some((f) => f.def) ? SIGNATURE_PENALTY : 0;
  s.found.push({
    offset: num.start, length: num.end - num.start, key, score: base + contextScore(labels(s, extra)) - signature,
    ...(factor !== undefined ? { factor } : {}),
  });
}

/** An LR written as a product of its first number and constants or names (`5e-4 * 1024 / 512`, `(0.1 / 256) * bs`). */
const PRODUCT_PENALTY = 10;

/**
 * A value `NUM * ... / ...` or `(NUM / NUM) * name` that ends where a bare value would: its first number, and when
 * every other factor is a number too, what that number is multiplied by (the expression's value / the number).
 */
export function productAt(s: Scan, at: number): { num: Tok; factor?: number; end: number } | undefined {
  const toks = s.toks;
  let first: Tok | undefined;
  let ops = 0;
  /** factor := NUMBER | dotted name | ( product ); its value (NaN for a name) and the token after it. */
  const factor = (j: number): { value: number; end: number } | undefined => {
    const t = toks[j];
    if (t?.type === 'number' && t.decimal) {
      if (!first) first = t;
      return { value: Number(t.value.replace(/_/g, '')), end: j + 1 };
    }
    if (!first) {
      if (!isOp(t, '(')) return undefined; // the LR's own number comes first
    } else if (t?.type === 'name') return { value: NaN, end: chainEnd(s, j) };
    if (!isOp(t, '(')) return undefined;
    const inner = product(j + 1);
    return inner && isOp(toks[inner.end], ')') ? { value: inner.value, end: inner.end + 1 } : undefined;
  };
  const product = (j: number): { value: number; end: number } | undefined => {
    let f = factor(j);
    if (!f) return undefined;
    let value = f.value, k = f.end;
    while (isOp(toks[k], '*') || isOp(toks[k], '/')) {
      const op = toks[k].value;
      f = factor(k + 1);
      if (!f) return undefined;
      value = op === '*' ? value * f.value : value / f.value;
      k = f.end;
      ops++;
    }
    return { value, end: k };
  };
  const p = product(at);
  if (!p || !first || ops === 0 || !isBare(s, p.end)) return undefined;
  const base = Number(first.value.replace(/_/g, ''));
  return { num: first, end: p.end, ...(Number.isFinite(p.value) && p.value > 0 && base > 0 ? { factor: p.value / base } : {}) };
}

/** The token after a dotted name (and its calls or subscripts: `config.input.batch_size`, `len(ds)`) starting at j. */
function chainEnd(s: Scan, j: number): number {
  const toks = s.toks;
  j++;
  for (;;) {
    if (isDot(s, toks[j]) && toks[j + 1]?.type === 'name') { j += 2; continue; }
    if (isOp(toks[j], '(') || isOp(toks[j], '[')) { const close = matchingClose(s, j); if (close < 0) return j; j = close + 1; continue; }
    return j;
  }
}

/** The lower end of a slice is a learning rate too (of the first layer group), but not the one to write first. */
const SLICE_START_PENALTY = 30;

/** A number or a slice as the value at token `at` of `key`; false when the value is something else. */
export function addValue(s: Scan, at: number, key: string, base: number, extra: string[] = []): boolean {
  const num = plainNumber(s, at);
  if (num) { add(s, num, key, base, extra); return true; }
  const product = productAt(s, at);
  if (product) { add(s, product.num, key, base - PRODUCT_PENALTY, extra, product.factor ?? NaN); return true; }
  const sl = sliceAt(s, at);
  if (!sl || !isBare(s, sl.end)) return false;
  add(s, sl.stop, key, base, extra);
  if (sl.start) add(s, sl.start, `${key}.start`, base - SLICE_START_PENALTY, extra);
  return true;
}

/** The same for an argument range: a number or a slice that is the whole argument. */
export function addArgument(s: Scan, r: Range, key: string, base: number): boolean {
  const num = single(s, r);
  if (num) { add(s, num, key, base); return true; }
  const product = productAt(s, r[0]);
  if (product && product.end === r[1]) { add(s, product.num, key, base - PRODUCT_PENALTY, [], product.factor ?? NaN); return true; }
  const sl = sliceAt(s, r[0]);
  return sl !== undefined && sl.end === r[1] && addValue(s, r[0], key, base);
}
