/**
 * Candidates in Python and JavaScript/TypeScript tokens: assignments and declarations (`lr = 1e-3`, `self.lr = 0.1`,
 * `let lr: number = 0.01`), annotated fields (`lr: float = 3e-4`), keyword arguments (`Adam(params, lr=3e-4)`), dict and
 * object keys (`{"lr": 3e-4}`, `{ learningRate: 0.01 }`), subscript assignments (`cfg["lr"] = 0.1`), and what calls say
 * (calls.ts). Only a bare decimal number (or, in Python, a `slice(...)` of numbers) is a value: never an expression,
 * a negative number, a comparison or an augmented assignment. Pure.
 *
 * Keys are the name as written at the site (`lr`, `self.lr`, `cfg["lr"]` -> `lr`); a positional argument's key is the
 * callee with `()`, the lower end of a slice has `.start` after its key.
 */
import { closeCall } from './calls';
import { learningRateKeyScore } from './keys';
import { addValue, chainBefore, isOp, type CodeLang, type Frame, type Scan } from './scan';
import type { Tok } from './tokens';
import type { Found } from './types';

const NOT_CALLEE = new Set(['if', 'elif', 'while', 'for', 'return', 'in', 'not', 'and', 'or', 'is', 'lambda', 'yield',
  'await', 'assert', 'del', 'with', 'as', 'import', 'from', 'raise', 'except', 'switch', 'catch', 'typeof', 'void',
  'function', 'else', 'case', 'of', 'new', 'delete', 'throw', 'async']);

/** How far (in tokens) an annotation may reach between a name and its `=`. */
const ANNOTATION_REACH = 40;

/** For `x: T = ...`, the target x given the index of `=`; undefined when `=` is not after an annotation. */
function annotatedTarget(s: Scan, eq: number): string | undefined {
  const toks = s.toks;
  let depth = 0;
  for (let j = eq - 1; j >= 0 && j > eq - ANNOTATION_REACH; j--) {
    const t = toks[j];
    if (toks[j + 1].nl) return undefined; // JS: the annotation would span lines
    if (t.type === 'op') {
      if (t.value === ']' || t.value === '>' || t.value === ')') { depth++; continue; }
      if (t.value === '[' || t.value === '<' || t.value === '(') { if (depth === 0) return undefined; depth--; continue; }
      if (t.value === ':' && depth === 0) return toks[j - 1]?.type === 'name' ? chainBefore(s, j - 1).parts.join('.') : undefined;
      if (depth > 0 || t.value === '.' || t.value === '|' || t.value === '&' || t.value === '?') continue;
      return undefined;
    }
    if (t.type === 'newline') return undefined;
  }
  return undefined;
}

/** For `name: Type = value` with the name at i, the index of `=`; -1 when there is no such annotation. */
function annotationEquals(s: Scan, i: number): number {
  const toks = s.toks;
  let depth = 0;
  for (let j = i + 2; j < toks.length && j < i + ANNOTATION_REACH; j++) {
    const t = toks[j];
    if (t.type === 'newline') return -1;
    if (t.type !== 'op') { if (j === i + 2 || depth > 0 || t.type === 'name' || t.type === 'string') continue; return -1; }
    const v = t.value;
    if (v === '=' && depth === 0) return j > i + 2 ? j : -1;
    if (v === '[' || v === '<' || v === '(') { depth++; continue; }
    if (v === ']' || v === '>' || v === ')') { if (depth === 0) return -1; depth--; continue; }
    if (depth > 0 || v === '.' || v === '|' || v === '&') continue;
    return -1;
  }
  return -1;
}

/** The owner of an expression starting at token k: `owner = <k>`, `"owner": <k>`, `owner=<k>`, `x: T = <k>`. */
function ownerOf(s: Scan, k: number): string | undefined {
  const toks = s.toks;
  const p = toks[k - 1];
  if (!p || p.type !== 'op') return undefined;
  if (p.value === '=') {
    const ann = annotatedTarget(s, k - 1);
    if (ann) return ann;
    const q = toks[k - 2];
    if (q?.type === 'name') return chainBefore(s, k - 2).parts.join('.');
    if (isOp(q, ']') && toks[k - 3]?.str !== undefined && isOp(toks[k - 4], '[')) return toks[k - 3].str;
    return undefined;
  }
  if (p.value === ':') {
    const q = toks[k - 2];
    if (q?.type === 'string') return q.str;
    if (q?.type === 'name') return q.value;
  }
  return undefined;
}

/** The frame of the bracket at i: a call's `(` knows its callee; every bracket knows what it is assigned to. */
function openFrame(s: Scan, i: number): Frame {
  const open = s.toks[i].value;
  const prev = s.toks[i - 1];
  if (open === '(' && prev?.type === 'name' && !NOT_CALLEE.has(prev.value)) {
    const ch = chainBefore(s, i - 1);
    return { open, index: i, callee: ch.parts.join('.'), owner: ownerOf(s, ch.start) };
  }
  return { open, index: i, owner: ownerOf(s, i) };
}

/** Where the value of the LR-named name at i is: `lr = V`, `self.lr = V`, `{ lr: V }` (JS), `lr: float = V`. */
function nameValue(s: Scan, i: number): { at: number; key: string; prefix: string[] } | undefined {
  const toks = s.toks;
  const next = toks[i + 1];
  const prev = toks[i - 1];
  const top = s.stack[s.stack.length - 1];
  if (isOp(next, '=')) {
    const ch = chainBefore(s, i);
    return { at: i + 2, key: ch.parts.join('.'), prefix: ch.parts.slice(0, -1) };
  }
  if (!isOp(next, ':')) return undefined;
  if (s.lang === 'js' && (isOp(prev, '{') || isOp(prev, ',')) && toks[i + 2]?.type === 'number') {
    return { at: i + 2, key: toks[i].value, prefix: [] }; // { learningRate: 0.01 }
  }
  if (s.lang === 'python' && top && top.open !== '(') return undefined; // {lr: ...} uses the variable lr as a key; x[lr:] is a slice
  const eq = annotationEquals(s, i);
  if (eq < 0) return undefined;
  const ch = chainBefore(s, i);
  return { at: eq + 1, key: ch.parts.join('.'), prefix: ch.parts.slice(0, -1) };
}

function tryName(s: Scan, i: number): void {
  const base = learningRateKeyScore(s.toks[i].value);
  if (base === undefined) return;
  const v = nameValue(s, i);
  if (v) addValue(s, v.at, v.key, base, v.prefix);
}

/** `{"lr": V}` and `cfg["lr"] = V`. */
function tryStringKey(s: Scan, i: number): void {
  const toks = s.toks;
  const key = toks[i].str!;
  const base = learningRateKeyScore(key);
  if (base === undefined) return;
  const prev = toks[i - 1];
  const next = toks[i + 1];
  if (isOp(next, ':') && (isOp(prev, '{') || isOp(prev, ',')) && s.stack[s.stack.length - 1]?.open === '{') addValue(s, i + 2, key, base);
  else if (isOp(next, ']') && isOp(prev, '[') && isOp(toks[i + 2], '=')) addValue(s, i + 3, key, base);
}

/** Every candidate in the tokens of one Python or JavaScript/TypeScript file. */
export function locateInTokens(toks: Tok[], lang: CodeLang): Found[] {
  const s: Scan = { toks, lang, stack: [], found: [] };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.type === 'op') {
      if (t.value === '(' || t.value === '[' || t.value === '{') s.stack.push(openFrame(s, i));
      else if (t.value === ')' || t.value === ']' || t.value === '}') {
        const top = s.stack[s.stack.length - 1];
        if (top && top.open === '(' && t.value === ')' && top.callee !== undefined) closeCall(s, top, i);
        s.stack.pop();
      }
    } else if (t.type === 'name') {
      tryName(s, i);
    } else if (t.type === 'string' && t.str !== undefined) {
      tryStringKey(s, i);
    }
  }
  return s.found;
}
