/** "Find LR" above each optimizer construction and each LR literal of a Python file (lrFinder.codeLens). */
import * as vscode from 'vscode';
import { locateLearningRates } from '../core/locate';
import { optimizerConstructions } from '../core/optimizerCalls';

export class FindLrCodeLens implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  refresh() {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('lrFinder', doc.uri).get('codeLens', true)) return [];
    const text = doc.getText();
    if (text.length > 2_000_000) return [];
    const lines = new Set<number>();
    for (const l of locateLearningRates(doc.fileName, text)) lines.add(l.line - 1);
    for (const line of optimizerConstructions(text)) lines.add(line - 1);
    return [...lines].sort((a, b) => a - b).map((line) => new vscode.CodeLens(new vscode.Range(line, 0, line, 0), {
      title: '$(graph-line) Find LR',
      tooltip: 'Run a learning-rate range test on this script (LR Finder)',
      command: 'lrFinder.findLearningRate',
      arguments: [doc.uri],
    }));
  }

  dispose() {
    this.changed.dispose();
  }
}
