/**
 * Reading a config from disk: parse and validate it, resolve the paths it names (refusing any that leave the
 * workspace folder), read the CSV and build the dataset. Errors are LocatedErrors naming file:line:column.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatIssue, parseConfigText, LR_MAX, LR_MIN, LR_RANGE, type ConfigIssue, type ParsedConfig, type Path, type TrainingConfig } from './config';
import { buildDataset, MIN_ROWS, parseCsv, type Dataset } from './dataset';
import { LocatedError } from '../../core/errors';

export interface LoadedConfig {
  file: string;
  config: TrainingConfig;
  parsed: ParsedConfig;
  /** An error that points at `p` in the config file. */
  pointer(p: Path, message: string): LocatedError;
}

export interface Overrides {
  startLr?: number;
  endLr?: number;
  numIter?: number;
  seed?: number;
  stopFactor?: number;
  smoothing?: number;
}

export function issueError(i: ConfigIssue): LocatedError {
  return new LocatedError(formatIssue(i), i.file, i.line, i.column);
}

const MB = 1024 * 1024;

export interface TextFileKind {
  /** What the file is, for messages: "config", "data file", "curve". */
  what: string;
  /** What it should hold: "a YAML or JSON training config". */
  expected: string;
  /** Largest size read. */
  maxBytes: number;
}

export const CONFIG_FILE: TextFileKind = { what: 'config', expected: 'a YAML or JSON training config', maxBytes: 16 * MB };
export const CSV_FILE: TextFileKind = { what: 'data file', expected: 'a CSV file with a header row', maxBytes: 512 * MB };
export const MODEL_FILE: TextFileKind = { what: 'model file', expected: 'a model.json (tfjs or Keras topology)', maxBytes: 64 * MB };

/**
 * A text file's contents, or one clear LocatedError: not found, a folder, not readable, too large, or not text
 * (NUL bytes, UTF-16, invalid UTF-8), with the line and column of the first bad byte. Never quotes the file.
 */
export function readTextFile(file: string, kind: TextFileKind): string {
  const { what, expected } = kind;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new LocatedError(`${what} ${file} not found; expected ${expected}`, file);
    if (code === 'EACCES' || code === 'EPERM') throw new LocatedError(`${what} ${file} cannot be read (permission denied)`, file);
    throw new LocatedError(`cannot read ${what} ${file}: ${code ?? (e as Error).message}`, file);
  }
  if (st.isDirectory()) throw new LocatedError(`${what} ${file} is a folder; expected ${expected}`, file);
  if (!st.isFile()) throw new LocatedError(`${what} ${file} is not a regular file (a device, pipe or socket); expected ${expected}`, file);
  if (st.size > kind.maxBytes) throw new LocatedError(`${what} ${file} is ${(st.size / MB).toFixed(0)} MB; LR Finder reads ${what}s of up to ${kind.maxBytes / MB} MB`, file);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LocatedError(`cannot read ${what} ${file}: ${code === 'EACCES' ? 'permission denied' : code ?? (e as Error).message}`, file);
  }
  return decodeText(buf, file, kind);
}

/** UTF-8 text (a BOM is kept for the parsers that skip it), or a LocatedError saying why the bytes are not text. */
export function decodeText(buf: Buffer, file: string, kind: Pick<TextFileKind, 'what' | 'expected'>): string {
  const notText = (offset: number, why: string): never => {
    const before = buf.subarray(0, offset).toString('utf8');
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    throw new LocatedError(`${file}:${line}:${column}: not a text file (${why}); expected ${kind.expected}`, file, line, column);
  };
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    throw new LocatedError(`${file}:1:1: the ${kind.what} is UTF-16 text; save it as UTF-8`, file, 1, 1);
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) notText(nul, 'it holds NUL bytes, as binary data does');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    // Where the first invalid sequence starts: the byte length of the valid prefix.
    const lossy = buf.toString('utf8');
    const bad = lossy.indexOf('\ufffd');
    notText(bad >= 0 ? Buffer.byteLength(lossy.slice(0, bad)) : 0, 'it is not valid UTF-8, as binary data is not');
    throw new Error('unreachable');
  }
  // Control characters other than tab, newline, carriage return and form feed: binary data that happens to be UTF-8.
  let controls = 0, first = -1;
  const scan = Math.min(text.length, 65536);
  for (let i = 0; i < scan; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) { controls++; if (first < 0) first = i; }
  }
  if (controls > 0 && controls * 100 > scan) notText(Buffer.byteLength(text.slice(0, first)), 'it holds control characters, as binary data does');
  return text;
}

/** A number given on the command line or in the extension's settings, checked as the schema checks the config's. */
function checkOverride(file: string, name: string, flag: string, v: number | undefined, ok: (x: number) => boolean, expected: string) {
  if (v === undefined) return;
  if (!ok(v)) throw new LocatedError(`${file}: ${name} ${v} (${flag}) is out of range; expected ${expected}`, file);
}

export function loadConfig(file: string, overrides: Overrides = {}): LoadedConfig {
  const text = readTextFile(file, CONFIG_FILE);
  const parsed = parseConfigText(file, text);
  if (!parsed.config) throw issueError(parsed.issues[0]);
  const config = parsed.config;
  const lrOk = (x: number) => Number.isFinite(x) && x >= LR_MIN && x <= LR_MAX;
  const lrRange = `an LR ${LR_RANGE}`;
  checkOverride(file, 'start LR', '--start-lr', overrides.startLr, lrOk, lrRange);
  checkOverride(file, 'end LR', '--end-lr', overrides.endLr, lrOk, lrRange);
  checkOverride(file, 'numIter', '--num-iter', overrides.numIter, (x) => Number.isInteger(x) && x >= 6 && x <= 100000, 'an integer from 6 to 100000');
  checkOverride(file, 'seed', '--seed', overrides.seed, (x) => Number.isInteger(x) && x >= 0 && x <= 4294967295, 'an integer from 0 to 4294967295');
  checkOverride(file, 'stop factor', '--stop-factor', overrides.stopFactor, (x) => Number.isFinite(x) && x > 1 && x <= 1e30, 'a number above 1 and at most 1e30');
  checkOverride(file, 'smoothing', '--smoothing', overrides.smoothing, (x) => Number.isFinite(x) && x >= 0 && x < 1, 'a number in [0, 1)');
  if (overrides.startLr !== undefined) config.sweep.startLr = overrides.startLr;
  if (overrides.endLr !== undefined) config.sweep.endLr = overrides.endLr;
  if (overrides.numIter !== undefined) config.sweep.numIter = overrides.numIter;
  if (overrides.seed !== undefined) config.seed = overrides.seed;
  if (overrides.stopFactor !== undefined) config.sweep.stopFactor = overrides.stopFactor;
  if (overrides.smoothing !== undefined) config.sweep.smoothing = overrides.smoothing;
  if (!(config.sweep.endLr > config.sweep.startLr)) throw new LocatedError(`${file}: end LR ${config.sweep.endLr} must be greater than start LR ${config.sweep.startLr}`, file);
  const pointer = (p: Path, message: string) => {
    const at = parsed.locate(p);
    return new LocatedError(`${file}:${at.line}:${at.column}: ${message}`, file, at.line, at.column);
  };
  return { file, config, parsed, pointer };
}

/** The workspace folder that contains `file`: the given root if it does, else the file's own folder. */
export function workspaceRootFor(file: string, root?: string): string {
  const abs = path.resolve(file);
  if (root && isInside(path.resolve(root), abs)) return path.resolve(root);
  return path.dirname(abs);
}

export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Resolve a path written in the config, relative to it, and refuse it if it leaves the workspace folder. */
export function resolveConfigPath(loaded: LoadedConfig, root: string, rel: string, at: Path, what: string): string {
  const abs = path.resolve(path.dirname(loaded.file), rel);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    throw loaded.pointer(at, `${what} "${rel}" does not exist (looked for ${abs})`);
  }
  const realRoot = fs.realpathSync(root);
  if (!isInside(realRoot, real)) throw loaded.pointer(at, `${what} "${rel}" resolves to ${real}, outside the workspace folder ${realRoot}; expected a file inside it`);
  const st = fs.statSync(real);
  if (st.isDirectory()) throw loaded.pointer(at, `${what} "${rel}" is a folder; expected a file`);
  if (!st.isFile()) throw loaded.pointer(at, `${what} "${rel}" is not a file`);
  return real;
}

export function loadDataset(loaded: LoadedConfig, root: string): { dataset: Dataset; csvFile: string } {
  const csvFile = resolveConfigPath(loaded, root, loaded.config.data.path, ['data', 'path'], 'data.path');
  const csv = parseCsv(readTextFile(csvFile, CSV_FILE), csvFile);
  const dataset = buildDataset(csv, loaded.config, csvFile, loaded.pointer);
  const d = loaded.config.data;
  if (dataset.nTrain < MIN_ROWS) {
    throw loaded.pointer(['data', 'validationSplit'], `data.validationSplit ${d.validationSplit} leaves ${dataset.nTrain} training row${dataset.nTrain === 1 ? '' : 's'} of ${dataset.n}; a range test needs at least ${MIN_ROWS}`);
  }
  if (loaded.config.sweep.validation && dataset.n === dataset.nTrain) {
    throw loaded.pointer(['data', 'validationSplit'], `data.validationSplit ${d.validationSplit} holds out no row of ${dataset.n}; sweep.validation needs at least one validation row`);
  }
  return { dataset, csvFile };
}
