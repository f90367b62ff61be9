/**
 * Click to insert: write the chosen LR where it is defined — the config's optimizer.learningRate, or the LR literal
 * of the source file the config names in `lrTarget` — as one WorkspaceEdit (Ctrl+Z undoes it), keeping the number
 * style. The literal is located in the document's current text at the moment of writing, so edits made since the
 * sweep are taken into account.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { parseConfigText } from '../core/config';
import { formatLr, roundSignificant } from '../core/format';
import { formatLikeOriginal, locateLearningRates, type LrLiteral } from '../core/locate';

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
    description: `line ${l.line}${k === 0 ? ' · recommended' : ''}`,
    detail: l.context,
    literal: l,
  })), { title: `Write ${value} into ${path.basename(target.uri.fsPath)}: which learning rate?`, placeHolder: 'Several LR literals were found' });
  return pick?.literal;
}

export async function insertLearningRate(configUri: vscode.Uri, lr: number, opts: { digits: number; confirm: boolean }): Promise<InsertResult> {
  const target = await resolveTarget(configUri);
  const doc = await vscode.workspace.openTextDocument(target.uri);
  const rounded = roundSignificant(lr, opts.digits);
  const found = locateLearningRates(doc.fileName, doc.getText());
  const name = path.basename(doc.fileName);
  if (!found.length) {
    return { ok: false, text: `No learning-rate literal found in ${name}; expected e.g. optimizer.learningRate: 0.001, lr=1e-3 or learning_rate = 0.001.` };
  }
  const literal = await chooseLiteral(found, target, formatLr(rounded, opts.digits));
  if (!literal) return { ok: false, text: 'Cancelled: no learning rate was chosen.' };
  const newText = formatLikeOriginal(literal.text, rounded);
  if (opts.confirm) {
    const answer = await vscode.window.showInformationMessage(
      `Set ${literal.key} to ${newText} in ${name}:${literal.line}?`,
      { modal: true, detail: `Currently ${literal.text}. The value is usually the maximum LR of a one-cycle schedule. Ctrl+Z undoes the change.` },
      'Write');
    if (answer !== 'Write') return { ok: false, text: 'Not written.' };
  }
  // The document may have changed while the dialog was open: locate once more right before editing.
  const current = locateLearningRates(doc.fileName, doc.getText()).find((l) => l.key === literal.key && Math.abs(l.line - literal.line) <= 3) ?? literal;
  const range = new vscode.Range(doc.positionAt(current.offset), doc.positionAt(current.offset + current.length));
  if (doc.getText(range) !== current.text) return { ok: false, text: `${name} changed while writing; nothing was written. Try again.` };
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, range, newText);
  if (!(await vscode.workspace.applyEdit(edit))) return { ok: false, text: `VS Code refused the edit to ${name}; nothing was written.` };
  const written = new vscode.Range(range.start, doc.positionAt(current.offset + newText.length));
  const column = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === doc.uri.toString())?.viewColumn ?? vscode.ViewColumn.One;
  await vscode.window.showTextDocument(doc, { viewColumn: column, selection: written, preserveFocus: false });
  return { ok: true, text: `Wrote ${newText} to ${name}:${current.line} (${current.key}, was ${current.text}).` };
}
