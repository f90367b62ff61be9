/**
 * Reading a config from disk: parse and validate it, resolve the paths it names (refusing any that leave the
 * workspace folder), read the CSV and build the dataset. Errors are LocatedErrors naming file:line:column.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatIssue, parseConfigText, type ConfigIssue, type ParsedConfig, type Path, type TrainingConfig } from './config';
import { buildDataset, parseCsv, type Dataset } from './dataset';
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

export function loadConfig(file: string, overrides: Overrides = {}): LoadedConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new LocatedError(`cannot read config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  const parsed = parseConfigText(file, text);
  if (!parsed.config) throw issueError(parsed.issues[0]);
  const config = parsed.config;
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
  if (!fs.statSync(real).isFile()) throw loaded.pointer(at, `${what} "${rel}" is not a file`);
  return real;
}

export function loadDataset(loaded: LoadedConfig, root: string): { dataset: Dataset; csvFile: string } {
  const csvFile = resolveConfigPath(loaded, root, loaded.config.data.path, ['data', 'path'], 'data.path');
  const csv = parseCsv(fs.readFileSync(csvFile, 'utf8'), csvFile);
  const dataset = buildDataset(csv, loaded.config, csvFile, loaded.pointer);
  if (dataset.nTrain < 1) throw loaded.pointer(['data', 'validationSplit'], 'no training rows are left after the validation split');
  return { dataset, csvFile };
}
