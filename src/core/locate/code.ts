/**
 * Candidates in Python and JavaScript/TypeScript tokens: assignments and declarations (`lr = 1e-3`, `self.lr = 0.1`,
 * `let lr: number = 0.01`), annotated fields (`lr: float = 3e-4`), keyword arguments (`Adam(params, lr=3e-4)`), dict and
 * object keys (`{"lr": 3e-4}`, `{ learningRate: 0.01 }`), subscript assignments (`cfg["lr"] = 0.1`), and what calls say
 * (calls.ts). A value is a bare decimal number, the first number of a product (`5e-4 * 1024 / 512`) or, in Python, a
 * `slice(...)` of numbers: never another expression, a negative number, a comparison or an augmented assignment. Pure.
 *
 * Keys are the name as written at the site (`lr`, `self.lr`, `cfg["lr"]` -> `lr`); a positional argument's key is the
 * callee with `()`, the lower end of a slice has `.start` after its key.
 */
import { closeCall } from './calls';
import { learningRateKeyScore } from './keys';
import { add, addValue, chainBefore, isOp, type CodeLang, type Frame, type Scan, type UserFunction } from './scan';
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

/** `def NAME(` / `function NAME(` (and `NAME(...) {` methods are calls to us: their defaults rank as given). */
function isDefinition(s: Scan, nameAt: number): boolean {
  const before = s.toks[nameAt - 1];
  return before?.type === 'name' && (before.value === 'def' || before.value === 'function');
}

/** The frame of the bracket at i: a call's `(` knows its callee; every bracket knows what it is assigned to. */
function openFrame(s: Scan, i: number): Frame {
  const open = s.toks[i].value;
  const prev = s.toks[i - 1];
  if (open === '(' && prev?.type === 'name' && !NOT_CALLEE.has(prev.value)) {
    const ch = chainBefore(s, i - 1);
    if (isDefinition(s, ch.start)) return { open, index: i, def: true };
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

/** JAX's and many hand-written loops' name for the learning rate (`step_size = 0.001`; never StepLR's `step_size=30`). */
const STEP_SIZE_SCORE = 65;
/** A number in a hand-written SGD step (`p.data.add_(-0.1 * p.grad)`, `w -= 0.01 * w.grad`). */
const GRAD_STEP_SCORE = 60;

function tryName(s: Scan, i: number): void {
  const toks = s.toks;
  const name = toks[i].value;
  const base = learningRateKeyScore(name);
  if (base === undefined) {
    if ((name === 'step_size' || name === 'stepsize') && s.lang === 'python' && isStatementStart(s, i) && isOp(toks[i + 1], '=')) {
      const num = toks[i + 2];
      if (num?.type === 'number' && num.decimal && /[.eE]/.test(num.value) && Number(num.value.replace(/_/g, '')) < 1) addValue(s, i + 2, name, STEP_SIZE_SCORE);
    }
    return;
  }
  if (s.lang === 'python' && (isOp(toks[i + 1], ',') || isOp(toks[i - 1], ',')) && tupleValue(s, i, base)) return;
  const v = nameValue(s, i);
  if (v) addValue(s, v.at, v.key, base, v.prefix);
}

/** Token i begins a statement (a line of its own in Python: after a newline, `:` of a one-line block or `;`). */
function isStatementStart(s: Scan, i: number): boolean {
  const prev = s.toks[i - 1];
  return s.stack.length === 0 && (!prev || prev.type === 'newline' || isOp(prev, ';'));
}

/** `lr, num_epochs = 0.01, 5` / `latent_dim, lr, num_epochs = 100, 0.005, 20`: the value in the LR name's place. */
function tupleValue(s: Scan, i: number, base: number): boolean {
  const toks = s.toks;
  // The targets: names separated by commas from the statement's start to `=`.
  let start = i;
  while (isOp(toks[start - 1], ',') && toks[start - 2]?.type === 'name') start -= 2;
  if (!isStatementStart(s, start)) return false;
  const targets: number[] = [];
  let j = start;
  for (;;) {
    if (toks[j]?.type !== 'name') return false;
    targets.push(j);
    if (isOp(toks[j + 1], ',')) { j += 2; continue; }
    if (isOp(toks[j + 1], '=')) break;
    return false;
  }
  const place = targets.indexOf(i);
  if (targets.length < 2) return false;
  // The values: as many top-level comma-separated items up to the end of the line.
  const values: number[] = [];
  let depth = 0;
  let k = j + 2;
  values.push(k);
  for (; k < toks.length && toks[k].type !== 'newline'; k++) {
    const v = toks[k].type === 'op' ? toks[k].value : '';
    if (v === '(' || v === '[' || v === '{') depth++;
    else if (v === ')' || v === ']' || v === '}') depth--;
    else if (v === ',' && depth === 0) values.push(k + 1);
    else if (v === '=' && depth === 0) return true; // a, b = c, d = ...: chained assignment
  }
  if (values.length === targets.length && place >= 0) addValue(s, values[place], toks[i].value, base);
  return true;
}

/** `-0.1 * param.grad` / `0.01 * w.grad`: a number that scales a gradient in a hand-written update. */
function tryGradStep(s: Scan, i: number): void {
  const toks = s.toks;
  const t = toks[i];
  if (s.lang !== 'python' || !t.decimal || !isOp(toks[i + 1], '*') || toks[i + 2]?.type !== 'name') return;
  let j = i + 2;
  while (isOp(toks[j + 1], '.') && toks[j + 2]?.type === 'name') j += 2;
  if (j === i + 2 || toks[j].value !== 'grad') return;
  const v = Number(t.value.replace(/_/g, ''));
  if (v > 0 && v < 1) add(s, t, `${chainBefore(s, j).parts.join('.')} step`, GRAD_STEP_SCORE);
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
export function locateInTokens(toks: Tok[], lang: CodeLang, resets: ReadonlySet<number> = new Set()): Found[] {
  const s: Scan = { toks, lang, stack: [], found: [], functions: userFunctions(toks, lang) };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (resets.has(i)) s.stack.length = 0; // a notebook cell's brackets end with the cell
    if (t.type === 'number') tryGradStep(s, i);
    else if (t.type === 'op') {
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

/** Python's `def NAME(..., lr, ...)`: which positional argument of a call of NAME is a learning rate. */
function userFunctions(toks: Tok[], lang: CodeLang): Map<string, UserFunction> {
  const out = new Map<string, UserFunction>();
  if (lang !== 'python') return out;
  for (let i = 0; i + 2 < toks.length; i++) {
    if (toks[i].type !== 'name' || toks[i].value !== 'def' || toks[i + 1].type !== 'name' || !isOp(toks[i + 2], '(')) continue;
    let depth = 0, index = 0, atParam = true;
    for (let j = i + 3; j < toks.length; j++) {
      const t = toks[j];
      if (t.type === 'op' && (t.value === '(' || t.value === '[' || t.value === '{')) { depth++; continue; }
      if (t.type === 'op' && (t.value === ')' || t.value === ']' || t.value === '}')) { if (depth-- === 0) break; continue; }
      if (depth > 0) continue;
      if (isOp(t, ',')) { atParam = true; continue; }
      if (!atParam) continue;
      atParam = false;
      if (t.type !== 'op' && t.type !== 'name') continue;
      if (isOp(t, '*') || isOp(t, '**') || isOp(t, '/')) break; // keyword-only from here
      if (t.value === 'self' || t.value === 'cls') continue;
      const score = learningRateKeyScore(t.value);
      if (score !== undefined && !out.has(toks[i + 1].value)) { out.set(toks[i + 1].value, { index, key: t.value, score }); break; }
      index++;
    }
  }
  return out;
}
