/**
 * The Python tokenizer: names, numbers, strings (prefixes, triple quotes, f-strings and t-strings with Python 3.12
 * nesting), operators and logical newlines (none inside brackets); comments and line continuations are skipped. Pure.
 */
import { isDigit, isNewline, matchOp, skipEscape, type Tok } from './tokens';

const PY_IDENT = /[\p{ID_Start}_][\p{ID_Continue}]*/uy;
const PY_OPS = ['**=', '//=', '>>=', '<<=', '...', '->', ':=', '==', '!=', '<=', '>=', '**', '//', '<<', '>>', '+=', '-=',
  '*=', '/=', '%=', '&=', '|=', '^=', '@='];
const PY_NUMBER = /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?/y;
const PY_STRING_PREFIX = /^(?:r|u|b|f|t|br|rb|fr|rf|tr|rt)$/i;

/** End of a Python string literal whose opening quote is at `i`. */
function scanPyString(src: string, i: number, prefix: string): number {
  const q = src[i];
  const triple = src.startsWith(q + q + q, i);
  const p = i + (triple ? 3 : 1);
  const p2 = prefix.toLowerCase();
  return /[ft]/.test(p2) ? scanFBody(src, p, q, triple, p2.includes('r'), false) : scanPlainBody(src, p, q, triple);
}

function scanPlainBody(src: string, p: number, q: string, triple: boolean): number {
  while (p < src.length) {
    const c = src[p];
    if (c === '\\') { p = skipEscape(src, p); continue; }
    if (c === q) {
      if (!triple) return p + 1;
      if (src.startsWith(q + q + q, p)) return p + 3;
    } else if (!triple && isNewline(c)) {
      return p; // unterminated: the string ends with the line
    }
    p++;
  }
  return src.length;
}

/**
 * An f-string (or t-string) body from `p` (Python 3.12 rules: replacement fields may hold any expression, nested
 * strings and format specs with nested fields). With `spec` it scans a format spec and returns after its closing `}`.
 */
function scanFBody(src: string, p: number, q: string, triple: boolean, raw: boolean, spec: boolean): number {
  while (p < src.length) {
    const c = src[p];
    if (c === '\\') {
      if (src[p + 1] === '{' || src[p + 1] === '}') { p++; continue; }
      if (!raw && src[p + 1] === 'N' && src[p + 2] === '{') {
        const close = src.indexOf('}', p);
        p = close < 0 ? src.length : close + 1;
        continue;
      }
      p = skipEscape(src, p);
      continue;
    }
    if (c === q && (!triple || src.startsWith(q + q + q, p))) return spec ? p : p + (triple ? 3 : 1);
    if (!triple && isNewline(c)) return p;
    if (c === '{') {
      if (!spec && src[p + 1] === '{') { p += 2; continue; }
      p = scanReplacementField(src, p + 1, q, triple, raw);
      continue;
    }
    if (c === '}') {
      if (spec) return p + 1;
      p += src[p + 1] === '}' ? 2 : 1;
      continue;
    }
    p++;
  }
  return src.length;
}

/** A replacement field's expression from `p` (after `{`); returns after its closing `}`. */
function scanReplacementField(src: string, p: number, q: string, triple: boolean, raw: boolean): number {
  let depth = 0;
  while (p < src.length) {
    const c = src[p];
    if (c === '"' || c === "'") { p = scanPyString(src, p, ''); continue; }
    PY_IDENT.lastIndex = p;
    const m = PY_IDENT.exec(src);
    if (m) {
      const after = p + m[0].length;
      if ((src[after] === '"' || src[after] === "'") && PY_STRING_PREFIX.test(m[0])) p = scanPyString(src, after, m[0]);
      else p = after;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']') depth = Math.max(0, depth - 1);
    else if (c === '}') {
      if (depth === 0) return p + 1;
      depth--;
    } else if (c === ':' && depth === 0) {
      return scanFBody(src, p + 1, q, triple, raw, true);
    } else if (c === '#') {
      while (p < src.length && !isNewline(src[p])) p++;
      continue;
    } else if (isNewline(c) && !triple && depth === 0) {
      return p;
    }
    p++;
  }
  return src.length;
}

function stringContent(src: string, quoteAt: number, end: number): string {
  const q = src[quoteAt];
  const triple = src.startsWith(q + q + q, quoteAt);
  const open = triple ? 3 : 1;
  const closed = end - quoteAt >= 2 * open && src.startsWith(triple ? q + q + q : q, end - open);
  return src.slice(quoteAt + open, closed ? end - open : end);
}

export function tokenizePython(src: string): Tok[] {
  const toks: Tok[] = [];
  const n = src.length;
  let i = 0;
  let depth = 0;
  const newline = (at: number): void => {
    if (depth === 0 && toks.length > 0 && toks[toks.length - 1].type !== 'newline') toks.push({ type: 'newline', start: at, end: at, value: '' });
  };
  while (i < n) {
    const c = src[i];
    if (isNewline(c)) { newline(i); i += c === '\r' && src[i + 1] === '\n' ? 2 : 1; continue; }
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\uFEFF') { i++; continue; }
    if (c === '\\' && isNewline(src[i + 1])) { i = skipEscape(src, i); continue; }
    if (c === '#') { while (i < n && !isNewline(src[i])) i++; continue; }
    if (c === '"' || c === "'") {
      const end = scanPyString(src, i, '');
      toks.push({ type: 'string', start: i, end, value: src.slice(i, end), str: stringContent(src, i, end) });
      i = end;
      continue;
    }
    PY_IDENT.lastIndex = i;
    const id = PY_IDENT.exec(src);
    if (id) {
      const word = id[0];
      const after = i + word.length;
      if ((src[after] === '"' || src[after] === "'") && PY_STRING_PREFIX.test(word)) {
        const end = scanPyString(src, after, word);
        const plain = !/[bft]/i.test(word);
        toks.push({ type: 'string', start: i, end, value: src.slice(i, end), str: plain ? stringContent(src, after, end) : undefined });
        i = end;
        continue;
      }
      toks.push({ type: 'name', start: i, end: after, value: word });
      i = after;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1]))) {
      PY_NUMBER.lastIndex = i;
      const m = PY_NUMBER.exec(src);
      const text = m ? m[0] : c;
      toks.push({ type: 'number', start: i, end: i + text.length, value: text, decimal: !/^0[xXoObB]|[jJ]$/.test(text) });
      i += text.length;
      continue;
    }
    const op = matchOp(src, i, PY_OPS);
    if (op === '(' || op === '[' || op === '{') depth++;
    else if ((op === ')' || op === ']' || op === '}') && depth > 0) depth--;
    toks.push({ type: 'op', start: i, end: i + op.length, value: op });
    i += op.length;
  }
  newline(n);
  return toks;
}
