/**
 * CSV -> numeric arrays for training: feature selection, label encoding by loss, scaling, standardisation,
 * reshape and a seeded train/validation split. Pure (the engine reads the file and makes tensors).
 */
import { didYouMean, type TrainingConfig } from './config';
import { LocatedError } from '../../core/errors';
import { mulberry32, shuffleInPlace } from '../../core/random';

export interface Csv {
  header: string[];
  rows: string[][];
  /** 1-based file line of each row. */
  lines: number[];
  /** The field separator: "," or, when the header has no comma, ";" or a tab. */
  delimiter: string;
  /** Where field `field` of data row `row` (0-based) starts in the file: 1-based line and column. */
  position(row: number, field: number): { line: number; column: number };
}

/** Fewest rows a range test trains on. */
export const MIN_ROWS = 2;

/** How many problems of one kind a message lists (it also says how many there are in all). */
const LISTED = 5;

/** RFC 4180 CSV (quotes, doubled quotes, CRLF); blank lines are skipped. A header without commas may use ";" or tabs. */
export function parseCsv(text: string, file: string): Csv {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const delimiter = detectDelimiter(t);
  const records: { cells: string[]; line: number; start: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let inQuotes = false;
  let line = 1;
  let lineStart = 0;
  let recordLine = 1;
  let recordStart = 0;
  let quoteLine = 1, quoteColumn = 1;
  let sawAny = false;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (inQuotes) {
      if (ch === '"') {
        if (t[i + 1] === '"') { cell += '"'; i++; } else inQuotes = false;
      } else {
        if (ch === '\n') { line++; lineStart = i + 1; }
        cell += ch;
      }
      continue;
    }
    // A quote opens a quoted field at the start of a field (after blanks); elsewhere it is an ordinary character.
    if (ch === '"' && cell.trim() === '') { inQuotes = true; sawAny = true; cell = ''; quoteLine = line; quoteColumn = i - lineStart + 1; }
    else if (ch === delimiter) { cells.push(cell); cell = ''; sawAny = true; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && t[i + 1] === '\n') i++;
      cells.push(cell);
      if (sawAny || cells.some((c) => c !== '')) records.push({ cells, line: recordLine, start: recordStart });
      cells = []; cell = ''; sawAny = false;
      line++;
      lineStart = i + 1;
      recordLine = line;
      recordStart = i + 1;
    } else { cell += ch; sawAny = true; }
  }
  if (inQuotes) {
    throw new LocatedError(`${file}:${quoteLine}:${quoteColumn}: a quoted field starts here and is never closed (the file ends inside it); expected a closing "`, file, quoteLine, quoteColumn);
  }
  if (sawAny || cell !== '') { cells.push(cell); records.push({ cells, line: recordLine, start: recordStart }); }
  if (!records.length) throw new LocatedError(`${file} is empty; expected a header row and data rows`, file, 1, 1);
  const header = records[0].cells.map((h) => h.trim());
  const rows: string[][] = [];
  const lines: number[] = [];
  const starts: number[] = [];
  const bad = new Problems();
  for (const r of records.slice(1)) {
    if (r.cells.length !== header.length) {
      bad.add(() => ({ line: r.line, column: 1, message: `row has ${r.cells.length} field${r.cells.length === 1 ? '' : 's'}`, short: `line ${r.line} (${r.cells.length})` }));
      continue;
    }
    rows.push(r.cells);
    lines.push(r.line);
    starts.push(r.start);
  }
  const sep = delimiter === '\t' ? 'tabs' : `"${delimiter}"`;
  bad.throwIf(file, (first) => `${first}; expected ${header.length} as in the header (fields separated by ${sep})`, 'rows with another number of fields');
  if (!rows.length) throw new LocatedError(`${file}:1:1: ${file} has a header but no data rows; expected a header row and data rows`, file, 1, 1);
  const position = (row: number, field: number) => cellPosition(t, starts[row], lines[row], field, delimiter);
  return { header, rows, lines, delimiter, position };
}

/** The header's separator: a comma if it has one, else ";" or a tab if it has one of those (outside quotes). */
function detectDelimiter(t: string): string {
  const counts: Record<string, number> = { ',': 0, ';': 0, '\t': 0 };
  let inQuotes = false, sawText = false;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === '\n' || ch === '\r')) { if (sawText) break; }
    else if (!inQuotes && ch in counts) counts[ch]++;
    if (ch.trim()) sawText = true;
  }
  return counts[','] > 0 ? ',' : counts[';'] > 0 ? ';' : counts['\t'] > 0 ? '\t' : ',';
}

/** Line and column where a field of the record starting at `start` begins (re-read only for messages). */
function cellPosition(t: string, start: number, line: number, field: number, delimiter: string): { line: number; column: number } {
  let lineStart = start;
  let f = 0;
  let inQuotes = false;
  let i = start;
  for (; i < t.length && f < field; i++) {
    const ch = t[i];
    if (inQuotes) {
      if (ch === '"') { if (t[i + 1] === '"') i++; else inQuotes = false; }
      else if (ch === '\n') { line++; lineStart = i + 1; }
    } else if (ch === '"') inQuotes = true;
    else if (ch === delimiter) f++;
    else if (ch === '\n' || ch === '\r') break;
  }
  return { line, column: i - lineStart + 1 };
}

/** Problems of one kind, e.g. cells that are not numbers: the first ones with their positions, and how many in all. */
class Problems {
  readonly listed: { line: number; column: number; message: string; short: string }[] = [];
  count = 0;
  /** Count one; `describe` (its position and words) runs only for the ones listed. */
  add(describe: () => { line: number; column: number; message: string; short: string }): void {
    this.count++;
    if (this.listed.length < LISTED) this.listed.push(describe());
  }
  /** Throw the first problem (its message completed by `complete`), naming the next few and the total. */
  throwIf(file: string, complete: (first: string) => string, what: string): void {
    if (!this.count) return;
    const [first, ...rest] = this.listed;
    let message = `${file}:${first.line}:${first.column}: ${complete(first.message)}`;
    if (this.count > 1) {
      const unlisted = this.count - this.listed.length;
      message += `. Also ${rest.map((p) => p.short).join(', ')}${unlisted > 0 ? ` and ${unlisted} more` : ''}: ${this.count} ${what} in all`;
    }
    throw new LocatedError(message, file, first.line, first.column);
  }
}

function quoteCell(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

export interface Dataset {
  /** Row-major features, shape [n, ...sampleShape]. */
  x: Float32Array;
  sampleShape: number[];
  /** Targets, shape [n, ...targetShape]. */
  y: Float32Array;
  targetShape: number[];
  n: number;
  nTrain: number;
  /** Class names in label order, for classification. */
  classes?: string[];
  featureNames: string[];
}

/** Where in the config to point an error about the data (the engine maps these paths to line:column). */
export type ConfigPointer = (path: (string | number)[], message: string) => Error;

export function buildDataset(csv: Csv, cfg: TrainingConfig, csvFile: string, pointer: ConfigPointer): Dataset {
  const d = cfg.data;
  const col = (name: string, path: (string | number)[]) => {
    const i = csv.header.indexOf(name);
    if (i < 0) {
      const hint = didYouMean(name, csv.header);
      const cols = csv.header.length > 20 ? `${csv.header.slice(0, 20).join(', ')}, … (${csv.header.length} columns)` : csv.header.join(', ');
      const sep = csv.header.length === 1 && /[,;\t|]/.test(csv.header[0]) ? `; the header is one column: is the file separated by something other than "${csv.delimiter}"?` : '';
      throw pointer(path, `column "${name}" is not in ${csvFile}${hint ? `; did you mean "${hint}"?` : ''}; its columns are: ${cols}${sep}`);
    }
    return i;
  };
  const labelCol = col(d.label, ['data', 'label']);
  const featureCols = d.features ? d.features.map((f, k) => col(f, ['data', 'features', k])) : csv.header.map((_, i) => i).filter((i) => i !== labelCol);
  if (featureCols.includes(labelCol)) throw pointer(['data', 'features'], `the label column "${d.label}" is also listed as a feature`);
  const rows = d.maxRows ? csv.rows.slice(0, d.maxRows) : csv.rows;
  const n = rows.length;
  if (n < MIN_ROWS) {
    const has = `${n} data row${n === 1 ? '' : 's'}`;
    throw d.maxRows !== undefined && d.maxRows < csv.rows.length
      ? pointer(['data', 'maxRows'], `data.maxRows ${d.maxRows} keeps ${has} of ${csvFile}; a range test needs at least ${MIN_ROWS} training rows`)
      : pointer(['data', 'path'], `${csvFile} has ${has}, fewer than needed: a range test needs at least ${MIN_ROWS} training rows`);
  }
  const nf = featureCols.length;

  const x = new Float32Array(n * nf);
  const scale = d.scale ?? 1;
  const badX = new Problems();
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < nf; c++) {
      const raw = rows[r][featureCols[c]].trim();
      const v = raw === '' ? NaN : Number(raw);
      const scaled = v * scale;
      if (Number.isFinite(Math.fround(scaled))) { x[r * nf + c] = scaled; continue; }
      badX.add(() => {
        const at = csv.position(r, featureCols[c]);
        const name = csv.header[featureCols[c]];
        const why = !Number.isFinite(v) ? notNumber(raw, csv.delimiter)
          : scale !== 1 ? `times data.scale ${scale} is ${scaled}, too large for float32 (at most ±3.4e38)` : 'too large for float32 (at most ±3.4e38)';
        return { ...at, message: `row ${r + 1}, column "${name}" is ${quoteCell(raw)}: ${why}`, short: `line ${at.line} column "${name}" (${quoteCell(raw)})` };
      });
    }
  }
  badX.throwIf(csvFile, (first) => `${first}; features must be finite numbers`, 'values that are not finite numbers');
  if (d.standardize) standardize(x, n, nf);

  let sampleShape = [nf];
  if (d.reshape) {
    const size = d.reshape.reduce((a, b) => a * b, 1);
    if (size !== nf) throw pointer(['data', 'reshape'], `data.reshape [${d.reshape.join(', ')}] holds ${size} values, but each row has ${nf} features`);
    sampleShape = [...d.reshape];
  }

  const labels = rows.map((r) => r[labelCol].trim());
  let y: Float32Array;
  let targetShape: number[];
  let classes: string[] | undefined;
  const loss = cfg.loss;
  if (loss === 'meanSquaredError' || loss === 'meanAbsoluteError' || loss === 'huber') {
    y = new Float32Array(n);
    const badY = new Problems();
    labels.forEach((l, r) => {
      const v = l === '' ? NaN : Number(l);
      if (Number.isFinite(Math.fround(v))) { y[r] = v; return; }
      badY.add(() => {
        const at = csv.position(r, labelCol);
        const why = !Number.isFinite(v) ? notNumber(l, csv.delimiter) : 'too large for float32 (at most ±3.4e38)';
        return { ...at, message: `row ${r + 1}, label "${d.label}" is ${quoteCell(l)}: ${why}`, short: `line ${at.line} (${quoteCell(l)})` };
      });
    });
    badY.throwIf(csvFile, (first) => `${first}; a regression loss (${loss}) needs finite numeric targets`, 'targets that are not finite numbers');
    if (d.standardizeTarget) standardize(y, n, 1);
    targetShape = [1];
  } else {
    if (d.standardizeTarget) throw pointer(['data', 'standardizeTarget'], `data.standardizeTarget applies to regression losses; ${loss} is a classification loss`);
    classes = d.classes ? d.classes.map(String) : sortedClasses(labels);
    if (!d.classes && classes.length < 2) {
      throw pointer(['data', 'label'], `column "${d.label}" of ${csvFile} has a single class${classes.length ? ` (${quoteCell(classes[0])})` : ''}; a single class cannot be learned — expected at least 2 different labels`);
    }
    const index = new Map(classes.map((c, i) => [c, i]));
    const badLabels = new Problems();
    const ids = labels.map((l, r) => {
      const i = index.get(l) ?? (l !== '' && Number.isFinite(Number(l)) ? index.get(String(Number(l))) : undefined);
      if (i === undefined) {
        badLabels.add(() => {
          const at = csv.position(r, labelCol);
          return { ...at, message: l === '' ? `row ${r + 1}: the label "${d.label}" is empty` : `row ${r + 1}: label ${quoteCell(l)} is not in data.classes`, short: `line ${at.line} (${quoteCell(l)})` };
        });
        return 0;
      }
      return i;
    });
    if (badLabels.count) {
      if (d.classes) {
        try { badLabels.throwIf(csvFile, (first) => first, 'labels not in data.classes'); } catch (e) { throw pointer(['data', 'classes'], `${(e as Error).message}; data.classes is [${preview(classes)}]`); }
      }
      badLabels.throwIf(csvFile, (first) => `${first}; expected a class label`, 'empty labels');
    }
    if (loss === 'binaryCrossentropy') {
      if (classes.length !== 2) throw pointer(['loss'], `binaryCrossentropy needs exactly 2 classes; "${d.label}" has ${classes.length} (${preview(classes)}). Use categoricalCrossentropy or sparseCategoricalCrossentropy`);
      y = Float32Array.from(ids);
      targetShape = [1];
    } else if (loss === 'sparseCategoricalCrossentropy') {
      y = Float32Array.from(ids);
      targetShape = [1];
    } else {
      y = new Float32Array(n * classes.length);
      ids.forEach((c, r) => { y[r * classes!.length + c] = 1; });
      targetShape = [classes.length];
    }
  }

  // Seeded shuffle, then the validation rows are the tail.
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, mulberry32(cfg.seed ^ 0x5eed));
  const xs = permute(x, order, nf), ys = permute(y, order, y.length / n);
  const nVal = Math.floor(n * (d.validationSplit ?? 0));
  return { x: xs, sampleShape, y: ys, targetShape, n, nTrain: n - nVal, classes, featureNames: featureCols.map((c) => csv.header[c]) };
}

/** Why a cell is not a number, with a hint for decimal commas and infinities. */
function notNumber(raw: string, delimiter: string): string {
  if (raw === '') return 'empty; expected a number';
  if (/^[+-]?\d+,\d+$/.test(raw)) return `not a number (a decimal comma? write ${raw.replace(',', '.')}${delimiter === ';' ? '; the file is read as ";"-separated' : ''})`;
  if (/^[+-]?(inf|infinity)$/i.test(raw)) return 'infinite; expected a finite number';
  if (/^nan$/i.test(raw)) return 'NaN; expected a finite number';
  return 'not a number';
}

function sortedClasses(labels: string[]): string[] {
  const uniq = [...new Set(labels)].filter((l) => l !== '');
  const numeric = uniq.every((l) => Number.isFinite(Number(l)));
  return numeric ? uniq.map(Number).sort((a, b) => a - b).map(String) : uniq.sort();
}

function preview(xs: string[]): string {
  return xs.length > 6 ? `${xs.slice(0, 6).join(', ')}, ...` : xs.join(', ');
}

function standardize(x: Float32Array, n: number, nf: number) {
  for (let c = 0; c < nf; c++) {
    let mean = 0;
    for (let r = 0; r < n; r++) mean += x[r * nf + c];
    mean /= n;
    let v = 0;
    for (let r = 0; r < n; r++) v += (x[r * nf + c] - mean) ** 2;
    const sd = Math.sqrt(v / n) || 1;
    for (let r = 0; r < n; r++) x[r * nf + c] = (x[r * nf + c] - mean) / sd;
  }
}

function permute(a: Float32Array, order: number[], width: number): Float32Array {
  const out = new Float32Array(a.length);
  order.forEach((src, dst) => out.set(a.subarray(src * width, (src + 1) * width), dst * width));
  return out;
}
