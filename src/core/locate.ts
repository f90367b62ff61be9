/**
 * Finds the learning-rate literals in a training script or config, and rewrites one of them in place.
 *
 * Pure and Node-free (no vscode, no fs, no path): the extension host, the webview and the CLI all use it.
 *
 *   locateLearningRates(fileName, text)  every LR literal, the recommended one first
 *   formatLikeOriginal(original, value)  `value` written in the number style of `original` (1e-3 -> 3e-4, 0.001 -> 0.0003)
 *   applyLearningRate(text, literal, v)  the new text: only the literal's characters change (CRLF, BOM, tabs kept)
 *   relocate(fileName, newText, old)     the same literal again after the document changed
 *
 * Languages (by extension): YAML (.yaml/.yml; the `yaml` library's nodes and their exact source ranges, every key of
 * every map at any depth, all documents of a stream), JSON/JSONC (.json/.jsonc; jsonc-parser's tree with offsets,
 * comments and trailing commas allowed), Python (.py/.pyw/.pyi) and JavaScript/TypeScript (.js/.mjs/.cjs/.jsx/.ts/
 * .mts/.cts/.tsx) with tokenizers of our own that know comments, strings, f-strings and template literals, so a
 * number inside a comment or a string is never a candidate.
 *
 * A candidate is a plain positive decimal literal (`0.001`, `1e-3`, `3.0E-4`, `.001`, `1_000e-6`, `1`) that is the
 * whole value of an LR-named key: `lr`, `learning_rate`, `learningRate`, `LR`, `lrate`, `lr0`, `base_lr`, `max_lr`,
 * `init_lr`, `initial_learning_rate`, `peak_lr`, `actor_lr`...; never `min_lr`, `final_lr`, `lr_decay`, `warmup_lr`,
 * `lr_scheduler`, `lr_mult`, `start_lr`, `end_lr`... (see EXCLUDED_WORDS). Values inside expressions
 * (`lr=1e-3 * world_size`), negative values, zero, strings (`lr: "1e-3"`), YAML aliases and hex literals are never
 * candidates. Python/JS also find argparse/click defaults (`add_argument('--lr', default=0.1)`), dataclass/pydantic
 * fields (`lr: float = field(default=1e-3)`), and the positional learning rate of optimizer constructors
 * (`torch.optim.SGD(params, 0.1)`, `tf.keras.optimizers.Adam(1e-3)`, `tf.train.adam(0.001)`).
 *
 * Keys: YAML/JSON report the dotted path (`optimizer.lr`, `param_groups[0].lr`); Python/JS the name as written at the
 * site (`lr`, `self.lr`, `--lr` for a command-line option, `cfg["lr"]` -> `lr`), and `CALLEE()` for a positional
 * optimizer argument (`tf.train.adam()`).
 *
 * Score (higher is better; the list is sorted by score, ties in file order): 100 for exactly lr/learning_rate, 95 lr0,
 * 90 max_lr/peak_lr (the finder's value is the max LR of a one-cycle schedule), 85 base_lr/init_lr/initial_lr, 70 any
 * other qualified LR (actor_lr, lr_backbone), 60 lr1/lr2; 90 for a positional optimizer argument; +20 inside an
 * optimizer (a call to SGD/Adam/..., a key or variable named optimizer/optim, a map with `type: SGD` or
 * `class_path: torch.optim.AdamW`), -50 inside an LR-finder/sweep section (the finder's own range is not "the LR").
 *
 * Offsets are 0-based UTF-16 offsets into `text` (a BOM counts); line and column are 1-based, and the column does not
 * count a BOM at the start of the file (editors do not show it).
 */
import { parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { formatLr, roundSignificant } from './format';

export type LrKind = 'yaml' | 'json' | 'python' | 'js';

export interface LrLiteral {
  /** 1-based line. */
  line: number;
  /** 1-based column (UTF-16 code units; a leading BOM is not counted). */
  column: number;
  /** 0-based offset of the number text in the file text. */
  offset: number;
  /** Length of the number text. */
  length: number;
  /** The LR key: dotted path in YAML/JSON (`optimizer.lr`), the name as written in Python/JS (`lr`, `self.lr`, `--lr`). */
  key: string;
  /** The number exactly as written (`3.0e-4`, `1_000e-6`). */
  text: string;
  value: number;
  kind: LrKind;
  /** The trimmed source line. */
  context: string;
  /** How likely this is "the" learning rate; the list is sorted by it. */
  score: number;
}

export interface AppliedEdit {
  /** The whole new file text. */
  text: string;
  /** The new number text. */
  replacement: string;
  /** The replaced range in the OLD text: [offset, offset + length). */
  offset: number;
  length: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Language and key classification

/** The language of a file by its extension, or undefined when we do not read it. */
export function languageOf(fileName: string): LrKind | undefined {
  const m = /\.([A-Za-z0-9]+)$/.exec(fileName);
  const ext = m ? m[1].toLowerCase() : '';
  switch (ext) {
    case 'yaml': case 'yml': return 'yaml';
    case 'json': case 'jsonc': return 'json';
    case 'py': case 'pyw': case 'pyi': return 'python';
    case 'js': case 'mjs': case 'cjs': case 'jsx': case 'ts': case 'mts': case 'cts': case 'tsx': return 'js';
    default: return undefined;
  }
}

/** Words that make an LR-ish name something else than the learning rate (min_lr, lr_decay, warmup_lr, lr_mult...). */
const EXCLUDED_WORDS = new Set([
  'min', 'minimum', 'final', 'end', 'stop', 'last', 'start', 'decay', 'decayed', 'decays', 'warmup', 'warm', 'cooldown',
  'scheduler', 'schedulers', 'sched', 'schedule', 'schedules', 'scheduling', 'policy', 'step', 'steps', 'stepsize',
  'gamma', 'factor', 'factors', 'ratio', 'ratios', 'mult', 'mul', 'multiplier', 'multipliers', 'scale', 'scales',
  'scaling', 'scaler', 'patience', 'milestone', 'milestones', 'restart', 'restarts', 'div', 'divisor', 'divide', 'pct',
  'percent', 'percentage', 'frac', 'fraction', 'power', 'exponent', 'drop', 'lower', 'low', 'floor', 'clip', 'eta',
  'anneal', 'annealing', 'range', 'ranges', 'finder', 'find', 'finding', 'test', 'sweep', 'search', 'grid', 'scan',
  'epochs', 'epoch', 'iters', 'iter', 'iteration', 'iterations', 'type', 'mode', 'noise', 'bound', 'bounds', 'limit',
  'limits', 'threshold', 'log', 'logs', 'logger', 'logging', 'history', 'hist', 'plot', 'current', 'cur', 'new', 'old',
  'prev', 'previous', 'update', 'updates', 'updated', 'ramp', 'rampup', 'reduce', 'reduction', 'increase', 'boost',
  'fn', 'func', 'function', 'lambda', 'callback', 'monitor', 'tol', 'tolerance', 'name', 'names', 'key', 'keys',
  'str', 'path', 'file', 'dir', 'idx', 'index', 'list', 'values', 'weight', 'weights', 'auto', 'period', 'interval',
  'freq', 'frequency', 'num', 'count', 'target', 'cycle', 'cyclic', 'lookup', 'table', 'dict', 'map',
]);
const PEAK_WORDS = new Set(['max', 'maximum', 'peak', 'top']);
const BASE_WORDS = new Set(['base', 'init', 'initial', 'default', 'global']);

/** Split an identifier into lower-case words: learningRate, LEARNING_RATE, --learning-rate -> [learning, rate]. */
function splitWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

/**
 * How much a key name looks like "the learning rate" (see the file comment), or undefined when it is not an LR at all
 * (min_lr, lr_decay, weight_decay, lr_scheduler, ...). Only the last dotted component counts; leading dashes are ignored.
 */
export function learningRateKeyScore(name: string): number | undefined {
  const last = name.replace(/^-+/, '').split('.').pop() ?? '';
  const words = splitWords(last);
  let core = -1;
  let coreLen = 0;
  for (let i = 0; i < words.length && core < 0; i++) {
    const w = words[i];
    if (/^lr\d*$/.test(w) || w === 'lrate' || w === 'learningrate') { core = i; coreLen = 1; }
    else if (w === 'learning' && words[i + 1] === 'rate') { core = i; coreLen = 2; }
  }
  if (core < 0) return undefined;
  const mods = [...words.slice(0, core), ...words.slice(core + coreLen)];
  if (mods.some((m) => EXCLUDED_WORDS.has(m))) return undefined;
  const coreWord = words[core];
  if (mods.length === 0) return coreWord === 'lr0' ? 95 : /^lr\d+$/.test(coreWord) ? 60 : 100;
  if (mods.every((m) => PEAK_WORDS.has(m))) return 90;
  if (mods.every((m) => BASE_WORDS.has(m))) return 85;
  return 70;
}

const OPTIMIZER_NAMES = new Set([
  'sgd', 'sgdw', 'sgdp', 'asgd', 'momentum', 'nesterov', 'adam', 'adamw', 'adamax', 'nadam', 'nadamw', 'radam',
  'sparseadam', 'amsgrad', 'adagrad', 'adadelta', 'adafactor', 'rmsprop', 'rprop', 'lbfgs', 'ftrl', 'lamb', 'lars',
  'larc', 'lion', 'novograd', 'adabelief', 'adabound', 'yogi', 'sophia', 'sophiag', 'shampoo', 'adamp', 'fusedadam',
  'fusedlamb', 'fusedsgd', 'adam8bit', 'adamw8bit', 'pagedadamw', 'pagedadamw8bit', 'cpuadam', 'deepspeedcpuadam',
  'adamweightdecay', 'prodigy', 'adan', 'muon', 'schedulefree', 'adamwschedulefree', 'sgdschedulefree', 'solver',
]);

/** optimizer, optim, torch.optim.AdamW, SGD, tf.train.adam, create_optimizer, SOLVER... */
function isOptimizerName(s: string | undefined): boolean {
  if (!s) return false;
  const last = (s.split(/[./:]/).pop() ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
  return last.includes('optim') || OPTIMIZER_NAMES.has(last);
}

/** The LR finder's own settings (lr_finder, range_test, sweep): their start/end LRs are not the training LR. */
function isFinderName(s: string | undefined): boolean {
  if (!s) return false;
  const flat = s.toLowerCase().replace(/[^a-z0-9]/g, '');
  return /finder|rangetest|lrfind|sweep/.test(flat);
}

const OPTIMIZER_BONUS = 20;
const FINDER_PENALTY = -50;
const POSITIONAL_SCORE = 90;

function contextScore(labels: Array<string | undefined>): number {
  let s = 0;
  if (labels.some(isOptimizerName)) s += OPTIMIZER_BONUS;
  if (labels.some(isFinderName)) s += FINDER_PENALTY;
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Positions

interface Found { offset: number; length: number; key: string; score: number }

function lineStarts(text: string): number[] {
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

function lineIndexOf(starts: number[], offset: number): number {
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

/** A positive finite decimal literal as any of our languages writes it: 1, 0.001, .001, 1., 1e-3, 3.0E-4, 1_000e-6. */
const DECIMAL_LITERAL = /^(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

function literalValue(s: string): number | undefined {
  if (!DECIMAL_LITERAL.test(s)) return undefined;
  const v = Number(s.replace(/_/g, ''));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

function finish(text: string, kind: LrKind, found: Found[]): LrLiteral[] {
  const byOffset = new Map<number, Found>();
  for (const f of found) {
    const prev = byOffset.get(f.offset);
    if (!prev || f.score > prev.score) byOffset.set(f.offset, f);
  }
  const starts = lineStarts(text);
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const out: LrLiteral[] = [];
  for (const f of [...byOffset.values()].sort((a, b) => a.offset - b.offset)) {
    const literal = text.slice(f.offset, f.offset + f.length);
    const value = literalValue(literal);
    if (value === undefined) continue;
    const li = lineIndexOf(starts, f.offset);
    const column = f.offset - starts[li] + 1 - (li === 0 && f.offset > 0 ? bom : 0);
    out.push({
      line: li + 1, column, offset: f.offset, length: f.length, key: f.key, text: literal, value, kind,
      context: lineText(text, starts, li).replace(/^\uFEFF/, '').trim(), score: f.score,
    });
  }
  // Array.prototype.sort is stable: equal scores stay in file order.
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Every learning-rate literal in the file, the recommended one first (highest score; ties in file order). An empty
 * list for an unknown extension or when nothing is found. Never throws.
 */
export function locateLearningRates(fileName: string, text: string): LrLiteral[] {
  const kind = languageOf(fileName);
  if (!kind) return [];
  let found: Found[];
  try {
    switch (kind) {
      case 'yaml': found = locateYaml(text); break;
      case 'json': found = locateJson(text); break;
      case 'python': found = locateInTokens(tokenizePython(text), 'python'); break;
      case 'js': found = locateInTokens(tokenizeJs(text), 'js'); break;
    }
  } catch {
    return [];
  }
  return finish(text, kind, found);
}

// ---------------------------------------------------------------------------------------------------------------
// YAML

function locateYaml(text: string): Found[] {
  const found: Found[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  const walk = (node: unknown, path: string, labels: string[]): void => {
    if (isMap(node)) {
      // A map that says what it is: {type: SGD, lr: 0.02}, {class_path: torch.optim.AdamW, init_args: {...}}.
      const self: string[] = [];
      for (const pair of node.items) {
        if (!isScalar(pair.key) || !isScalar(pair.value) || typeof pair.value.value !== 'string') continue;
        const k = String(pair.key.value);
        if (/^(optimizer|optim)$/i.test(k)) self.push(k); // {optim: adamw_torch, learning_rate: 5e-5}
        else if (/^(type|name|class_?path|_target_|class_?name)$/i.test(k)) self.push(pair.value.value);
      }
      for (const pair of node.items) {
        const key = isScalar(pair.key) && pair.key.value !== null && pair.key.value !== undefined ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const here = path ? `${path}.${key}` : key;
        const value = pair.value;
        if (isScalar(value)) {
          const base = learningRateKeyScore(key);
          if (base === undefined || value.type !== 'PLAIN' || typeof value.value !== 'number' || !value.range) continue;
          const [start, end] = value.range;
          if (literalValue(text.slice(start, end)) === undefined) continue;
          found.push({ offset: start, length: end - start, key: here, score: base + contextScore([...labels, ...self]) });
        } else {
          walk(value, here, [...labels, ...self, key]);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, `${path}[${i}]`, labels));
    }
  };
  for (const doc of list) walk(doc.contents, '', []);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON / JSONC

function locateJson(text: string): Found[] {
  const found: Found[] = [];
  // jsonc-parser reports a BOM as an error; a space keeps every offset.
  const src = text.charCodeAt(0) === 0xfeff ? ' ' + text.slice(1) : text;
  const errors: ParseError[] = [];
  const root = parseTree(src, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  const walk = (node: JsonNode | undefined, path: string, labels: string[]): void => {
    if (!node) return;
    if (node.type === 'object') {
      const self: string[] = [];
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (!k || !v || v.type !== 'string') continue;
        if (/^(optimizer|optim)$/i.test(String(k.value))) self.push(String(k.value));
        else if (/^(type|name|class_?path|_target_|class_?name)$/i.test(String(k.value))) self.push(String(v.value));
      }
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (!k || !v || k.type !== 'string') continue;
        const key = String(k.value);
        const here = path ? `${path}.${key}` : key;
        if (v.type === 'number') {
          const base = learningRateKeyScore(key);
          if (base === undefined || literalValue(src.slice(v.offset, v.offset + v.length)) === undefined) continue;
          found.push({ offset: v.offset, length: v.length, key: here, score: base + contextScore([...labels, ...self]) });
        } else {
          walk(v, here, [...labels, ...self, key]);
        }
      }
    } else if (node.type === 'array') {
      (node.children ?? []).forEach((item, i) => walk(item, `${path}[${i}]`, labels));
    }
  };
  walk(root, '', []);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens shared by Python and JavaScript

type TokType = 'name' | 'number' | 'string' | 'op' | 'newline';

interface Tok {
  type: TokType;
  start: number;
  end: number;
  /** Source text (empty for a newline). */
  value: string;
  /** Content of a plain string literal (no f-string, template, bytes or regex); undefined otherwise. */
  str?: string;
  /** Numbers: a plain decimal literal (not hex/octal/binary, complex or BigInt). */
  decimal?: boolean;
  /** JS: a line break comes before this token. */
  nl?: boolean;
}

const IDENT = /[\p{ID_Start}_$][\p{ID_Continue}$\u200c\u200d]*/uy;
const PY_IDENT = /[\p{ID_Start}_][\p{ID_Continue}]*/uy;
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isNewline = (c: string | undefined): boolean => c === '\n' || c === '\r';

function matchOp(src: string, i: number, ops: readonly string[]): string {
  for (const o of ops) if (src.startsWith(o, i)) return o;
  return src[i];
}

// ---- Python

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

function skipEscape(src: string, p: number): number {
  return src[p + 1] === '\r' && src[p + 2] === '\n' ? p + 3 : p + 2;
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

function tokenizePython(src: string): Tok[] {
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

// ---- JavaScript / TypeScript

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

function tokenizeJs(src: string): Tok[] {
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

// ---- Candidates in a token stream

interface Frame {
  open: string;
  /** Token index of the opening bracket. */
  index: number;
  /** Dotted name of the called function when this is a call's `(`. */
  callee?: string;
  /** What the bracketed expression is assigned to / the key or keyword it is the value of. */
  owner?: string;
}

const NOT_CALLEE = new Set(['if', 'elif', 'while', 'for', 'return', 'in', 'not', 'and', 'or', 'is', 'lambda', 'yield',
  'await', 'assert', 'del', 'with', 'as', 'import', 'from', 'raise', 'except', 'switch', 'catch', 'typeof', 'void',
  'function', 'else', 'case', 'of', 'new', 'delete', 'throw', 'async']);
/** Calls whose `default=` (or first argument) is the value of the field they are assigned to. */
const FIELD_CALLS = new Set(['field', 'Field', 'attrib', 'ib', 'Option', 'Argument', 'Param', 'param']);
const FIELD_POSITIONAL = new Set(['Field', 'Option', 'Argument', 'Param']);
const TERMINATORS = new Set([',', ')', ']', '}', ';']);

function locateInTokens(toks: Tok[], lang: 'python' | 'js'): Found[] {
  const found: Found[] = [];
  const stack: Frame[] = [];
  const dot = (t: Tok | undefined): boolean => t !== undefined && t.type === 'op' && (t.value === '.' || (lang === 'js' && t.value === '?.'));
  const isOp = (t: Tok | undefined, v: string): boolean => t !== undefined && t.type === 'op' && t.value === v;

  /** The dotted name ending at name token j: {start token, parts}. */
  const chainBefore = (j: number): { start: number; parts: string[] } => {
    const parts = [toks[j].value];
    let k = j;
    while (dot(toks[k - 1]) && toks[k - 2]?.type === 'name') { parts.unshift(toks[k - 2].value); k -= 2; }
    return { start: k, parts };
  };

  /** For `x: T = ...`, the target x given the index of `=`; undefined when `=` is not after an annotation. */
  const annotatedTarget = (eq: number): string | undefined => {
    let depth = 0;
    for (let j = eq - 1; j >= 0 && j > eq - 40; j--) {
      const t = toks[j];
      if (toks[j + 1].nl) return undefined; // JS: the annotation would span lines
      if (t.type === 'op') {
        if (t.value === ']' || t.value === '>' || t.value === ')') { depth++; continue; }
        if (t.value === '[' || t.value === '<' || t.value === '(') { if (depth === 0) return undefined; depth--; continue; }
        if (t.value === ':' && depth === 0) return toks[j - 1]?.type === 'name' ? chainBefore(j - 1).parts.join('.') : undefined;
        if (depth > 0 || t.value === '.' || t.value === '|' || t.value === '&' || t.value === '?') continue;
        return undefined;
      }
      if (t.type === 'newline') return undefined;
    }
    return undefined;
  };

  /** The owner of an expression starting at token k: `owner = <k>`, `"owner": <k>`, `owner=<k>`, `x: T = <k>`. */
  const ownerOf = (k: number): string | undefined => {
    const p = toks[k - 1];
    if (!p || p.type !== 'op') return undefined;
    if (p.value === '=') {
      const ann = annotatedTarget(k - 1);
      if (ann) return ann;
      const q = toks[k - 2];
      if (q?.type === 'name') return chainBefore(k - 2).parts.join('.');
      if (isOp(q, ']') && toks[k - 3]?.str !== undefined && isOp(toks[k - 4], '[')) return toks[k - 3].str;
      return undefined;
    }
    if (p.value === ':') {
      const q = toks[k - 2];
      if (q?.type === 'string') return q.str;
      if (q?.type === 'name') return q.value;
    }
    return undefined;
  };

  /** For `name: Type = value`, the index of `=`; -1 when there is no such annotation. */
  const annotationEquals = (i: number): number => {
    let depth = 0;
    for (let j = i + 2; j < toks.length && j < i + 40; j++) {
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
  };

  const isBare = (j: number): boolean => {
    const t = toks[j];
    if (!t || t.type === 'newline') return true;
    if (t.type === 'op' && TERMINATORS.has(t.value)) return true;
    return lang === 'js' && t.nl === true && t.type !== 'op';
  };
  const plainNumber = (j: number): Tok | undefined => {
    const t = toks[j];
    return t && t.type === 'number' && t.decimal && isBare(j + 1) ? t : undefined;
  };
  const labels = (extra: string[] = []): string[] => [
    ...stack.flatMap((f) => [f.callee, f.owner]).filter((s): s is string => s !== undefined), ...extra,
  ];
  const add = (num: Tok, key: string, base: number, extra: string[] = []): void => {
    found.push({ offset: num.start, length: num.end - num.start, key, score: base + contextScore(labels(extra)) });
  };

  const openFrame = (i: number): Frame => {
    const open = toks[i].value;
    const prev = toks[i - 1];
    if (open === '(' && prev?.type === 'name' && !NOT_CALLEE.has(prev.value)) {
      const ch = chainBefore(i - 1);
      return { open, index: i, callee: ch.parts.join('.'), owner: ownerOf(ch.start) };
    }
    return { open, index: i, owner: ownerOf(i) };
  };

  /** At a call's `)`: argparse/click defaults, dataclass fields, positional optimizer learning rates. */
  const closeCall = (f: Frame, close: number): void => {
    const args: Array<[number, number]> = [];
    let depth = 0;
    let s = f.index + 1;
    for (let j = f.index + 1; j < close; j++) {
      const v = toks[j].type === 'op' ? toks[j].value : '';
      if (v === '(' || v === '[' || v === '{') depth++;
      else if (v === ')' || v === ']' || v === '}') depth--;
      else if (v === ',' && depth === 0) { args.push([s, j]); s = j + 1; }
    }
    if (s < close) args.push([s, close]);
    const keywords = new Map<string, [number, number]>();
    const positional: Array<[number, number]> = [];
    for (const [a, b] of args) {
      if (toks[a].type === 'name' && isOp(toks[a + 1], '=') && b > a + 2) keywords.set(toks[a].value, [a + 2, b]);
      else if (!isOp(toks[a], '*') && !isOp(toks[a], '**') && !isOp(toks[a], '...')) positional.push([a, b]);
    }
    const single = (r: [number, number] | undefined): Tok | undefined =>
      r && r[1] - r[0] === 1 && toks[r[0]].type === 'number' && toks[r[0]].decimal ? toks[r[0]] : undefined;
    const calleeLast = f.callee!.split('.').pop()!;

    // parser.add_argument('-l', '--lr', '--learning-rate', type=float, default=0.1) / click.option('--lr', default=0.1)
    const options = positional
      .filter(([a, b]) => b - a === 1 && toks[a].type === 'string' && toks[a].str !== undefined && /^-{1,2}[A-Za-z]/.test(toks[a].str!))
      .map(([a]) => toks[a].str!);
    const def = single(keywords.get('default'));
    if (lang === 'python' && options.length > 0 && def) {
      const dest = keywords.get('dest');
      const names = [...options, ...(dest && dest[1] - dest[0] === 1 && toks[dest[0]].str ? [toks[dest[0]].str!] : [])];
      const scores = names.map(learningRateKeyScore).filter((x): x is number => x !== undefined);
      if (scores.length > 0) {
        const key = options.find((o) => o.startsWith('--')) ?? options[0]; // argparse's dest comes from the first long option
        add(def, key, Math.max(...scores));
      }
      return;
    }
    // learning_rate: float = field(default=5e-5) / lr: float = Field(1e-3, gt=0) / lr: float = typer.Option(1e-3)
    if (FIELD_CALLS.has(calleeLast) && f.owner !== undefined) {
      const base = learningRateKeyScore(f.owner);
      const v = def ?? (FIELD_POSITIONAL.has(calleeLast) ? single(positional[0]) : undefined);
      if (base !== undefined && v) add(v, f.owner, base);
      return;
    }
    // torch.optim.SGD(params, 0.1) / tf.keras.optimizers.Adam(1e-3) / tf.train.adam(0.001)
    if (OPTIMIZER_NAMES.has(calleeLast.toLowerCase()) && ![...keywords.keys()].some((k) => learningRateKeyScore(k) !== undefined)) {
      const p0 = single(positional[0]);
      const p1 = lang === 'python' && positional.length > 1 && toks[positional[0][0]].type !== 'number' ? single(positional[1]) : undefined;
      const v = p0 ?? p1;
      if (v) add(v, `${f.callee}()`, POSITIONAL_SCORE);
    }
  };

  const tryName = (i: number): void => {
    const t = toks[i];
    const base = learningRateKeyScore(t.value);
    if (base === undefined) return;
    const next = toks[i + 1];
    const prev = toks[i - 1];
    const top = stack[stack.length - 1];
    let valueAt = -1;
    let key = t.value;
    let prefix: string[] = [];
    if (isOp(next, '=')) {
      const ch = chainBefore(i);
      key = ch.parts.join('.');
      prefix = ch.parts.slice(0, -1);
      valueAt = i + 2;
    } else if (isOp(next, ':')) {
      if (lang === 'js' && (isOp(prev, '{') || isOp(prev, ',')) && toks[i + 2]?.type === 'number') {
        valueAt = i + 2; // { learningRate: 0.01 }
      } else if (lang === 'python' && top && top.open !== '(') {
        return; // {lr: ...} uses the variable lr as a key; x[lr:] is a slice
      } else {
        const eq = annotationEquals(i);
        if (eq < 0) return;
        const ch = chainBefore(i);
        key = ch.parts.join('.');
        prefix = ch.parts.slice(0, -1);
        valueAt = eq + 1;
      }
    } else {
      return;
    }
    const num = plainNumber(valueAt);
    if (num) add(num, key, base, prefix);
  };

  const tryStringKey = (i: number): void => {
    const t = toks[i];
    const base = learningRateKeyScore(t.str!);
    if (base === undefined) return;
    const prev = toks[i - 1];
    const next = toks[i + 1];
    let valueAt = -1;
    if (isOp(next, ':') && (isOp(prev, '{') || isOp(prev, ',')) && stack[stack.length - 1]?.open === '{') valueAt = i + 2;
    else if (isOp(next, ']') && isOp(prev, '[') && isOp(toks[i + 2], '=')) valueAt = i + 3;
    else return;
    const num = plainNumber(valueAt);
    if (num) add(num, t.str!, base);
  };

  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.type === 'op') {
      if (t.value === '(' || t.value === '[' || t.value === '{') stack.push(openFrame(i));
      else if (t.value === ')' || t.value === ']' || t.value === '}') {
        const top = stack[stack.length - 1];
        if (top && top.open === '(' && t.value === ')' && top.callee !== undefined) closeCall(top, i);
        stack.pop();
      }
    } else if (t.type === 'name') {
      tryName(i);
    } else if (t.type === 'string' && t.str !== undefined) {
      tryStringKey(i);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing a value back

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
 * The file text with `literal` replaced by `value` in the literal's own style; every other character is kept (line
 * endings, BOM, indentation, comments). Throws when the text at the literal's offset is no longer `literal.text` (the
 * document changed: relocate() first), or for a value that is not a positive finite number.
 */
export function applyLearningRate(text: string, literal: Pick<LrLiteral, 'offset' | 'length' | 'text'>, value: number): AppliedEdit {
  const { offset, length } = literal;
  const current = text.slice(offset, offset + length);
  if (current !== literal.text) {
    throw new Error(`expected "${literal.text}" at offset ${offset} but found "${current}": the file changed since it was scanned`);
  }
  const replacement = formatLikeOriginal(literal.text, value);
  return { text: text.slice(0, offset) + replacement + text.slice(offset + length), replacement, offset, length };
}

/**
 * The same literal in the changed text: same key (and language), preferring an identical source line, then the same
 * number text, then the nearest line; failing that a literal on an identical source line. Undefined when it is gone.
 */
export function relocate(fileName: string, newText: string, old: LrLiteral): LrLiteral | undefined {
  const all = locateLearningRates(fileName, newText);
  const rank = (c: LrLiteral): [number, number, number] => [
    c.context === old.context ? 0 : 1, c.text === old.text ? 0 : 1, Math.abs(c.line - old.line),
  ];
  const best = (list: LrLiteral[]): LrLiteral | undefined => {
    let top: LrLiteral | undefined;
    let topRank: [number, number, number] | undefined;
    for (const c of list) {
      const r = rank(c);
      if (!topRank || r[0] < topRank[0] || (r[0] === topRank[0] && (r[1] < topRank[1] || (r[1] === topRank[1] && r[2] < topRank[2])))) {
        top = c;
        topRank = r;
      }
    }
    return top;
  };
  return best(all.filter((c) => c.key === old.key)) ?? best(all.filter((c) => c.context === old.context));
}
