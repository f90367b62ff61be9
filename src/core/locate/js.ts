/**
 * The JavaScript/TypeScript tokenizer: names, numbers, strings, template literals (their `${...}` skipped with the
 * strings and comments inside), regular-expression literals, operators; comments skipped, and each token knows whether
 * a line break came before it (for automatic semicolons). Pure.
 */
import { isDigit, isNewline, matchOp, skipEscape, type Tok } from './tokens';

const IDENT = /[\p{ID_Start}_$][\p{ID_Continue}$\u200c\u200d]*/uy;
const JS_OPS = ['>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=', '=>', '==', '!=', '<=', '>=',
  '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '**', '<<', '>>'];
const JS_NUMBER = /0[xX][\da-fA-F_]+n?|0[oO][0-7_]+n?|0[bB][01_]+n?|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?/y;
const JS_REGEX_AFTER = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case',
  'do', 'else', 'yield', 'await']);

function scanJsString(src: string, i: number): number {
  const q = src[i];
  let p = i + 1;
  while (p < src.length) {
    const c = src[p];
    if (c === '\\') { p = skipEscape(src, p); continue; }
    if (c === q) return p + 1;
    if (isNewline(c)) return p;
    p++;
  }
  return src.length;
}

function skipJsComment(src: string, p: number): number {
  if (src[p + 1] === '/') {
    while (p < src.length && !isNewline(src[p])) p++;
    return p;
  }
  const close = src.indexOf('*/', p + 2);
  return close < 0 ? src.length : close + 2;
}

/** A template literal from its opening backquote; `${...}` expressions are skipped with their strings and comments. */
function scanTemplate(src: string, i: number): number {
  let p = i + 1;
  while (p < src.length) {
    const c = src[p];
    if (c === '\\') { p += 2; continue; }
    if (c === '`') return p + 1;
    if (c === '$' && src[p + 1] === '{') {
      p += 2;
      let depth = 0;
      while (p < src.length) {
        const d = src[p];
        if (d === '"' || d === "'") { p = scanJsString(src, p); continue; }
        if (d === '`') { p = scanTemplate(src, p); continue; }
        if (d === '/' && (src[p + 1] === '/' || src[p + 1] === '*')) { p = skipJsComment(src, p); continue; }
        if (d === '{') depth++;
        else if (d === '}') {
          if (depth === 0) { p++; break; }
          depth--;
        }
        p++;
      }
      continue;
    }
    p++;
  }
  return src.length;
}

/** A regular-expression literal from its `/`, or -1 when the line has no closing `/`. */
function scanRegex(src: string, i: number): number {
  let p = i + 1;
  let inClass = false;
  while (p < src.length) {
    const c = src[p];
    if (isNewline(c)) return -1;
    if (c === '\\') { p += 2; continue; }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      p++;
      while (p < src.length && /[A-Za-z]/.test(src[p])) p++;
      return p;
    }
    p++;
  }
  return -1;
}

export function tokenizeJs(src: string): Tok[] {
  const toks: Tok[] = [];
  const n = src.length;
  let i = 0;
  let nl = false;
  if (src.startsWith('#!', src.charCodeAt(0) === 0xfeff ? 1 : 0)) while (i < n && !isNewline(src[i])) i++;
  const push = (t: Tok): void => { t.nl = nl; nl = false; toks.push(t); };
  while (i < n) {
    const c = src[i];
    if (isNewline(c) || c === '\u2028' || c === '\u2029') { nl = true; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\uFEFF' || c === '\u00a0') { i++; continue; }
    if (c === '/' && (src[i + 1] === '/' || src[i + 1] === '*')) {
      const end = skipJsComment(src, i);
      if (/[\r\n\u2028\u2029]/.test(src.slice(i, end))) nl = true;
      i = end;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = scanJsString(src, i);
      push({ type: 'string', start: i, end, value: src.slice(i, end), str: src.slice(i + 1, src[end - 1] === c && end - i >= 2 ? end - 1 : end) });
      i = end;
      continue;
    }
    if (c === '`') {
      const end = scanTemplate(src, i);
      push({ type: 'string', start: i, end, value: src.slice(i, end) });
      i = end;
      continue;
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(src);
    if (id) {
      push({ type: 'name', start: i, end: i + id[0].length, value: id[0] });
      i += id[0].length;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1]))) {
      JS_NUMBER.lastIndex = i;
      const m = JS_NUMBER.exec(src);
      const text = m ? m[0] : c;
      push({ type: 'number', start: i, end: i + text.length, value: text, decimal: !/^0[xXoObB]|n$/.test(text) });
      i += text.length;
      continue;
    }
    if (c === '/') {
      const prev = toks[toks.length - 1];
      const regexAllowed = !prev
        || (prev.type === 'op' && prev.value !== ')' && prev.value !== ']' && prev.value !== '}' && prev.value !== '++' && prev.value !== '--')
        || (prev.type === 'name' && JS_REGEX_AFTER.has(prev.value));
      const end = regexAllowed ? scanRegex(src, i) : -1;
      if (end > 0) {
        push({ type: 'string', start: i, end, value: src.slice(i, end) });
        i = end;
        continue;
      }
    }
    let op = matchOp(src, i, JS_OPS);
    if (op === '?.' && isDigit(src[i + 2])) op = '?'; // a ?.5 : 1 is a conditional
    push({ type: 'op', start: i, end: i + op.length, value: op });
    i += op.length;
  }
  return toks;
}
