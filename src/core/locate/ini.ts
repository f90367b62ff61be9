/**
 * INI-style configs (.ini, .cfg, .conf): `[sections]` and `key = value` / `key=value` / `key: value` lines, as
 * configparser, LightGBM (`learning_rate = 0.05`) and darknet (`[net]` `learning_rate=0.001`) read them. Comments are
 * whole lines starting with `#` or `;`, and after a value when preceded by a space (`lr = 0.1  # tuned`). An indented
 * line after a key continues its value (configparser), so such a value is not a number. A section may repeat (darknet's
 * `[convolutional]`); keys before any section are at the top. LightGBM's and XGBoost's own names for the learning rate
 * (`shrinkage_rate`, `eta`) count too. Pure.
 */
import { DECIMAL_LITERAL, lineStarts } from './candidate';
import { locateInTree, type TreeMap, type TreeScalar } from './tree';
import type { Found } from './types';

/** LightGBM's alias and XGBoost's name of the learning rate: below an explicit learning_rate. */
const GBDT_ALIASES = new Map([['shrinkage_rate', 85]]); // XGBoost's eta is an LR name everywhere (keys.ts)

/** The value of `raw` (the text after the delimiter, starting at `at`): a number, a string, or nothing. */
function scalar(raw: string, at: number): TreeScalar {
  const comment = /(^|[ \t])[#;]/.exec(raw);
  const body = comment ? raw.slice(0, comment.index) : raw;
  const lead = body.length - body.trimStart().length;
  const value = body.trim();
  const offset = at + lead;
  if (DECIMAL_LITERAL.test(value)) return { type: 'number', offset, length: value.length };
  const quoted = /^(["'])(.*)\1$/.exec(value);
  if (quoted) return { type: 'string', value: quoted[2], offset: offset + 1, length: quoted[2].length };
  return { type: 'string', value, offset, length: value.length };
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

export function parseIni(text: string): TreeMap {
  const root: TreeMap = { type: 'map', entries: [] };
  let section = root;
  const starts = lineStarts(text);
  /** The last key's value and its line's indentation, while an indented line may still continue it. */
  let open: { node: TreeScalar; indent: number } | undefined;
  for (let n = 0; n < starts.length; n++) {
    const start = starts[n];
    const end = n + 1 < starts.length ? starts[n + 1] : text.length;
    const line = text.slice(start, end).replace(/[\r\n]+$/, '').replace(/^\uFEFF/, '');
    const at = start + (text.charCodeAt(start) === 0xfeff ? 1 : 0);
    const trimmed = line.trim();
    if (trimmed === '' || trimmed[0] === '#' || trimmed[0] === ';') continue;
    if (open && indentOf(line) > open.indent) {
      open.node.type = 'other'; // a multi-line value
      continue;
    }
    open = undefined;
    const header = /^\[([^\]]*)\]/.exec(trimmed);
    if (header) {
      section = { type: 'map', entries: [] };
      root.entries.push({ key: header[1].trim(), value: section });
      continue;
    }
    const delim = /[=:]/.exec(line);
    if (!delim) continue;
    const key = line.slice(0, delim.index).trim();
    if (key === '') continue;
    const node = scalar(line.slice(delim.index + 1), at + delim.index + 1);
    section.entries.push({ key, value: node });
    open = { node, indent: indentOf(line) };
  }
  return root;
}

export function locateIni(text: string): Found[] {
  return locateInTree(text, [parseIni(text)], { keyScore: (k) => GBDT_ALIASES.get(k.toLowerCase()) });
}
