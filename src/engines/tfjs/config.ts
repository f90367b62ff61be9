/**
 * The training config: YAML or JSON, validated against schemas/lr-finder.schema.json with positions kept, so every
 * problem names file:line:column, the key and what was expected. Unknown keys get a "did you mean". Pure: the text is
 * passed in; reading files and resolving paths is the engine's job.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { LineCounter, isAlias, isCollection, isMap, isPair, isScalar, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import { parse as parseJsonc, stripComments, type ParseError } from 'jsonc-parser';
import schema from '../../../schemas/lr-finder.schema.json';
import type { LossName, OptimizerSpec } from './types';
import { FASTAI_DEFAULTS } from '../../core/analysis';
import type { SweepMode } from '../../core/fastai';

export interface LayerSpec {
  className: string;
  config: Record<string, unknown>;
  /** true when written as Keras' {class_name, config} (snake_case keys allowed). */
  keras: boolean;
}

export interface TrainingConfig {
  model: { layers?: LayerSpec[]; inputShape?: number[]; path?: string };
  data: {
    path: string; label: string; features?: string[]; classes?: (string | number)[];
    standardize: boolean; standardizeTarget?: boolean; scale?: number; reshape?: number[]; validationSplit: number; maxRows?: number;
  };
  loss: LossName;
  optimizer: OptimizerSpec;
  batchSize: number;
  seed: number;
  lrTarget?: string;
  sweep: {
    startLr: number; endLr: number; numIter: number; mode: SweepMode; stopFactor: number; smoothing: number;
    validation: boolean; repeats: number;
    /** `sweep.verify`: verify after the sweep (true, or its options; core/verify.ts). */
    verify?: { enabled: boolean; steps?: number; seeds?: number; maxCandidates?: number };
  };
  /** The sweep keys the file sets itself (the extension's settings fill in only the others). */
  sweepKeys: string[];
}

export interface ConfigIssue {
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Dotted path of the offending key, e.g. "optimizer.learningRate". */
  key: string;
  message: string;
}

export type Path = (string | number)[];

export interface ParsedConfig {
  config?: TrainingConfig;
  issues: ConfigIssue[];
  /** Position of any path in the file (the key's value, or the closest existing parent). */
  locate(path: Path): ConfigIssue;
}

/** A config's sweep defaults: fastai's (the one owner is FASTAI_DEFAULTS), plus the config-only keys. */
export const SWEEP_DEFAULTS = { ...FASTAI_DEFAULTS, validation: false, repeats: 1 };

/** The LRs a config, a flag or a curve may give: float32 normals, far from under- and overflow. */
export const LR_MIN = 1e-30;
export const LR_MAX = 1e30;
export const LR_RANGE = 'from 1e-30 to 1e30';

let validator: ReturnType<Ajv['compile']> | undefined;
function validate(data: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
    validator = ajv.compile(schema);
  }
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

/** Format an issue as "file:line:column: message". */
export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.message}`;
}

export function isYamlFile(fileName: string): boolean {
  return /\.ya?ml$/i.test(fileName);
}

export function parseConfigText(fileName: string, text: string): ParsedConfig {
  try {
    return parseConfigTextUnsafe(fileName, text);
  } catch (e) {
    // A stack overflow in a parser or validator: thousands of nested brackets or mappings.
    if (!(e instanceof RangeError)) throw e;
    const at: ConfigIssue = { file: fileName, line: 1, column: 1, endLine: 1, endColumn: 1, key: '', message: '' };
    return { issues: [{ ...at, message: `the config is nested too deeply to read (${e.message}); expected a mapping with model, data, loss and optimizer` }], locate: () => at };
  }
}

/** Deeper nesting is refused before parsing: the parsers recurse per level, and a few thousand levels overflow. */
const MAX_DEPTH = 200;

/** Where the nesting (brackets and braces, indentation, "- - -") first gets deeper than MAX_DEPTH, if it does. */
function tooDeep(text: string): { line: number; column: number } | undefined {
  let flow = 0, line = 1, lineStart = 0;
  const indents: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (i === lineStart) {
      // Block nesting: a stack of indentation levels, plus compact "- - -" on the line.
      let j = i;
      while (text[j] === ' ') j++;
      if (text[j] !== '\n' && text[j] !== '\r' && text[j] !== '#' && j < text.length && flow === 0) {
        const indent = j - i;
        while (indents.length && indents[indents.length - 1] > indent) indents.pop();
        if (!indents.length || indents[indents.length - 1] < indent) indents.push(indent);
        let dashes = 0;
        while (text[j] === '-' && (text[j + 1] === ' ' || text[j + 1] === '\t')) { dashes++; j += 2; while (text[j] === ' ') j++; }
        if (indents.length + dashes > MAX_DEPTH) return { line, column: j - i + 1 };
      }
    }
    if (ch === '[' || ch === '{') { if (++flow > MAX_DEPTH) return { line, column: i - lineStart + 1 }; }
    else if ((ch === ']' || ch === '}') && flow > 0) flow--;
    else if (ch === '\n') { line++; lineStart = i + 1; }
  }
  return undefined;
}

function parseConfigTextUnsafe(fileName: string, text: string): ParsedConfig {
  const deep = tooDeep(text);
  if (deep) {
    const at: ConfigIssue = { file: fileName, line: deep.line, column: deep.column, endLine: deep.line, endColumn: deep.column, key: '', message: '' };
    return { issues: [{ ...at, message: `the config is nested more than ${MAX_DEPTH} levels deep here; expected a mapping with model, data, loss and optimizer` }], locate: () => at };
  }
  const lineCounter = new LineCounter();
  // JSON is YAML's flow style; comments (JSONC, as VS Code settings allow) are blanked with spaces so offsets stay.
  const source = isYamlFile(fileName) ? text : stripComments(text, ' ');
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number) => lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
  const issueAt = (range: [number, number] | undefined, key: string, message: string): ConfigIssue => {
    const [a, b] = range ?? [0, 0];
    const p = pos(a), q = pos(Math.max(a, b));
    return { file: fileName, line: p.line, column: p.col, endLine: q.line, endColumn: q.col, key, message };
  };
  const locate = (path: Path): ConfigIssue => locateIn(doc, path, issueAt);

  const syntax = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY')];
  if (!isYamlFile(fileName)) {
    // A .json file is read as JSON (with comments and trailing commas); YAML in it is refused, not read silently.
    const jsonErrors: ParseError[] = [];
    parseJsonc(text, jsonErrors, { allowTrailingComma: true, allowEmptyContent: true, disallowComments: false });
    if (jsonErrors.length) {
      const e = jsonErrors[0];
      const yamlHint = !syntax.length && isMap(doc.contents)
        ? `; ${shortName(fileName)} holds YAML, not JSON: rename it to ${shortName(fileName).replace(/\.json$/i, '.yaml')} or write it as JSON`
        : '';
      return { issues: [issueAt([e.offset, e.offset + e.length], '', `JSON syntax error: ${jsonErrorText(e)}${yamlHint}`)], locate };
    }
  }
  if (syntax.length) {
    return {
      issues: syntax.map((e) => issueAt([e.pos[0], e.pos[1]], '', /call stack/i.test(e.message)
        ? 'the config is nested too deeply to read; expected a mapping with model, data, loss and optimizer'
        : `${isYamlFile(fileName) ? 'YAML' : 'JSON'} syntax error: ${clip(e.message.split('\n')[0], 200)}`)),
      locate,
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (e) {
    const alias = worstAlias(doc);
    const message = alias
      ? `YAML alias *${clip(alias.name, 40)} expands to ${alias.size >= 1e6 ? 'millions of' : alias.size} nodes (an alias bomb); expected a config whose aliases (*name) expand to at most ${MAX_ALIAS_COUNT} nodes`
      : `YAML error: ${clip((e as Error).message, 200)}`;
    return { issues: [issueAt(alias?.range, '', message)], locate };
  }
  if (data === null || data === undefined) {
    return { issues: [issueAt([0, 0], '', 'the config is empty; expected a mapping with model, data, loss and optimizer')], locate };
  }
  // Infinity and NaN (YAML's .inf, .nan, or 1e999) pass a JSON schema's "number": refuse them at their position.
  const nonFinite = nonFiniteNumbers(data).map((p) => ({ ...locate(p), message: `${p.join('.')} is ${describe(getPath(data, p))}; expected a finite number` }));
  if (nonFinite.length) return { issues: nonFinite, locate };
  const issues = validate(data).map((e) => describeAjvError(e, doc, locate, issueAt)).filter((x): x is ConfigIssue => !!x);
  // "unknown key learning_rate; did you mean learningRate?" already says what "missing learningRate" would.
  const suggested = new Set(issues.map((i) => /did you mean "([^"]+)"/.exec(i.message)?.[1] && i.key.replace(/[^.]+$/, /did you mean "([^"]+)"/.exec(i.message)![1])));
  for (let k = issues.length - 1; k >= 0; k--) if (/missing the required key/.test(issues[k].message) && suggested.has(issues[k].key)) issues.splice(k, 1);
  if (!issues.length) issues.push(...semanticChecks(data as Raw, locate));
  dedupe(issues);
  if (issues.length) return { issues, locate };
  return { config: normalize(data as Raw), issues, locate };
}

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MAX_ALIAS_COUNT = 100;

const shortName = (f: string) => f.split(/[\\/]/).pop() ?? f;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

const JSON_ERRORS: Record<number, string> = {
  1: 'unexpected character', 2: 'invalid number', 3: 'expected a property name in double quotes', 4: 'expected a value',
  5: 'expected ":"', 6: 'expected ","', 7: 'expected "}"', 8: 'expected "]"', 9: 'expected the end of the file',
  10: 'invalid comment', 11: 'unterminated comment', 12: 'unterminated string', 13: 'unterminated number',
  14: 'invalid unicode escape', 15: 'invalid escape character', 16: 'control character in a string',
};
function jsonErrorText(e: ParseError): string {
  return JSON_ERRORS[e.error] ?? `error ${e.error}`;
}

/** Paths of every NaN or ±Infinity in the parsed config. */
function nonFiniteNumbers(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (typeof v === 'number') { if (!Number.isFinite(v)) out.push(at); }
  else if (Array.isArray(v)) v.forEach((x, i) => nonFiniteNumbers(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) nonFiniteNumbers(x, [...at, k], out);
  return out;
}

function getPath(v: unknown, p: Path): unknown {
  return p.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), v);
}

/** The alias whose expansion is largest (the first such), with its expanded node count: an alias bomb's culprit. */
function worstAlias(doc: Document): { name: string; size: number; range?: [number, number] } | undefined {
  const sizes = new Map<unknown, number>();
  const busy = new Set<unknown>();
  const sizeOf = (node: unknown): number => {
    if (isAlias(node)) { const target = node.resolve(doc); return target ? sizeOf(target) : 1; }
    if (!isCollection(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (busy.has(node)) return 1;
    busy.add(node);
    let n = 1;
    for (const item of node.items) n += isPair(item) ? sizeOf(item.key) + sizeOf(item.value) : sizeOf(item);
    busy.delete(node);
    sizes.set(node, n);
    return n;
  };
  let worst: { name: string; size: number; range?: [number, number] } | undefined;
  visit(doc, {
    Alias(_, node) {
      const size = sizeOf(node);
      if (!worst || size > worst.size) worst = { name: node.source, size, range: node.range ? [node.range[0], node.range[1]] : undefined };
    },
  });
  return worst;
}

function dedupe(issues: ConfigIssue[]) {
  const seen = new Set<string>();
  for (let i = issues.length - 1; i >= 0; i--) {
    const k = `${issues[i].line}:${issues[i].column}:${issues[i].message}`;
    if (seen.has(k)) issues.splice(i, 1); else seen.add(k);
  }
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
}

function locateIn(doc: Document, path: Path, issueAt: IssueAt): ConfigIssue {
  let node: unknown = doc.contents;
  let found = node as YamlNode | undefined;
  for (const seg of path) {
    if (!node || typeof node !== 'object' || !('items' in (node as object))) break;
    const next = isMap(node) ? node.get(seg, true) : (node as { get(k: unknown, keep: boolean): unknown }).get(seg, true);
    if (next === undefined) break;
    node = next;
    found = next as YamlNode;
  }
  const range = found && 'range' in found && found.range ? [found.range[0], found.range[1]] as [number, number] : undefined;
  return issueAt(range, path.join('.'), '');
}

/** The key node of `prop` inside the map at `path` (for unknown-key errors, which point at the key itself). */
function keyRange(doc: Document, path: Path, prop: string): [number, number] | undefined {
  const parent = path.length ? doc.getIn(path, true) : doc.contents;
  if (!isMap(parent)) return undefined;
  for (const item of parent.items) {
    if (isPair(item) && isScalar(item.key) && String(item.key.value) === prop && item.key.range) return [item.key.range[0], item.key.range[1]];
  }
  return undefined;
}

function pathOf(instancePath: string): Path {
  if (!instancePath) return [];
  return instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** A value for a message: strings quoted and cut at 60 characters, numbers as YAML writes the non-finite ones. */
const describe = (v: unknown) => (typeof v === 'string' ? JSON.stringify(clip(v, 60)) : Array.isArray(v) ? 'a list' : v === null ? 'null'
  : typeof v === 'object' ? 'a mapping' : typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? '.nan (not a number)' : `${v < 0 ? '-' : ''}.inf (infinite)`) : String(v));

type IssueAt = (range: [number, number] | undefined, key: string, message: string) => ConfigIssue;

function describeAjvError(e: ErrorObject, doc: Document, locate: (p: Path) => ConfigIssue, issueAt: IssueAt): ConfigIssue | undefined {
  const path = pathOf(e.instancePath);
  const where = path.join('.') || '(top level)';
  const at = (message: string, p: Path = path) => ({ ...locate(p), message });
  switch (e.keyword) {
    case 'additionalProperties': {
      const prop = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      const key = [...path, prop].join('.');
      const hint = didYouMean(prop, allowed);
      const message = `unknown key ${describe(prop)} in ${where}${hint ? `; did you mean "${hint}"?` : '.'} Expected one of: ${allowed.join(', ')}.`;
      const r = keyRange(doc, path, prop);
      return r ? issueAt(r, key, message) : { ...at(message), key };
    }
    case 'required': {
      const prop = String((e.params as { missingProperty: string }).missingProperty);
      return { ...at(`${where} is missing the required key "${prop}"`), key: [...path, prop].join('.') };
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined;
      return at(`${where} is ${describe(e.data)}; expected one of ${allowed.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`);
    }
    case 'type':
      return at(`${where} is ${describe(e.data)}; expected ${(e.params as { type: string }).type.replace(',', ' or ')}`);
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
      const p = e.params as { comparison: string; limit: number };
      if (/^(startLr|endLr|learningRate)$/.test(String(path[path.length - 1]))) return at(`${where} is ${describe(e.data)}; expected an LR ${LR_RANGE}`);
      return at(`${where} is ${describe(e.data)}; expected a number ${p.comparison} ${p.limit}`);
    }
    case 'minItems': case 'maxItems':
      return at(`${where} ${e.message}`);
    case 'minProperties':
      return at(`${where} is empty; expected a layer such as {Dense: {units: 16}}`);
    case 'maxProperties':
      return at(`${where} has more than one layer in one list item; expected exactly one layer per item (e.g. "- Dense: {units: 16}")`);
    case 'oneOf': case 'anyOf':
      return undefined; // the branch errors say more
    default:
      return at(`${where} ${e.message ?? 'is invalid'}`);
  }
}

function semanticChecks(d: Raw, locate: (p: Path) => ConfigIssue): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const at = (p: Path, message: string) => out.push({ ...locate(p), message });
  const m = d.model ?? {};
  if (m.layers && m.path) at(['model', 'path'], 'model has both "layers" and "path"; expected one of them');
  if (!m.layers && !m.path) at(['model'], 'model needs "layers" (a list of layers) or "path" (a model.json file)');
  (m.layers ?? []).forEach((item: Raw, i: number) => {
    const keys = Object.keys(item);
    const keras = keys.includes('class_name');
    if (keras && keys.some((k) => k !== 'class_name' && k !== 'config')) at(['model', 'layers', i], 'a Keras-style layer has only "class_name" and "config"');
    if (!keras && keys.includes('config')) at(['model', 'layers', i], '"config" needs "class_name" beside it (Keras form), or write the layer as {Dense: {...}}');
    if (!keras && keys.length !== 1) at(['model', 'layers', i], 'expected exactly one layer per list item, e.g. "- Dense: {units: 16}"');
  });
  if (m.layers && !m.inputShape) {
    const first = m.layers[0] ?? {};
    const cfg = first.class_name ? first.config ?? {} : Object.values(first)[0] ?? {};
    if (!cfg.inputShape && !cfg.input_shape && !cfg.batch_input_shape && !cfg.batchInputShape && !cfg.inputDim && !cfg.input_dim) {
      at(['model', 'layers', 0], 'the first layer needs "inputShape" (e.g. inputShape: [4]), or set model.inputShape');
    }
  }
  const s = d.sweep ?? {};
  const start = s.startLr ?? SWEEP_DEFAULTS.startLr, end = s.endLr ?? SWEEP_DEFAULTS.endLr;
  if (!(end > start)) at(['sweep', s.endLr !== undefined ? 'endLr' : 'startLr'], `sweep.endLr (${end}) must be greater than sweep.startLr (${start})`);
  if (s.validation && !(d.data?.validationSplit > 0)) at(['sweep', 'validation'], 'sweep.validation needs data.validationSplit > 0 (e.g. 0.2)');
  const opt = d.optimizer ?? {};
  if (opt.nesterov && !(opt.name === 'sgd' && opt.momentum > 0)) at(['optimizer', 'nesterov'], 'nesterov applies to sgd with momentum > 0');
  const onlyFor: Record<string, string[]> = { momentum: ['sgd', 'rmsprop'], beta1: ['adam', 'adamax'], beta2: ['adam', 'adamax'], rho: ['rmsprop'], centered: ['rmsprop'], initialAccumulatorValue: ['adagrad'], decay: ['adamax'] };
  for (const [k, names] of Object.entries(onlyFor)) {
    if (opt[k] !== undefined && !names.includes(opt.name)) at(['optimizer', k], `optimizer.${k} does not apply to ${opt.name}; it is for ${names.join(', ')}`);
  }
  return out;
}

function normalize(d: Raw): TrainingConfig {
  const layers: LayerSpec[] | undefined = d.model.layers?.map((item: Raw) =>
    item.class_name ? { className: item.class_name, config: { ...(item.config ?? {}) }, keras: true }
      : { className: Object.keys(item)[0], config: { ...(Object.values(item)[0] as object ?? {}) }, keras: false });
  return {
    model: { layers, inputShape: d.model.inputShape, path: d.model.path },
    data: { standardize: false, validationSplit: 0, ...d.data },
    loss: d.loss,
    optimizer: { ...d.optimizer },
    batchSize: d.batchSize ?? 32,
    seed: d.seed ?? 0,
    lrTarget: d.lrTarget,
    sweep: { ...SWEEP_DEFAULTS, ...(d.sweep ?? {}), verify: verifyOption(d.sweep?.verify) },
    sweepKeys: Object.keys(d.sweep ?? {}),
  };
}

/** The closest allowed name: same letters ignoring case and _/-, or within a small edit distance. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, '');
  const w = norm(word);
  const exact = candidates.find((c) => norm(c) === w);
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(w, norm(c));
    if (dist < bestD) { bestD = dist; best = c; }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(Math.max(w.length, 3) / 3)) ? best : undefined;
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** `sweep.verify` as the schema allows it (true/false, or {steps, seeds, candidates}), normalised. */
function verifyOption(v: unknown): TrainingConfig['sweep']['verify'] {
  if (v === undefined || v === false) return undefined;
  if (v === true) return { enabled: true };
  const o = v as { steps?: number; seeds?: number; candidates?: number };
  return { enabled: true, steps: o.steps, seeds: o.seeds, maxCandidates: o.candidates };
}
