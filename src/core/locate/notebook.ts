/**
 * Jupyter notebooks (.ipynb): the LR literals of the code cells, read as Python (fastai's `learn.fit_one_cycle(5,
 * 1e-3)`, `lr_max=slice(1e-5, 1e-3)`, Keras' `Adam(1e-3)`, `lr=1e-3`...); never a markdown or raw cell, an output or a
 * comment. IPython's line magics and shell lines (`%matplotlib inline`, `!pip install fastai`) are blanked before
 * reading, and a cell whose cell magic runs something else than Python (`%%bash`) is skipped. A notebook whose kernel is
 * not Python has no candidates.
 *
 * A literal carries `cell` (the 0-based index into `cells`) and its line/column/context within the cell's source; its
 * offset is in the JSON text of the file: each `source` string is decoded with the position of every character, and
 * the number's characters (digits, `.`, `e`, sign: never escaped in JSON) are where they are in the file. So
 * applyLearningRate edits the file in place and every other byte stays as it was. Pure.
 */
import type { Node as JsonNode } from 'jsonc-parser';
import { toLiterals } from './candidate';
import { locateInTokens } from './code';
import { parseJson, withoutBom } from './json';
import { tokenizePython } from './python';
import type { Tok } from './tokens';
import type { LrLiteral } from './types';

/** Cell magics whose body is Python. */
const PYTHON_CELL_MAGICS = new Set(['time', 'timeit', 'capture', 'prun', 'debug', 'writefile']);

const JSON_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' };

function property(node: JsonNode | undefined, key: string): JsonNode | undefined {
  if (node?.type !== 'object') return undefined;
  for (const prop of node.children ?? []) {
    const [k, v] = prop.children ?? [];
    if (k?.value === key) return v;
  }
  return undefined;
}

/** A JSON string's value, and the file offset of each of its UTF-16 units (of its escape, for an escaped one). */
function decodeString(src: string, node: JsonNode): { value: string; at: number[] } | undefined {
  if (node.type !== 'string') return undefined;
  let value = '';
  const at: number[] = [];
  const end = node.offset + node.length - 1;
  for (let p = node.offset + 1; p < end;) {
    at.push(p);
    if (src[p] !== '\\') { value += src[p++]; continue; }
    const e = src[p + 1];
    if (e === 'u') { value += String.fromCharCode(parseInt(src.slice(p + 2, p + 6), 16)); p += 6; continue; }
    value += JSON_ESCAPES[e] ?? e;
    p += 2;
  }
  return value === node.value ? { value, at } : undefined;
}

/** A code cell's source (a string or a list of strings) with the file offset of each character. */
function cellSource(src: string, source: JsonNode | undefined): { text: string; at: number[] } | undefined {
  const parts = source?.type === 'array' ? source.children ?? [] : source ? [source] : [];
  let text = '';
  const at: number[] = [];
  for (const part of parts) {
    const d = decodeString(src, part);
    if (!d) return undefined;
    text += d.value;
    for (const o of d.at) at.push(o);
  }
  return { text, at };
}

/** The cell's text as Python: magic and shell lines blanked (offsets kept); undefined for a non-Python cell magic. */
function asPython(source: string): string | undefined {
  const magic = /^\s*%%(\w+)(.*)/.exec(source);
  if (magic && !(PYTHON_CELL_MAGICS.has(magic[1]) && (magic[1] !== 'writefile' || /\.pyw?\s*$/.test(magic[2])))) return undefined;
  return source.replace(/^[ \t]*[%!].*$/gm, (line) => ' '.repeat(line.length));
}

function isPythonNotebook(root: JsonNode | undefined): boolean {
  const metadata = property(root, 'metadata');
  const language = property(property(metadata, 'kernelspec'), 'language')?.value ?? property(property(metadata, 'language_info'), 'name')?.value;
  return typeof language !== 'string' || language.toLowerCase() === 'python';
}

/** The literals of one code cell's source read on its own (no other cell with it), offsets into `source`. */
export function locateInNotebookCell(source: string, cell: number): LrLiteral[] {
  return locateInNotebookCells([{ cell, source }]);
}

/**
 * The literals of a notebook's code cells read as one program, as the kernel runs them: a cell's call of a function
 * defined in an earlier cell, or the fit after an lr_find() in the cell before, is understood. `cells` are the code
 * cells in notebook order (`cell`: the index into the notebook's cells); offsets are into each cell's `source`: what the
 * editor of a notebook opened in VS Code uses, whose cells are documents of their own. In file order.
 */
export function locateInNotebookCells(cells: ReadonlyArray<{ cell: number; source: string }>): LrLiteral[] {
  // Each cell's tokens keep offsets of their own (shifted by the cell's base), and its brackets end with it.
  const code: Array<{ cell: number; source: string; base: number }> = [];
  const toks: Tok[] = [];
  const resets = new Set<number>();
  let base = 0;
  for (const { cell, source } of cells) {
    const python = asPython(source);
    if (python === undefined) continue;
    code.push({ cell, source, base });
    resets.add(toks.length);
    for (const t of tokenizePython(python)) toks.push({ ...t, start: t.start + base, end: t.end + base });
    if (toks.length && toks[toks.length - 1].type !== 'newline') toks.push({ type: 'newline', start: base + python.length, end: base + python.length, value: '' });
    base += python.length + 1;
  }
  const found = locateInTokens(toks, 'python', resets);
  const out: LrLiteral[] = [];
  for (let c = 0; c < code.length; c++) {
    const { cell, source, base: from } = code[c];
    const to = c + 1 < code.length ? code[c + 1].base : Infinity;
    const mine = found.filter((f) => f.offset >= from && f.offset < to).map((f) => ({ ...f, offset: f.offset - from }));
    for (const l of toLiterals(source, 'ipynb', mine)) out.push({ ...l, cell });
  }
  return out;
}

/** Every literal of the notebook's code cells, in file order, with offsets into the .ipynb text. */
export function locateNotebook(text: string): LrLiteral[] {
  const src = withoutBom(text);
  const root = parseJson(text);
  const cells = property(root, 'cells');
  if (cells?.type !== 'array' || !isPythonNotebook(root)) return [];
  const sources = new Map<number, { text: string; at: number[] }>();
  (cells.children ?? []).forEach((cell, index) => {
    if (property(cell, 'cell_type')?.value !== 'code') return;
    const source = cellSource(src, property(cell, 'source'));
    if (source) sources.set(index, source);
  });
  const out: LrLiteral[] = [];
  for (const l of locateInNotebookCells([...sources].map(([cell, source]) => ({ cell, source: source.text })))) {
    const source = sources.get(l.cell!)!;
    const start = source.at[l.offset];
    // The number's characters must be contiguous in the file (never split across two strings of the list).
    if (source.at[l.offset + l.length - 1] !== start + l.length - 1 || text.slice(start, start + l.length) !== l.text) continue;
    out.push({ ...l, offset: start });
  }
  return out;
}
