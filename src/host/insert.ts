/**
 * Click to insert: write the chosen LR where it is defined, as one WorkspaceEdit (Ctrl+Z undoes it), keeping the
 * number style. For a config run: the config's optimizer.learningRate, or the LR literal of the file it names in
 * `lrTarget`. For a script run: the literal the script built its optimizer from (core/scriptTarget.ts), or the user's
 * pick among the candidates when that is not one literal. The literal is located again in the document's current
 * text right before writing, so edits made since the sweep are taken into account.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { parseConfigText } from '../engines/tfjs/config';
import { formatLr, roundSignificant } from '../core/format';
import { formatLikeOriginal, languageOf, locateLearningRates, relocate, replacementFor, type LrLiteral } from '../core/locate';
import type { ScriptSummary } from '../core/protocol';
import { findOptionValue, locateLaunchArg } from '../core/argsLiteral';
import { constructedLrs, lrFromCommandLine, rankCandidates, type Candidate } from '../core/scriptTarget';
import { insertIntoNotebook, openNotebook, writeNotebookLiteral } from './notebookInsert';

export interface InsertTarget {
  uri: vscode.Uri;
  /** Shown in the panel: "train.py" or "lr-finder.yaml (optimizer.learningRate)". */
  description: string;
  /** The key to prefer in the config itself. */
  preferKey?: string;
}

export interface InsertResult {
  ok: boolean;
  text: string;
}

export interface WriteOptions {
  digits: number;
  confirm: boolean;
}

async function readText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  return Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
}

/** Where an LR picked for this config goes. Throws with a clear message for a bad lrTarget. */
export async function resolveTarget(configUri: vscode.Uri): Promise<InsertTarget> {
  const parsed = parseConfigText(configUri.fsPath, await readText(configUri));
  const rel = parsed.config?.lrTarget;
  if (!rel) return { uri: configUri, description: `${path.basename(configUri.fsPath)} (optimizer.learningRate)`, preferKey: 'optimizer.learningRate' };
  const abs = path.resolve(path.dirname(configUri.fsPath), rel);
  const folder = vscode.workspace.getWorkspaceFolder(configUri);
  const root = folder?.uri.fsPath ?? path.dirname(configUri.fsPath);
  const relToRoot = path.relative(root, abs);
  if (relToRoot.startsWith('..') || path.isAbsolute(relToRoot)) {
    const at = parsed.locate(['lrTarget']);
    throw new Error(`${configUri.fsPath}:${at.line}:${at.column}: lrTarget "${rel}" resolves to ${abs}, outside the workspace folder ${root}`);
  }
  return { uri: vscode.Uri.file(abs), description: path.basename(abs) };
}

/** Pick the literal to rewrite: the preferred key, the only one, or the user's choice. */
async function chooseLiteral(found: LrLiteral[], target: InsertTarget, value: string): Promise<LrLiteral | undefined> {
  const preferred = target.preferKey ? found.find((l) => l.key === target.preferKey) : undefined;
  if (preferred) return preferred;
  if (found.length === 1) return found[0];
  const pick = await vscode.window.showQuickPick(found.map((l, k) => ({
    label: `${l.key} = ${l.text}`,
    description: `${l.cell === undefined ? '' : `cell ${l.cell}, `}line ${l.line}${k === 0 ? ' · recommended' : ''}`,
    detail: l.context,
    literal: l,
  })), { title: `Write ${value} into ${path.basename(target.uri.fsPath)}: which learning rate?`, placeHolder: 'Several LR literals were found' });
  return pick?.literal;
}

export async function insertLearningRate(configUri: vscode.Uri, lr: number, opts: WriteOptions): Promise<InsertResult> {
  const target = await resolveTarget(configUri);
  // A notebook (.ipynb) is written through its cells (notebookInsert.ts); its text only when it cannot be opened as one.
  const notebook = await openNotebook(target.uri);
  if (notebook) return insertIntoNotebook(notebook, roundSignificant(lr, opts.digits), opts);
  const doc = await vscode.workspace.openTextDocument(target.uri);
  const rounded = roundSignificant(lr, opts.digits);
  const found = locateLearningRates(doc.fileName, doc.getText());
  if (!found.length) {
    return { ok: false, text: `No learning-rate literal found in ${path.basename(doc.fileName)}; expected e.g. optimizer.learningRate: 0.001, lr=1e-3 or learning_rate = 0.001.` };
  }
  const literal = await chooseLiteral(found, target, formatLr(rounded, opts.digits));
  if (!literal) return { ok: false, text: 'Cancelled: no learning rate was chosen.' };
  return writeLiteral(doc, literal, rounded, opts);
}

/** The files a script run's LR may be written into: the script, then the workspace files it read. */
export async function scriptCandidates(script: vscode.Uri, summary: ScriptSummary | undefined, root: string): Promise<Candidate[]> {
  const files = [script.fsPath];
  for (const f of summary?.filesRead ?? []) {
    const abs = path.resolve(root, f);
    const rel = path.relative(root, abs);
    if (!rel.startsWith('..') && !path.isAbsolute(rel) && languageOf(abs) && !files.includes(abs)) files.push(abs);
  }
  const withLiterals = [];
  for (const f of files) {
    try {
      withLiterals.push({ file: f, literals: locateLearningRates(f, await readText(vscode.Uri.file(f))) });
    } catch { /* unreadable: not a candidate */ }
  }
  return rankCandidates(withLiterals, constructedLrs(summary));
}

/** What the panel says a click will do, for a script run. */
export function describeScriptTarget(candidates: Candidate[], summary: ScriptSummary | undefined, root: string): string {
  const cli = lrFromCommandLine(summary);
  if (cli) return `the command line (${cli.option} ${cli.value})`;
  const matches = candidates.filter((c) => c.matches);
  const at = (c: Candidate) => `${path.relative(root, c.file) || path.basename(c.file)}:${c.literal.line} (${c.literal.key} = ${c.literal.text})`;
  if (matches.length === 1) return at(matches[0]);
  if (matches.length > 1) return `one of ${matches.length} literals with the script's LR (you pick)`;
  if (candidates.length) return `one of ${candidates.length} LR literals (you pick; none has the value the optimizer was built with)`;
  return 'nowhere yet: no LR literal found in the script or the files it read';
}

/** Where the script's arguments came from, when an LR is rewritten there. */
export interface ArgsOrigin {
  kind: 'launch' | 'setting';
  /** The launch configuration's name. */
  name?: string;
  folder?: vscode.Uri;
}

export async function insertIntoScript(script: vscode.Uri, summary: ScriptSummary | undefined, root: string, lr: number, opts: WriteOptions, origin?: ArgsOrigin): Promise<InsertResult> {
  const rounded = roundSignificant(lr, opts.digits);
  const value = formatLr(rounded, opts.digits);
  const cli = lrFromCommandLine(summary);
  if (cli) return writeArgument(cli.option, rounded, opts, origin);
  const candidates = await scriptCandidates(script, summary, root);
  if (!candidates.length) {
    return { ok: false, text: `No learning-rate literal found in ${path.basename(script.fsPath)} or the workspace files it read; expected e.g. lr=1e-3, --lr default=0.001 or "lr": 3e-4.` };
  }
  const matches = candidates.filter((c) => c.matches);
  let chosen: Candidate | undefined = matches.length === 1 ? matches[0] : undefined;
  if (!chosen) {
    const built = constructedLrs(summary).map((v) => formatLr(v)).join(', ');
    const pick = await vscode.window.showQuickPick(candidates.map((c) => ({
      label: `${c.literal.key} = ${c.literal.text}`,
      description: `${path.relative(root, c.file) || path.basename(c.file)}${c.literal.cell === undefined ? '' : ` cell ${c.literal.cell}`}:${c.literal.line}${c.matches ? ' · the value the optimizer was built with' : ''}`,
      detail: c.literal.context,
      candidate: c,
    })), {
      title: `Write ${value}: which learning rate?`,
      placeHolder: matches.length ? 'Several literals have the value the optimizer was built with' : `No literal has the value the optimizer was built with (${built || 'unknown'})`,
    });
    chosen = pick?.candidate;
  }
  if (!chosen) return { ok: false, text: 'Cancelled: no learning rate was chosen.' };
  const notebook = chosen.literal.cell !== undefined ? await openNotebook(vscode.Uri.file(chosen.file)) : undefined;
  if (notebook) return writeNotebookLiteral(notebook, chosen.literal, rounded, opts);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(chosen.file));
  return writeLiteral(doc, chosen.literal, rounded, opts);
}

/** An LR given on the command line: rewritten in launch.json's args (one undoable edit) or in lrFinder.script.args. */
async function writeArgument(option: string, rounded: number, opts: WriteOptions, origin: ArgsOrigin | undefined): Promise<InsertResult> {
  if (origin?.kind === 'launch' && origin.folder) {
    const uri = vscode.Uri.joinPath(origin.folder, '.vscode', 'launch.json');
    const doc = await vscode.workspace.openTextDocument(uri);
    const at = locateLaunchArg(doc.getText(), origin.name, option);
    if (!at) return { ok: false, text: `The LR came from ${option} in the launch configuration "${origin.name}", but its value could not be found in launch.json; nothing was written.` };
    const newText = formatLikeOriginal(at.text, rounded);
    if (opts.confirm) {
      const answer = await vscode.window.showInformationMessage(`Set ${option} to ${newText} in launch.json ("${origin.name}")?`,
        { modal: true, detail: `Currently ${at.text}: the script's LR comes from its command line. Ctrl+Z undoes the change.` }, 'Write');
      if (answer !== 'Write') return { ok: false, text: 'Not written.' };
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(doc.positionAt(at.offset), doc.positionAt(at.offset + at.length)), newText);
    if (!(await vscode.workspace.applyEdit(edit))) return { ok: false, text: 'VS Code refused the edit to launch.json; nothing was written.' };
    await doc.save();
    return { ok: true, text: `Wrote ${newText} to launch.json ("${origin.name}": ${option}, was ${at.text}).` };
  }
  const c = vscode.workspace.getConfiguration('lrFinder', origin?.folder);
  const args = [...c.get<string[]>('script.args', [])];
  const hit = findOptionValue(args, option);
  if (!hit || !/^[0-9.eE+-]+$/.test(hit.text)) return { ok: false, text: `The script's LR came from its command line (${option}); change it there to ${formatLr(rounded)}.` };
  const newText = formatLikeOriginal(hit.text, rounded);
  args[hit.index] = args[hit.index].slice(0, hit.start) + newText;
  await c.update('script.args', args, origin?.folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Workspace);
  return { ok: true, text: `Wrote ${newText} to lrFinder.script.args (${option}, was ${hit.text}).` };
}

/** Confirm, locate the literal again in the current text, and write it as one edit; then show it. */
async function writeLiteral(doc: vscode.TextDocument, literal: LrLiteral, rounded: number, opts: WriteOptions): Promise<InsertResult> {
  const name = path.basename(doc.fileName);
  const newText = replacementFor(literal, rounded);
  if (opts.confirm) {
    const answer = await vscode.window.showInformationMessage(
      `Set ${literal.key} to ${newText} in ${name}:${literal.line}?`,
      { modal: true, detail: `Currently ${literal.text}. The value is usually the maximum LR of a one-cycle schedule. Ctrl+Z undoes the change.` },
      'Write');
    if (answer !== 'Write') return { ok: false, text: 'Not written.' };
  }
  // The document may have changed while the dialog was open: locate once more right before editing.
  const current = relocate(doc.fileName, doc.getText(), literal);
  if (!current) return { ok: false, text: `${name} changed and its ${literal.key} literal is gone; nothing was written.` };
  const range = new vscode.Range(doc.positionAt(current.offset), doc.positionAt(current.offset + current.length));
  if (doc.getText(range) !== current.text) return { ok: false, text: `${name} changed while writing; nothing was written. Try again.` };
  const edit = new vscode.WorkspaceEdit();
  const replacement = replacementFor(current, rounded);
  edit.replace(doc.uri, range, replacement);
  if (!(await vscode.workspace.applyEdit(edit))) return { ok: false, text: `VS Code refused the edit to ${name}; nothing was written.` };
  const written = new vscode.Range(range.start, doc.positionAt(current.offset + replacement.length));
  const column = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === doc.uri.toString())?.viewColumn ?? vscode.ViewColumn.One;
  await vscode.window.showTextDocument(doc, { viewColumn: column, selection: written, preserveFocus: false });
  return { ok: true, text: `Wrote ${replacement} to ${name}:${current.line} (${current.key}, was ${current.text}).` };
}
