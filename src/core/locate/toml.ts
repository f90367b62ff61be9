/**
 * TOML (.toml): a reader of our own that keeps every value's source range: tables (`[optimizer]`), arrays of tables
 * (`[[param_groups]]`), dotted keys (`optimizer.lr = 8e-4`), quoted keys, inline tables (`{ name = "AdamW", lr = 3e-4 }`),
 * arrays, the four kinds of strings (so `lr = 0.1` inside a multi-line string is never read as a key) and comments.
 * Numbers are recognised by their text: a value written as a plain decimal is a number, anything else (`+1e-3`, `inf`,
 * `0x10`, a date) is not. Style is kept because only the literal's characters are ever rewritten. A line it cannot
 * read is skipped. Pure.
 */
import { DECIMAL_LITERAL } from './candidate';
import { locateInTree, type TreeEntry, type TreeMap, type TreeNode } from './tree';
import type { Found } from './types';

const BARE_KEY = /[A-Za-z0-9_-]+/y;

class TomlReader {
  i = 0;
  constructor(readonly src: string) {
    if (src.charCodeAt(0) === 0xfeff) this.i = 1;
  }

  get c(): string | undefined { return this.src[this.i]; }

  skipSpaces(): void {
    while (this.c === ' ' || this.c === '\t') this.i++;
  }

  /** Spaces, line breaks and comments (inside arrays and inline tables). */
  skipBlank(): void {
    for (;;) {
      this.skipSpaces();
      if (this.c === '#') this.skipLine();
      else if (this.c === '\n' || this.c === '\r') this.i++;
      else return;
    }
  }

  /** To the end of the line (the line break is left for the caller). */
  skipLine(): void {
    while (this.i < this.src.length && this.c !== '\n' && this.c !== '\r') this.i++;
  }

  /** `a.b."c d"`: the parts of a dotted key, or undefined. */
  key(): string[] | undefined {
    const parts: string[] = [];
    for (;;) {
      this.skipSpaces();
      let part: string | undefined;
      if (this.c === '"' || this.c === "'") {
        const s = this.string();
        part = s?.value;
      } else {
        BARE_KEY.lastIndex = this.i;
        const m = BARE_KEY.exec(this.src);
        if (m) { part = m[0]; this.i += m[0].length; }
      }
      if (part === undefined) return undefined;
      parts.push(part);
      this.skipSpaces();
      if (this.c !== '.') return parts;
      this.i++;
    }
  }

  /** A string from its opening quote: its value, and where its characters are verbatim (no escapes) in the file. */
  string(): { value: string; offset: number; length: number } | undefined {
    const q = this.c!;
    const triple = this.src.startsWith(q + q + q, this.i);
    const open = triple ? 3 : 1;
    const start = this.i + open;
    let p = start;
    let value = '';
    let verbatim = true;
    for (;;) {
      if (p >= this.src.length) return undefined;
      const c = this.src[p];
      if (!triple && (c === '\n' || c === '\r')) return undefined;
      if (c === q && (!triple || this.src.startsWith(q + q + q, p))) {
        if (triple) while (this.src[p + 3] === q) { value += q; p++; } // """a"""" ends with a quote in the value
        break;
      }
      if (c === '\\' && q === '"') {
        verbatim = false;
        p += this.src[p + 1] === 'u' ? 6 : this.src[p + 1] === 'U' ? 10 : 2;
        continue;
      }
      value += c;
      p++;
    }
    this.i = p + open;
    return verbatim ? { value, offset: start, length: p - start } : { value, offset: -1, length: 0 };
  }

  /** A value of any kind as a tree node. */
  value(): TreeNode | undefined {
    const c = this.c;
    if (c === '"' || c === "'") {
      const s = this.string();
      if (!s) return undefined;
      return s.offset < 0 ? { type: 'string', value: s.value } : { type: 'string', ...s };
    }
    if (c === '[') return this.array();
    if (c === '{') return this.inlineTable();
    // Anything else runs to a delimiter: a number, a boolean, a date-time (which may hold a space), inf, nan.
    const start = this.i;
    while (this.i < this.src.length && !/[,\]}#\r\n]/.test(this.c!)) this.i++;
    const text = this.src.slice(start, this.i).replace(/[ \t]+$/, '');
    if (text === '') return undefined;
    return DECIMAL_LITERAL.test(text) ? { type: 'number', offset: start, length: text.length } : { type: 'other' };
  }

  array(): TreeNode | undefined {
    this.i++;
    const items: TreeNode[] = [];
    for (;;) {
      this.skipBlank();
      if (this.c === ']') { this.i++; return { type: 'seq', items }; }
      const v = this.value();
      if (!v) return undefined;
      items.push(v);
      this.skipBlank();
      if (this.c === ',') this.i++;
      else if (this.c !== ']') return undefined;
    }
  }

  inlineTable(): TreeNode | undefined {
    this.i++;
    const table: TreeMap = { type: 'map', entries: [] };
    for (;;) {
      this.skipBlank();
      if (this.c === '}') { this.i++; return table; }
      if (!this.keyValue(table)) return undefined;
      this.skipBlank();
      if (this.c === ',') this.i++;
      else if (this.c !== '}') return undefined;
    }
  }

  /** `key = value` into `table`; false when it cannot be read. */
  keyValue(table: TreeMap): boolean {
    const parts = this.key();
    if (!parts || this.c !== '=') return false;
    this.i++;
    this.skipSpaces();
    const v = this.value();
    if (!v) return false;
    const last = parts.pop()!;
    tableAt(table, parts).entries.push({ key: last, value: v });
    return true;
  }
}

/** The table at `path` below `table`, created when missing; the last table of an array of tables. */
function tableAt(table: TreeMap, path: string[]): TreeMap {
  let t = table;
  for (const part of path) {
    const e: TreeEntry | undefined = t.entries.find((x) => x.key === part && (x.value.type === 'map' || x.value.type === 'seq'));
    let next: TreeNode | undefined = e?.value;
    if (next?.type === 'seq') next = next.items[next.items.length - 1];
    if (next?.type !== 'map') {
      next = { type: 'map', entries: [] };
      t.entries.push({ key: part, value: next });
    }
    t = next;
  }
  return t;
}

/** `[a.b]` or `[[a.b]]` at the reader: the table the next key/values go into, or undefined. */
function header(r: TomlReader, root: TreeMap): TreeMap | undefined {
  const many = r.src.startsWith('[[', r.i);
  r.i += many ? 2 : 1;
  const parts = r.key();
  if (!parts || !r.src.startsWith(many ? ']]' : ']', r.i)) return undefined;
  r.i += many ? 2 : 1;
  if (!many) return tableAt(root, parts);
  const last = parts.pop()!;
  const parent = tableAt(root, parts);
  let seq = parent.entries.find((x) => x.key === last && x.value.type === 'seq')?.value;
  if (seq?.type !== 'seq') {
    seq = { type: 'seq', items: [] };
    parent.entries.push({ key: last, value: seq });
  }
  const table: TreeMap = { type: 'map', entries: [] };
  seq.items.push(table);
  return table;
}

/** The document as a tree: the root table with every table, array of tables and key under it. */
export function parseToml(text: string): TreeMap {
  const r = new TomlReader(text);
  const root: TreeMap = { type: 'map', entries: [] };
  let current = root;
  for (;;) {
    r.skipBlank();
    if (r.i >= text.length) return root;
    let ok: boolean;
    if (r.c === '[') {
      const table = header(r, root);
      ok = table !== undefined;
      current = table ?? { type: 'map', entries: [] }; // the keys of a table we cannot name are nobody's
    } else {
      ok = r.keyValue(current);
    }
    r.skipSpaces();
    // A comment ends the line; anything else after a value means we did not read the line right: skip it.
    if (!ok || r.c === '#' || (r.c !== undefined && r.c !== '\n' && r.c !== '\r')) r.skipLine();
  }
}

export function locateToml(text: string): Found[] {
  return locateInTree(text, [parseToml(text)]);
}
