/**
 * CSV -> numeric arrays for training: feature selection, label encoding by loss, scaling, standardisation,
 * reshape and a seeded train/validation split. Pure (the engine reads the file and makes tensors).
 */
import type { TrainingConfig } from './config';
import { LocatedError } from '../../core/errors';
import { mulberry32, shuffleInPlace } from '../../core/random';

export interface Csv {
  header: string[];
  rows: string[][];
  /** 1-based file line of each row. */
  lines: number[];
}

/** RFC 4180 CSV (quotes, doubled quotes, CRLF); blank lines are skipped. */
export function parseCsv(text: string, file: string): Csv {
  const records: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let sawAny = false;
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (inQuotes) {
      if (ch === '"') {
        if (t[i + 1] === '"') { cell += '"'; i++; } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"') { inQuotes = true; sawAny = true; }
    else if (ch === ',') { cells.push(cell); cell = ''; sawAny = true; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && t[i + 1] === '\n') i++;
      cells.push(cell);
      if (sawAny || cells.some((c) => c !== '')) records.push({ cells, line: recordLine });
      cells = []; cell = ''; sawAny = false;
      line++;
      recordLine = line;
    } else { cell += ch; sawAny = true; }
  }
  if (inQuotes) throw new LocatedError(`${file}:${recordLine}: unterminated quoted field`, file, recordLine, 1);
  if (sawAny || cell !== '') { cells.push(cell); records.push({ cells, line: recordLine }); }
  if (!records.length) throw new LocatedError(`${file} is empty; expected a header row and data rows`, file, 1, 1);
  const header = records[0].cells.map((h) => h.trim());
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const r of records.slice(1)) {
    if (r.cells.length !== header.length) {
      throw new LocatedError(`${file}:${r.line}: row has ${r.cells.length} fields; expected ${header.length} as in the header`, file, r.line, 1);
    }
    rows.push(r.cells);
    lines.push(r.line);
  }
  if (!rows.length) throw new LocatedError(`${file} has a header but no data rows`, file, 1, 1);
  return { header, rows, lines };
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
    if (i < 0) throw pointer(path, `column "${name}" is not in ${csvFile}; its columns are: ${csv.header.join(', ')}`);
    return i;
  };
  const labelCol = col(d.label, ['data', 'label']);
  const featureCols = d.features ? d.features.map((f, k) => col(f, ['data', 'features', k])) : csv.header.map((_, i) => i).filter((i) => i !== labelCol);
  if (featureCols.includes(labelCol)) throw pointer(['data', 'features'], `the label column "${d.label}" is also listed as a feature`);
  const rows = d.maxRows ? csv.rows.slice(0, d.maxRows) : csv.rows;
  const n = rows.length;
  const nf = featureCols.length;

  const x = new Float32Array(n * nf);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < nf; c++) {
      const raw = rows[r][featureCols[c]].trim();
      const v = raw === '' ? NaN : Number(raw);
      if (!Number.isFinite(v)) {
        throw new LocatedError(`${csvFile}:${csv.lines[r]}: column "${csv.header[featureCols[c]]}" is ${JSON.stringify(raw)}; expected a number (features must be numeric)`, csvFile, csv.lines[r], 1);
      }
      x[r * nf + c] = v * (d.scale ?? 1);
    }
  }
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
    labels.forEach((l, r) => {
      const v = Number(l);
      if (l === '' || !Number.isFinite(v)) throw new LocatedError(`${csvFile}:${csv.lines[r]}: label "${d.label}" is ${JSON.stringify(l)}; a regression loss (${loss}) needs numeric targets`, csvFile, csv.lines[r], 1);
      y[r] = v;
    });
    if (d.standardizeTarget) standardize(y, n, 1);
    targetShape = [1];
  } else {
    if (d.standardizeTarget) throw pointer(['data', 'standardizeTarget'], `data.standardizeTarget applies to regression losses; ${loss} is a classification loss`);
    classes = d.classes ? d.classes.map(String) : sortedClasses(labels);
    const index = new Map(classes.map((c, i) => [c, i]));
    const ids = labels.map((l, r) => {
      const i = index.get(l) ?? (Number.isFinite(Number(l)) ? index.get(String(Number(l))) : undefined);
      if (i === undefined) {
        throw d.classes ? pointer(['data', 'classes'], `${csvFile}:${csv.lines[r]} has label ${JSON.stringify(l)}, which is not in data.classes`)
          : new LocatedError(`${csvFile}:${csv.lines[r]}: empty label`, csvFile, csv.lines[r], 1);
      }
      return i;
    });
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
