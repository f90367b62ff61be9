/**
 * One walker for every language that is a tree of keyed values: YAML, JSON, TOML, INI and gin each turn their parse
 * into these nodes (keeping each scalar's source range) and the walker finds the candidates. Pure.
 *
 * A candidate is a number that is the whole value of an LR-named key (see keys.ts), or the number of a schedule string
 * under such a key (`learning_rate: lin_7e-4`, rl-baselines3-zoo's linear schedule: only the number is rewritten).
 * The key is the dotted path (`optimizer.lr`, `param_groups[0].lr`). Context for the score: the keys above it, and
 * what a map says it is (`{type: SGD, lr: 0.02}`, `{class_path: torch.optim.AdamW, ...}`, `{optim: adamw_torch, ...}`).
 */
import { literalValue } from './candidate';
import { contextScore, learningRateKeyScore } from './keys';
import type { Found } from './types';

export type TreeNode = TreeMap | TreeSeq | TreeScalar;

export interface TreeMap {
  type: 'map';
  entries: TreeEntry[];
}

export interface TreeEntry {
  key: string;
  value: TreeNode;
}

export interface TreeSeq {
  type: 'seq';
  items: TreeNode[];
}

export interface TreeScalar {
  /** number: written as a bare number (not quoted, not tagged as a string); string: a string value; other: anything else. */
  type: 'number' | 'string' | 'other';
  /** number: the range of its text. string: where its characters appear verbatim in the file, when they do. */
  offset?: number;
  length?: number;
  /** string: the value. */
  value?: string;
}

export interface TreeOptions {
  /** A language's own LR names on top of learningRateKeyScore (LightGBM's `shrinkage_rate`, XGBoost's `eta`). */
  keyScore?: (key: string) => number | undefined;
}

/** `lin_7e-4`, `lin_0.001` (rl-baselines3-zoo), `linear_3e-4`: a schedule's initial value after its name. */
const SCHEDULE_STRING = /^(?:lin|linear)_(\S+)$/;

/** What a map says it is: `optimizer: adam`, `type: SGD`, `name: AdamW`, `class_path: ...`, `_target_: ...`. */
function selfLabels(map: TreeMap): string[] {
  const self: string[] = [];
  for (const { key, value } of map.entries) {
    if (value.type !== 'string' || value.value === undefined) continue;
    if (/^(optimizer|optim)$/i.test(key)) self.push(key); // {optim: adamw_torch, learning_rate: 5e-5}
    else if (/^(type|name|class_?path|_target_|class_?name)$/i.test(key)) self.push(value.value);
  }
  return self;
}

/** The range of the LR number of a scalar: the whole bare number, or the number of a schedule string. */
function numberRange(text: string, node: TreeScalar): [number, number] | undefined {
  if (node.offset === undefined || node.length === undefined) return undefined;
  if (node.type === 'number') {
    return literalValue(text.slice(node.offset, node.offset + node.length)) === undefined ? undefined : [node.offset, node.length];
  }
  if (node.type !== 'string' || node.value === undefined || text.slice(node.offset, node.offset + node.length) !== node.value) return undefined;
  const m = SCHEDULE_STRING.exec(node.value);
  if (!m || literalValue(m[1]) === undefined) return undefined;
  return [node.offset + node.value.length - m[1].length, m[1].length];
}

/** Every candidate in the trees (a YAML stream has several documents), with dotted keys from the roots. */
export function locateInTree(text: string, roots: Array<TreeNode | undefined>, options: TreeOptions = {}): Found[] {
  const found: Found[] = [];
  const keyScore = (key: string): number | undefined => learningRateKeyScore(key) ?? options.keyScore?.(key);
  const walk = (node: TreeNode | undefined, path: string, labels: string[]): void => {
    if (node?.type === 'seq') {
      node.items.forEach((item, i) => walk(item, `${path}[${i}]`, labels));
      return;
    }
    if (node?.type !== 'map') return;
    const self = selfLabels(node);
    for (const { key, value } of node.entries) {
      const here = path ? `${path}.${key}` : key;
      const only = value.type === 'seq' && value.items.length === 1 && value.items[0].type !== 'map' && value.items[0].type !== 'seq' ? value.items[0] : undefined;
      if ((value.type === 'map' || value.type === 'seq') && !only) {
        walk(value, here, [...labels, ...self, key]);
        continue;
      }
      // `lr: [0.0005]` (fairseq: one LR per phase of its schedule, usually one): the list's one number.
      const scalar = only ?? (value as TreeScalar);
      const base = keyScore(key);
      const range = base === undefined ? undefined : numberRange(text, scalar);
      if (base !== undefined && range) found.push({ offset: range[0], length: range[1], key: only ? `${here}[0]` : here, score: base + contextScore([...labels, ...self]) });
    }
  };
  for (const root of roots) walk(root, '', []);
  return found;
}
