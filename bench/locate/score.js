#!/usr/bin/env node
'use strict';
/**
 * Scores `lr-finder locate` / `lr-finder apply` on the held-out corpus of real public training files in
 * bench/locate/files (manifest: files.json; notebooks: notebooks.json, same shape plus expect.cell).
 *
 *   node bench/locate/score.js [--only SUBSTRING] [--json OUT.json] [--verbose]
 *
 * Per entry:
 *   found first   the first candidate is at expect (line, column and, for a notebook, cell) or at one of the
 *                 entry's `accept` positions (for files with two equally right literals). For `expect: null` (a file
 *                 with no LR literal) it means: no candidate at all.
 *   found at all  some candidate is at expect/accept (for `expect: null`: no candidate).
 *   comment/string  every candidate is checked against the file's own lexical structure: the literal must not
 *                 start inside a comment or a string literal (Python: the tokenize module of /usr/bin/python3;
 *                 notebooks: the same on each code cell, any hit in a markdown/raw cell counts; other languages: a
 *                 small scanner of their comment and quote syntax).
 *   apply         the file is copied to a temporary folder and `apply COPY 0.0123 --line N --column K [--cell C]` is run
 *                 at the expected position; the result must equal the original byte for byte before and after the
 *                 literal, and the replacement must be a plain number literal equal to 0.0123.
 * Exit code: 0 (a measurement, not a gate).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const CLI = path.join(ROOT, 'bin', 'lr-finder.js');
const NEW_LR = 0.0123;
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// ---------------------------------------------------------------------------------------------------------------
// arguments
const argv = process.argv.slice(2);
let only = null;
let jsonOut = null;
let verbose = false;
let set = 'design';
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--only') only = argv[++i];
  else if (argv[i] === '--set') set = argv[++i];
  else if (argv[i] === '--json') jsonOut = argv[++i];
  else if (argv[i] === '--verbose') verbose = true;
  else { console.error(`unknown argument ${argv[i]}\nusage: node bench/locate/score.js [--set design|holdout|all] [--only SUBSTRING] [--json OUT.json] [--verbose]`); process.exit(2); }
}
if (!['design', 'holdout', 'all'].includes(set)) { console.error(`--set is ${set}; expected design, holdout or all`); process.exit(2); }
/** The design corpus (the locator was tuned on it) and the held-out one (scored once the locator was frozen). */
const MANIFESTS = { design: ['files.json', 'notebooks.json'], holdout: ['holdout/files.json', 'holdout/notebooks.json'] };

function loadManifest(name) {
  const p = path.join(HERE, name);
  if (!fs.existsSync(p)) return [];
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

// ---------------------------------------------------------------------------------------------------------------
// running the CLI
function runCli(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout || '', stderr: r.stderr || '' };
}

function locate(file) {
  const r = runCli(['locate', file, '--json']);
  let cands = null;
  try { cands = JSON.parse(r.stdout); } catch { /* reported below */ }
  if (!Array.isArray(cands)) return { error: `locate exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`, cands: [] };
  return { cands, code: r.code };
}

// ---------------------------------------------------------------------------------------------------------------
// positions
const isNotebook = (f) => f.endsWith('.ipynb');

function samePos(c, e) {
  if (!c || !e) return false;
  if (e.cell !== undefined && c.cell !== e.cell) return false;
  return c.line === e.line && c.column === e.column;
}

function matchesExpect(c, entry) {
  return samePos(c, entry.expect) || (entry.accept || []).some((a) => samePos(c, a));
}

function fmtPos(c) {
  if (!c) return '(nothing)';
  const cell = c.cell !== undefined ? `cell ${c.cell} ` : '';
  return `${cell}${c.line}:${c.column} ${c.key !== undefined ? `key=${JSON.stringify(c.key)} ` : ''}${JSON.stringify(c.text)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// comment / string classification
/**
 * A tiny lexer for the non-Python languages: returns, for each character offset, 'c' (code), 'm' (comment) or 's'
 * (string). `spec` says which syntax applies.
 */
function classify(text, spec) {
  const out = new Uint8Array(text.length); // 0 code, 1 comment, 2 string
  let i = 0;
  let lineStart = true; // only whitespace since the last newline
  const n = text.length;
  const mark = (a, b, v) => { for (let k = a; k < b && k < n; k++) out[k] = v; };
  while (i < n) {
    const ch = text[i];
    if (ch === '\n') { lineStart = true; i++; continue; }
    if (ch === ' ' || ch === '\t' || ch === '\r') { i++; continue; }
    // line comments
    let lc = null;
    for (const tok of spec.lineComments) {
      if (text.startsWith(tok.s, i) && (!tok.lineStartOnly || lineStart) &&
          (!tok.afterSpace || i === 0 || /\s/.test(text[i - 1]) || lineStart)) { lc = tok; break; }
    }
    if (lc) {
      const e = text.indexOf('\n', i);
      const end = e < 0 ? n : e;
      mark(i, end, 1); i = end; continue;
    }
    if (spec.blockComment && text.startsWith(spec.blockComment[0], i)) {
      const e = text.indexOf(spec.blockComment[1], i + spec.blockComment[0].length);
      const end = e < 0 ? n : e + spec.blockComment[1].length;
      mark(i, end, 1); i = end; lineStart = false; continue;
    }
    // strings
    let q = null;
    for (const d of spec.quotes) { if (text.startsWith(d, i)) { q = d; break; } }
    if (q && spec.quoteOk && !spec.quoteOk(text, i)) q = null;
    if (q) {
      let k = i + q.length;
      const multiline = q.length === 3 || q === '`' || spec.multilineQuotes;
      while (k < n) {
        if (text[k] === '\\' && spec.escapes !== false && !(spec.noEscapeIn || []).includes(q)) { k += 2; continue; }
        if (text.startsWith(q, k)) { k += q.length; break; }
        if (text[k] === '\n' && !multiline) break;
        k++;
      }
      mark(i, k, 2); i = k; lineStart = false; continue;
    }
    lineStart = false;
    i++;
  }
  return out;
}

// YAML: `#` starts a comment at line start or after whitespace; quotes start a string only where a scalar starts
// (after `: `, `- `, `[`, `{`, `,` or at line start), not inside a plain scalar (`it's`).
const yamlQuoteOk = (text, i) => {
  let k = i - 1;
  while (k >= 0 && (text[k] === ' ' || text[k] === '\t')) k--;
  return k < 0 || text[k] === '\n' || text[k] === ':' || text[k] === '-' || text[k] === '[' || text[k] === '{' || text[k] === ',' || text[k] === '?';
};
const SPECS = {
  yaml: { lineComments: [{ s: '#', afterSpace: true }], quotes: ['"', "'"], quoteOk: yamlQuoteOk, noEscapeIn: ["'"], multilineQuotes: true },
  toml: { lineComments: [{ s: '#' }], quotes: ['"""', "'''", '"', "'"], noEscapeIn: ["'", "'''"] },
  ini: { lineComments: [{ s: '#', lineStartOnly: true }, { s: ';', lineStartOnly: true }, { s: '#', afterSpace: true }, { s: ';', afterSpace: true }], quotes: [] },
  gin: { lineComments: [{ s: '#' }], quotes: ['"""', "'''", '"', "'"] },
  json: { lineComments: [{ s: '//' }], blockComment: ['/*', '*/'], quotes: ['"'] },
  js: { lineComments: [{ s: '//' }], blockComment: ['/*', '*/'], quotes: ['"', "'", '`'] },
  python: { lineComments: [{ s: '#' }], quotes: ['"""', "'''", '"', "'"] }, // fallback only
};
function specFor(file) {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return SPECS.yaml;
  if (ext === '.toml') return SPECS.toml;
  if (ext === '.ini' || ext === '.cfg' || ext === '.conf') return SPECS.ini;
  if (ext === '.gin') return SPECS.gin;
  if (ext === '.json' || ext === '.jsonc') return SPECS.json;
  if (['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.jsx', '.tsx'].includes(ext)) return SPECS.js;
  if (ext === '.py') return SPECS.python;
  return null;
}

/** Character offset of a 1-based line/column in `text` (columns counted in UTF-16 units, as JavaScript does). */
function offsetOf(text, line, column) {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const e = text.indexOf('\n', off);
    if (e < 0) return -1;
    off = e + 1;
  }
  return off + column - 1;
}

/**
 * Python: classify positions with the tokenize module. `positions` are [line, column] (1-based); returns for each
 * the token type name that contains it ('NUMBER', 'STRING', 'COMMENT', 'FSTRING_MIDDLE', ...), 'NONE' when no token
 * covers it, or null for all when tokenize fails.
 */
const PY_CLASSIFY = `
import io, json, sys, tokenize, re
data = json.load(sys.stdin)
src = data['src']
if data.get('ipython'):
    # IPython magics / shell escapes are not Python: blank them (same length keeps columns)
    src = '\\n'.join(('#' + l[1:]) if re.match(r'^\\s*[!%]', l) else l for l in src.split('\\n'))
out = []
try:
    toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
except Exception as e:
    print(json.dumps({'error': str(e)})); sys.exit(0)
for (line, col) in data['pos']:
    c0 = col - 1
    kind = 'NONE'
    for t in toks:
        (sl, sc), (el, ec) = t.start, t.end
        if (sl, sc) <= (line, c0) < (el, ec):
            kind = tokenize.tok_name[t.type]
            if kind == 'OP' or kind == 'NL' or kind == 'NEWLINE': continue
            break
    out.append(kind)
print(json.dumps({'kinds': out}))
`;
function pythonKinds(src, positions, ipython) {
  if (!positions.length) return [];
  const r = spawnSync(PYTHON, ['-c', PY_CLASSIFY], { input: JSON.stringify({ src, pos: positions, ipython: !!ipython }), encoding: 'utf8', maxBuffer: 64 << 20 });
  try {
    const j = JSON.parse(r.stdout);
    if (j.kinds) return j.kinds;
  } catch { /* fall through */ }
  return null;
}

const BAD_PY = new Set(['STRING', 'COMMENT', 'FSTRING_START', 'FSTRING_MIDDLE', 'FSTRING_END', 'TSTRING_START', 'TSTRING_MIDDLE', 'TSTRING_END']);

/** Returns, for each candidate, null (fine) or a reason string ('comment', 'string', 'markdown cell', ...). */
function commentStringHits(file, text, cands) {
  if (!cands.length) return [];
  if (isNotebook(file)) {
    let nb;
    try { nb = JSON.parse(text); } catch { return cands.map(() => null); }
    const cellSrc = (c) => { const s = c.source; return Array.isArray(s) ? s.join('') : (s || ''); };
    return cands.map((c) => {
      const cell = nb.cells && nb.cells[c.cell];
      if (!cell) return 'no such cell';
      if (cell.cell_type !== 'code') return `${cell.cell_type} cell`;
      const kinds = pythonKinds(cellSrc(cell), [[c.line, c.column]], true);
      if (!kinds) {
        const cls = classify(cellSrc(cell), SPECS.python);
        const v = cls[offsetOf(cellSrc(cell), c.line, c.column)];
        return v === 1 ? 'comment' : v === 2 ? 'string' : null;
      }
      return BAD_PY.has(kinds[0]) ? `python ${kinds[0]}` : null;
    });
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.py') {
    const kinds = pythonKinds(text, cands.map((c) => [c.line, c.column]), false);
    if (kinds) return kinds.map((k) => (BAD_PY.has(k) ? `python ${k}` : null));
  }
  const spec = specFor(file);
  if (!spec) return cands.map(() => null);
  const cls = classify(text, spec);
  return cands.map((c) => {
    const v = cls[offsetOf(text, c.line, c.column)];
    return v === 1 ? 'comment' : v === 2 ? 'string' : null;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// apply check
const NUMBER_RE = /^[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?$/;

/**
 * Raw (UTF-16 index into the file text) start of the expected literal: for a plain file from line/column; for a
 * notebook by walking the JSON to cells[cell].source and mapping the decoded position back to the raw text.
 */
function rawOffset(file, text, e) {
  if (!isNotebook(file)) return offsetOf(text, e.line, e.column);
  const strings = notebookSourceStrings(text, e.cell);
  if (!strings) return -1;
  // decoded offset inside the cell's joined source
  let decoded = 0;
  const joined = strings.map((s) => s.value).join('');
  decoded = offsetOf(joined, e.line, e.column);
  for (const s of strings) {
    if (decoded < s.value.length) return s.rawIndex[decoded];
    decoded -= s.value.length;
  }
  return -1;
}

/**
 * Minimal JSON walker: the string tokens making up cells[cellIndex].source (a string or a list of strings), each as
 * {value, rawIndex} where rawIndex[k] is the raw offset of decoded character k.
 */
function notebookSourceStrings(text, cellIndex) {
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  function str() {
    // at '"'
    i++;
    let value = '';
    const rawIndex = [];
    while (i < text.length && text[i] !== '"') {
      const start = i;
      if (text[i] === '\\') {
        const c = text[i + 1];
        if (c === 'u') { value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); i += 6; }
        else { value += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', '\\': '\\', '/': '/' }[c]; i += 2; }
      } else { value += text[i]; i++; }
      rawIndex.push(start);
    }
    i++;
    return { value, rawIndex };
  }
  function value() {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++; const obj = {};
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws(); const k = str().value; ws(); i++; // ':'
        obj[k] = value();
        ws();
        if (text[i] === ',') { i++; continue; }
        i++; return obj;
      }
    }
    if (ch === '[') {
      i++; const arr = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        i++; return arr;
      }
    }
    if (ch === '"') return { __str: str() };
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    i += m ? m[0].length : 1;
    return null;
  }
  try {
    const root = value();
    const src = root.cells[cellIndex].source;
    if (src && src.__str) return [src.__str];
    if (Array.isArray(src)) return src.map((s) => s.__str);
  } catch { /* fall through */ }
  return null;
}

function applyCheck(entry, absFile) {
  const e = entry.expect;
  const orig = fs.readFileSync(absFile);
  const text = orig.toString('utf8');
  const off = rawOffset(absFile, text, e);
  if (off < 0) return { ok: false, why: 'expected position not found in the file (manifest error)' };
  if (text.slice(off, off + e.text.length) !== e.text) return { ok: false, why: `manifest text ${JSON.stringify(e.text)} is not at the expected position` };
  const prefix = Buffer.from(text.slice(0, off), 'utf8');
  const suffix = Buffer.from(text.slice(off + e.text.length), 'utf8');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lr-locate-bench-'));
  try {
    const copy = path.join(dir, path.basename(absFile));
    fs.writeFileSync(copy, orig);
    const args = ['apply', copy, String(NEW_LR), '--line', String(e.line), '--column', String(e.column)];
    if (e.cell !== undefined) args.push('--cell', String(e.cell));
    const r = runCli(args);
    if (r.code !== 0) return { ok: false, why: `apply exit ${r.code}: ${(r.stderr || r.stdout).trim().split('\n')[0].slice(0, 240)}` };
    const res = fs.readFileSync(copy);
    if (res.length < prefix.length + suffix.length) return { ok: false, why: 'result shorter than the untouched parts' };
    if (!res.subarray(0, prefix.length).equals(prefix)) return { ok: false, why: `bytes before the literal changed (${firstDiff(res, prefix)})` };
    if (!res.subarray(res.length - suffix.length).equals(suffix)) return { ok: false, why: 'bytes after the literal changed', detail: r.stdout.trim() };
    const mid = res.subarray(prefix.length, res.length - suffix.length).toString('utf8');
    // The first number of a product of constants (`5e-4 * 1024 / 512`) is written so that the product is the LR.
    const factor = factorAt(absFile, e);
    const want = NEW_LR / factor;
    if (!NUMBER_RE.test(mid) || Math.abs(Number(mid.replace(/_/g, '')) - want) > 1e-12 * Math.max(1, want)) return { ok: false, why: `replacement ${JSON.stringify(mid)} is not the literal ${want}` };
    return { ok: true, replacement: mid };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The factor locate reports for the literal at the expected position (1 when it has none). */
function factorAt(absFile, e) {
  const r = runCli(['locate', absFile, '--json']);
  try {
    const hit = JSON.parse(r.stdout).find((c) => c.line === e.line && c.column === e.column && (e.cell === undefined || c.cell === e.cell));
    return hit && hit.factor ? hit.factor : 1;
  } catch { return 1; }
}

function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return `first difference at byte ${k}`;
  return 'length';
}

// ---------------------------------------------------------------------------------------------------------------
// context for a report
function context(absFile, e) {
  const text = fs.readFileSync(absFile, 'utf8');
  let lines;
  if (isNotebook(absFile)) {
    const nb = JSON.parse(text);
    const s = nb.cells[e.cell].source;
    lines = (Array.isArray(s) ? s.join('') : s).split('\n');
  } else lines = text.split('\n');
  const from = Math.max(1, e.line - 1);
  const to = Math.min(lines.length, e.line + 1);
  const out = [];
  for (let l = from; l <= to; l++) out.push(`      ${String(l).padStart(5)}${l === e.line ? '>' : ' '} ${lines[l - 1].replace(/\r$/, '')}`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// main
function main() {
  const entries = [
    ...(set === 'all' ? [...MANIFESTS.design, ...MANIFESTS.holdout] : MANIFESTS[set]).flatMap((m) => loadManifest(m).map((x) => ({ ...x, manifest: m }))),
  ].filter((x) => !only || x.file.includes(only));

  let firstOk = 0; let anyOk = 0; let csHits = 0; let csFiles = 0; let applyOk = 0; let applyN = 0;
  let withLr = 0; let withLrFirst = 0; let withLrAny = 0; let nulls = 0; let nullsSilent = 0;
  const results = [];
  const perManifest = {};

  const missing = entries.filter((x) => !fs.existsSync(path.join(HERE, x.file)));
  if (missing.length) {
    console.log(`SKIP ${missing.length} entries whose corpus file is not in bench/locate/files (see README: the third-party files are not committed), e.g. ${missing[0].file}`);
  }
  for (const entry of entries) {
    const abs = path.join(HERE, entry.file);
    if (!fs.existsSync(abs)) continue;
    const text = fs.readFileSync(abs, 'utf8');
    const loc = locate(abs);
    const cands = loc.cands;
    const expectNull = entry.expect === null;
    const first = expectNull ? cands.length === 0 : matchesExpect(cands[0], entry);
    const anyIdx = expectNull ? (cands.length === 0 ? 0 : -1) : cands.findIndex((c) => matchesExpect(c, entry));
    const any = anyIdx >= 0;
    const hits = commentStringHits(abs, text, cands);
    const hitList = cands.map((c, k) => ({ c, why: hits[k] })).filter((h) => h.why);
    let app = null;
    if (!expectNull) { app = applyCheck(entry, abs); applyN++; if (app.ok) applyOk++; }

    if (first) firstOk++;
    if (any) anyOk++;
    if (hitList.length) { csHits += hitList.length; csFiles++; }
    if (expectNull) { nulls++; if (first) nullsSilent++; } else { withLr++; if (first) withLrFirst++; if (any) withLrAny++; }

    const tag = first ? 'ok  ' : 'MISS';
    let line = `${tag} ${entry.file}`;
    if (!first) {
      const want = expectNull ? 'no candidate' : fmtPos(entry.expect);
      line += `\n      expected ${want}; got first ${fmtPos(cands[0])}` +
        (loc.error ? ` [${loc.error}]` : '') +
        (!expectNull ? (any ? ` (expected is candidate #${anyIdx + 1} of ${cands.length})` : ` (not among ${cands.length} candidates)`) : ` (${cands.length} candidates)`);
    }
    for (const h of hitList) line += `\n      COMMENT/STRING HIT (${h.why}): ${fmtPos(h.c)}`;
    if (app && !app.ok) line += `\n      APPLY FAIL: ${app.why}`;
    if (verbose && !expectNull && (!first || hitList.length || (app && !app.ok))) line += '\n' + context(abs, entry.expect);
    console.log(line);
    const m = perManifest[entry.manifest] || (perManifest[entry.manifest] = { n: 0, first: 0, any: 0, hits: 0, applyOk: 0, applyN: 0 });
    m.n++; if (first) m.first++; if (any) m.any++; m.hits += hitList.length; if (app) { m.applyN++; if (app.ok) m.applyOk++; }
    results.push({ manifest: entry.manifest, file: entry.file, expect: entry.expect, first, any, anyRank: anyIdx >= 0 ? anyIdx + 1 : null, candidates: cands, commentStringHits: hitList.map((h) => ({ ...h.c, why: h.why })), apply: app, locateError: loc.error || null });
  }

  const n = entries.length - missing.length;
  const pct = n ? Math.round((1000 * firstOk) / n) / 10 : 0;
  console.log('');
  for (const [name, m] of Object.entries(perManifest)) {
    console.log(`${name}: files ${m.n}, found first ${m.first}, found anywhere ${m.any}, comment/string hits ${m.hits}, apply byte-identical ${m.applyOk}/${m.applyN}`);
  }
  console.log(`with an LR literal: ${withLr}, found first ${withLrFirst}, found anywhere ${withLrAny}; without one: ${nulls}, no candidate ${nullsSilent}; files with comment/string hits: ${csFiles}`);
  console.log(`files: ${n}, found first ${firstOk} (${pct}%), found anywhere ${anyOk}, comment/string hits ${csHits}, apply byte-identical ${applyOk}/${applyN}`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ perManifest, summary: { files: n, foundFirst: firstOk, foundAnywhere: anyOk, commentStringHits: csHits, applyOk, applyN, withLr, withLrFirst, withLrAny, nulls, nullsSilent }, results }, null, 2) + '\n');
}

if (require.main === module) main();
module.exports = { classify, commentStringHits, rawOffset, applyCheck, SPECS, specFor };
