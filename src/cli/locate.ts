/**
 * `lr-finder locate FILE [--json]` and `lr-finder apply FILE LR [--cell C] [--line N] [--column K]`: the CLI shell
 * around src/core/locate.
 *
 * Both take the arguments after the subcommand, and two line printers: `out` for results (stdout) and `err` for
 * diagnostics (stderr; defaults to process.stderr). Each call prints one line (or one multi-line block) without the
 * trailing newline. They never throw: they return the exit code.
 *
 *   locate  0 found (recommended first), 1 none found, 2 usage error / unreadable or unsupported file.
 *           Human output: one line per literal, `LINE:COL  KEY  TEXT` (a notebook's start with `cell C`); with --json a
 *           JSON array of {"file","line","column","key","text","value"} (1-based; a notebook's also have "cell", the
 *           0-based index into its cells, and their line and column are in that cell's source; `[]` when none found).
 *   apply   0 written (prints `FILE:LINE:COL key: OLD -> NEW`, for a notebook `FILE cell C LINE:COL key: ...`), 1 no
 *           literal in the file, 2 usage error, a bad LR (not a positive finite number), a --cell/--line/--column with
 *           no literal there (the message names where there are some), an unreadable or unsupported file, or a failed
 *           write. --cell (notebooks only) narrows to a cell, --line to a line (of that cell, in a notebook: --line
 *           needs --cell there), --column (needs --line) to the literal at or around that column, for two on one line
 *           (`slice(1e-6, 1e-4)`). The recommended one of what is left is rewritten; when several are left, stderr
 *           says which and how to pick another. The file is written atomically: a temporary file in the same
 *           directory, with the original's permission bits, renamed over the original (the real file when FILE is a
 *           symlink). Only the literal's bytes change (in a notebook, the number's characters inside the JSON string of
 *           the cell's source); a file that is not valid UTF-8 is refused.
 */
import { constants as fsConstants, promises as fsp } from 'fs';
import * as path from 'path';
import { applyLearningRate, languageOf, locateLearningRates, type LrLiteral } from '../core/locate';
import { formatLr } from '../core/format';

type Printer = (s: string) => void;

const LOCATE_USAGE = 'usage: lr-finder locate FILE [--json]';
const APPLY_USAGE = 'usage: lr-finder apply FILE LR [--cell C] [--line N] [--column K]';
const SUPPORTED = '.py, .ipynb, .yaml/.yml, .json/.jsonc, .toml, .ini/.cfg/.conf, .gin, .js/.mjs/.cjs/.ts/.mts/.cts/.jsx/.tsx';

const stderr: Printer = (s) => { process.stderr.write(s + '\n'); };

interface Parsed { positionals: string[]; flags: Map<string, string | true> }

/** Tiny parser: --flag, --flag=value, --valued value, `--` ends options. Returns an error message on bad input. */
function parse(args: string[], valued: string[], booleans: string[]): Parsed | string {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') { positionals.push(...args.slice(i + 1)); break; }
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    if (booleans.includes(name)) {
      if (inline !== undefined) return `${name} takes no value`;
      flags.set(name, true);
    } else if (valued.includes(name)) {
      const v = inline ?? args[++i];
      if (v === undefined) return `${name} needs a value`;
      flags.set(name, v);
    } else {
      return `unknown option ${name}`;
    }
  }
  return { positionals, flags };
}

function isHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** Read a file as text that can be written back byte for byte; an error message naming the file otherwise. */
async function readText(file: string): Promise<{ text: string } | { error: string }> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    return { error: `cannot read ${file}: ${why}` };
  }
  try {
    // fatal: invalid UTF-8 could not be written back unchanged; ignoreBOM: keep a BOM as U+FEFF in the text.
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)) };
  } catch {
    return { error: `cannot read ${file}: not valid UTF-8 text` };
  }
}

function unsupported(file: string): string | undefined {
  return languageOf(file) ? undefined : `${file}: unsupported file type "${path.extname(file) || '(none)'}" (supported: ${SUPPORTED})`;
}

/** Where a literal is, as the messages say it: `16:53`, in a notebook `cell 7 2:43`. */
function where(c: LrLiteral): string {
  return `${c.cell === undefined ? '' : `cell ${c.cell} `}${c.line}:${c.column}`;
}

function table(list: LrLiteral[]): string[] {
  const cells = list.map((c) => (c.cell === undefined ? '' : `cell ${c.cell}`));
  const wCell = Math.max(...cells.map((s) => s.length));
  const pos = list.map((c, i) => `${cells[i].padEnd(wCell)}${wCell ? '  ' : ''}${c.line}:${c.column}`);
  const wPos = Math.max(...pos.map((s) => s.length));
  const wKey = Math.max(...list.map((c) => c.key.length));
  return list.map((c, i) => `  ${pos[i].padEnd(wPos)}  ${c.key.padEnd(wKey)}  ${c.text}${productNote(c)}${i === 0 && list.length > 1 ? '  (recommended)' : ''}`);
}

/** What the rest of a product does to the literal: ` (x 2 = 1e-3)`, ` (times names: the base LR)`. */
function productNote(c: LrLiteral): string {
  if (c.factor) return `  (x ${formatLr(c.factor, 6)} = ${formatLr(c.value, 6)}: apply writes it so the product is the LR)`;
  return c.product ? '  (the first number of a product with names: written as given)' : '';
}

export async function locateCommand(args: string[], out: Printer, err: Printer = stderr): Promise<number> {
  try {
    if (isHelp(args)) { out(LOCATE_USAGE); return 0; }
    const p = parse(args, [], ['--json']);
    if (typeof p === 'string') { err(`lr-finder locate: ${p}\n${LOCATE_USAGE}`); return 2; }
    if (p.positionals.length !== 1) {
      err(`lr-finder locate: ${p.positionals.length === 0 ? 'missing FILE' : `expected one FILE, got ${p.positionals.length} arguments`}\n${LOCATE_USAGE}`);
      return 2;
    }
    const file = p.positionals[0];
    const json = p.flags.has('--json');
    const bad = unsupported(file);
    if (bad) { err(`lr-finder locate: ${bad}`); return 2; }
    const r = await readText(file);
    if ('error' in r) { err(`lr-finder locate: ${r.error}`); return 2; }
    const list = locateLearningRates(file, r.text);
    if (json) {
      out(JSON.stringify(list.map((c) => ({
        file, cell: c.cell, line: c.line, column: c.column, key: c.key, text: c.text, value: c.value,
        ...(c.factor ? { factor: c.factor } : {}), ...(c.product ? { product: true } : {}),
      })), null, 2));
    }
    if (list.length === 0) {
      err(`lr-finder locate: no learning-rate literal found in ${file} (looked for numbers assigned to lr, learning_rate, learningRate, max_lr, ...)`);
      return 1;
    }
    if (!json) {
      out(`${file}: ${list.length} learning-rate literal${list.length === 1 ? '' : 's'}${list.length > 1 ? ', recommended first' : ''}`);
      for (const line of table(list)) out(line);
    }
    return 0;
  } catch (e) {
    err(`lr-finder locate: ${(e as Error)?.message ?? e}`);
    return 2;
  }
}

/** A positive finite number as a user types it: 3e-4, 0.0003, .0003, 1E-3 (no hex, no Infinity, no sign). */
function parseLr(s: string): number | undefined {
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(s.trim())) return undefined;
  const x = Number(s);
  return Number.isFinite(x) && x > 0 ? x : undefined;
}

/** Replace the file's content atomically: temp file in the same directory with the same mode, then rename. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const real = await fsp.realpath(file);
  const st = await fsp.stat(real);
  const mode = st.mode & 0o7777;
  // Renaming over a read-only file would succeed; refuse as an editor would (root included: no write bit at all).
  if ((mode & 0o222) === 0) throw Object.assign(new Error('read-only file'), { code: 'EACCES' });
  await fsp.access(real, fsConstants.W_OK);
  const tmp = path.join(path.dirname(real), `.${path.basename(real)}.lr-finder-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  let fh: Awaited<ReturnType<typeof fsp.open>> | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', mode);
    await fh.writeFile(text, 'utf8');
    await fh.chmod(mode); // the umask may have narrowed it
    await fh.chown(st.uid, st.gid).catch(() => undefined); // keeps the owner when we may (root); harmless otherwise
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, real);
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
}

function listOf(values: number[]): string {
  return [...new Set(values)].sort((a, b) => a - b).join(', ');
}

/** A whole-number flag: undefined when absent, NaN when it is not a number of at least `min`. */
function intFlag(p: Parsed, name: string, min: number): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return n >= min ? n : NaN;
}

interface Picked { target: LrLiteral; note?: string }

/**
 * The literal --cell/--line/--column point at (each narrows what the one before left), the recommended one of what is
 * left; an error message when they point at nothing.
 */
function pick(file: string, list: LrLiteral[], cell: number | undefined, line: number | undefined, column: number | undefined): Picked | string {
  const notebook = list[0].cell !== undefined;
  let pool = list;
  let scope = `in ${file}`;
  if (cell !== undefined) {
    pool = pool.filter((c) => c.cell === cell);
    if (pool.length === 0) {
      const cells = list.map((c) => c.cell!);
      return `no learning-rate literal in cell ${cell} of ${file}; ${new Set(cells).size === 1 ? 'the only cell with one is' : 'there are some in cells'} ${listOf(cells)}`;
    }
    scope = `in cell ${cell} of ${file}`;
  }
  if (line !== undefined) {
    const onLine = pool.filter((c) => c.line === line);
    if (onLine.length === 0) {
      return `no learning-rate literal on line ${line} ${scope.replace(/^in /, 'of ')}; ${pool.length === 1 ? 'the only one is on line' : 'there are some on lines'} ${listOf(pool.map((c) => c.line))}`;
    }
    pool = onLine;
    scope = `on line ${line} ${scope.replace(/^in /, 'of ')}`;
  }
  if (column !== undefined) {
    const at = pool.filter((c) => column >= c.column && column < c.column + c.length);
    if (at.length === 0) return `no learning-rate literal at column ${column} ${scope.replace(/^on /, 'of ')}; ${pool.length === 1 ? 'the only one is at column' : 'there are some at columns'} ${listOf(pool.map((c) => c.column))}`;
    pool = at;
  }
  const target = pool[0];
  if (pool.length === 1) return { target };
  const others = pool.slice(1).map((c) => `${where(c)} ${c.key}`).join(', ');
  const hint = line !== undefined ? '--column K' : cell !== undefined ? '--line N' : notebook ? '--cell C --line N' : '--line N';
  const which = line !== undefined ? `column ${target.column}` : notebook && cell === undefined ? `cell ${target.cell} line ${target.line}` : `line ${target.line}`;
  return {
    target,
    note: `lr-finder apply: ${pool.length} learning-rate literals ${scope}; rewrote the recommended one (${which}, ${target.key}); others: ${others}; pick one with ${hint}`,
  };
}

export async function applyCommand(args: string[], out: Printer, err: Printer = stderr): Promise<number> {
  try {
    if (isHelp(args)) { out(APPLY_USAGE); return 0; }
    const p = parse(args, ['--line', '--column', '--cell'], []);
    if (typeof p === 'string') { err(`lr-finder apply: ${p}\n${APPLY_USAGE}`); return 2; }
    if (p.positionals.length !== 2) {
      const what = p.positionals.length === 0 ? 'missing FILE and LR' : p.positionals.length === 1 ? 'missing LR' : `expected FILE and LR, got ${p.positionals.length} arguments`;
      err(`lr-finder apply: ${what}\n${APPLY_USAGE}`);
      return 2;
    }
    const [file, lrText] = p.positionals;
    const lr = parseLr(lrText);
    if (lr === undefined) { err(`lr-finder apply: LR is "${lrText}"; expected a positive finite number such as 3e-4 or 0.0003`); return 2; }
    const line = intFlag(p, '--line', 1);
    const column = intFlag(p, '--column', 1);
    const cell = intFlag(p, '--cell', 0);
    const bad = [
      Number.isNaN(line) && `--line is "${String(p.flags.get('--line'))}"; expected a line number (1, 2, ...)`,
      Number.isNaN(column) && `--column is "${String(p.flags.get('--column'))}"; expected a column number (1, 2, ...)`,
      Number.isNaN(cell) && `--cell is "${String(p.flags.get('--cell'))}"; expected a cell index (0, 1, ..., as locate shows it)`,
      column !== undefined && line === undefined && '--column needs --line',
      unsupported(file),
      cell !== undefined && languageOf(file) !== 'ipynb' && `--cell is for notebooks (.ipynb); ${file} has no cells`,
      line !== undefined && cell === undefined && languageOf(file) === 'ipynb' && `in a notebook --line needs --cell C (the cell's index, as locate shows it)`,
    ].find((m): m is string => typeof m === 'string');
    if (bad) { err(`lr-finder apply: ${bad}`); return 2; }
    const r = await readText(file);
    if ('error' in r) { err(`lr-finder apply: ${r.error}`); return 2; }
    const list = locateLearningRates(file, r.text);
    if (list.length === 0) { err(`lr-finder apply: no learning-rate literal found in ${file}; nothing changed`); return 1; }
    const picked = pick(file, list, cell, line, column);
    if (typeof picked === 'string') { err(`lr-finder apply: ${picked}`); return 2; }
    const { target, note } = picked;
    const edit = applyLearningRate(r.text, target, lr);
    if (edit.text !== r.text) {
      try {
        await writeAtomically(file, edit.text);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (e as Error)?.message ?? String(e);
        err(`lr-finder apply: cannot write ${file}: ${why}; nothing changed`);
        return 2;
      }
    }
    if (note) err(note);
    const at = target.cell === undefined ? `${file}:${target.line}:${target.column}` : `${file} cell ${target.cell} ${target.line}:${target.column}`;
    out(`${at} ${target.key}: ${target.text} -> ${edit.replacement}${target.factor ? ` (x ${formatLr(target.factor, 6)} = ${formatLr(lr, 6)})` : ''}${edit.text === r.text ? ' (unchanged)' : ''}`);
    return 0;
  } catch (e) {
    err(`lr-finder apply: ${(e as Error)?.message ?? e}`);
    return 2;
  }
}
