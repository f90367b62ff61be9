/**
 * Click to insert, into a Jupyter notebook. VS Code opens an .ipynb as a notebook, whose cells are documents of their
 * own: editing the file's JSON text under an open notebook editor would fight it. So the literal is located in the
 * code cells as they are now (unsaved edits included) and written into its cell's document, as one WorkspaceEdit:
 * Ctrl+Z in the notebook undoes it, and the notebook is left to save like any edited file. When the notebook cannot be
 * opened as one (no notebook serializer for it), insert.ts writes into the file's text instead, which the core locator
 * also reads byte for byte.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { formatLr } from '../core/format';
import { locateInNotebookCells, relocateAmong, replacementFor, type LrLiteral } from '../core/locate';
import type { InsertResult, WriteOptions } from './insert';

/** The notebook at `uri` when it is an .ipynb that VS Code can open as a notebook; undefined otherwise. */
export async function openNotebook(uri: vscode.Uri): Promise<vscode.NotebookDocument | undefined> {
  if (!/\.ipynb$/i.test(uri.fsPath)) return undefined;
  try {
    return await vscode.workspace.openNotebookDocument(uri);
  } catch {
    return undefined;
  }
}

/**
 * Every LR literal of the Python code cells, the recommended one first; offsets are in the cell's document. The cells
 * are read as one program, as for the file's text (the fit after an lr_find() in the cell before first).
 */
export function notebookLiterals(notebook: vscode.NotebookDocument): LrLiteral[] {
  const found = locateInNotebookCells(notebook.getCells()
    .filter((cell) => cell.kind === vscode.NotebookCellKind.Code && cell.document.languageId === 'python')
    .map((cell) => ({ cell: cell.index, source: cell.document.getText() })));
  return found.sort((a, b) => b.score - a.score);
}

const cellName = (notebook: vscode.NotebookDocument, index: number): string => `cell ${index + 1} of ${notebook.cellCount}`;

/** The only literal, or the user's pick (cell and line shown). */
async function chooseLiteral(notebook: vscode.NotebookDocument, found: LrLiteral[], value: string): Promise<LrLiteral | undefined> {
  if (found.length === 1) return found[0];
  const pick = await vscode.window.showQuickPick(found.map((l, k) => ({
    label: `${l.key} = ${l.text}`,
    description: `${cellName(notebook, l.cell ?? 0)}, line ${l.line}${k === 0 ? ' · recommended' : ''}`,
    detail: l.context,
    literal: l,
  })), { title: `Write ${value} into ${path.basename(notebook.uri.fsPath)}: which learning rate?`, placeHolder: 'Several LR literals were found' });
  return pick?.literal;
}

/** Find the literals in the code cells, pick one (the only one, or the user's choice), write it. */
export async function insertIntoNotebook(notebook: vscode.NotebookDocument, rounded: number, opts: WriteOptions): Promise<InsertResult> {
  const found = notebookLiterals(notebook);
  if (!found.length) {
    return { ok: false, text: `No learning-rate literal found in the code cells of ${path.basename(notebook.uri.fsPath)}; expected e.g. learn.fit_one_cycle(5, 1e-3), Adam(1e-3) or lr = 1e-3.` };
  }
  const literal = await chooseLiteral(notebook, found, formatLr(rounded, opts.digits));
  if (!literal) return { ok: false, text: 'Cancelled: no learning rate was chosen.' };
  return writeNotebookLiteral(notebook, literal, rounded, opts);
}

/**
 * Confirm, locate the literal again in the current cells (by key, line and cell, not by offset: it may come from the
 * file's text), and write it into its cell as one edit; then show the cell.
 */
export async function writeNotebookLiteral(notebook: vscode.NotebookDocument, literal: LrLiteral, rounded: number, opts: WriteOptions): Promise<InsertResult> {
  const name = path.basename(notebook.uri.fsPath);
  const newText = replacementFor(literal, rounded);
  if (opts.confirm) {
    const answer = await vscode.window.showInformationMessage(
      `Set ${literal.key} to ${newText} in ${name}, ${cellName(notebook, literal.cell ?? 0)}, line ${literal.line}?`,
      { modal: true, detail: `Currently ${literal.text}. The value is usually the maximum LR of a one-cycle schedule. Ctrl+Z undoes the change.` },
      'Write');
    if (answer !== 'Write') return { ok: false, text: 'Not written.' };
  }
  const current = relocateAmong(notebookLiterals(notebook), literal);
  if (!current || current.cell === undefined) return { ok: false, text: `${name} changed and its ${literal.key} literal is gone; nothing was written.` };
  const cell = notebook.cellAt(current.cell);
  const doc = cell.document;
  const range = new vscode.Range(doc.positionAt(current.offset), doc.positionAt(current.offset + current.length));
  if (doc.getText(range) !== current.text) return { ok: false, text: `${name} changed while writing; nothing was written. Try again.` };
  const replacement = replacementFor(current, rounded);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, range, replacement);
  if (!(await vscode.workspace.applyEdit(edit))) return { ok: false, text: `VS Code refused the edit to ${name}; nothing was written.` };
  try {
    const cells = new vscode.NotebookRange(cell.index, cell.index + 1);
    const editor = await vscode.window.showNotebookDocument(notebook, { selections: [cells], preserveFocus: false });
    editor.revealRange(cells, vscode.NotebookEditorRevealType.InCenterIfOutsideViewport);
    // The focus in the cell's editor, the new value selected: each cell has an undo stack of its own (VS Code's
    // notebook.undoRedoPerCell), so Ctrl+Z on the notebook alone would not undo the write.
    const written = new vscode.Range(range.start, doc.positionAt(current.offset + replacement.length));
    await vscode.window.showTextDocument(doc, { selection: written, preserveFocus: false });
  } catch { /* written; showing it is a courtesy */ }
  return { ok: true, text: `Wrote ${replacement} to ${name}, ${cellName(notebook, cell.index)}, line ${current.line} (${current.key}, was ${current.text}).` };
}
