/** Config problems as Diagnostics in the Problems panel, at their line; cleared when fixed. */
import * as vscode from 'vscode';
import { parseConfigText, type ConfigIssue } from '../engines/tfjs/config';
import { isTrainingConfig } from './configFiles';

export class ConfigDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('lr-finder');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly subs: vscode.Disposable[] = [];

  constructor() {
    this.subs.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.validate(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => { if (isTrainingConfig(d.uri)) this.collection.delete(d.uri); }),
    );
    vscode.workspace.textDocuments.forEach((d) => this.validate(d));
  }

  private schedule(doc: vscode.TextDocument) {
    if (!isTrainingConfig(doc.uri)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); this.validate(doc); }, 250));
  }

  /** Validate a config document now; returns its issues. */
  validate(doc: vscode.TextDocument): ConfigIssue[] {
    if (!isTrainingConfig(doc.uri)) return [];
    const issues = parseConfigText(doc.uri.fsPath, doc.getText()).issues;
    this.collection.set(doc.uri, issues.map(toDiagnostic));
    return issues;
  }

  /** A problem found by the engine (e.g. a column missing from the CSV), at its position in the config. */
  report(uri: vscode.Uri, line: number, column: number, message: string) {
    const pos = new vscode.Position(Math.max(0, line - 1), Math.max(0, column - 1));
    const d = new vscode.Diagnostic(new vscode.Range(pos, pos.translate(0, 1)), message.replace(/^[^:]+:\d+:\d+: /, ''), vscode.DiagnosticSeverity.Error);
    d.source = 'LR Finder';
    this.collection.set(uri, [...(this.collection.get(uri) ?? []), d]);
  }

  get(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.collection.get(uri) ?? [];
  }

  dispose() {
    this.timers.forEach((t) => clearTimeout(t));
    this.subs.forEach((s) => s.dispose());
    this.collection.dispose();
  }
}

function toDiagnostic(i: ConfigIssue): vscode.Diagnostic {
  const start = new vscode.Position(i.line - 1, i.column - 1);
  let end = new vscode.Position(i.endLine - 1, i.endColumn - 1);
  if (!end.isAfter(start)) end = start.translate(0, 1);
  const d = new vscode.Diagnostic(new vscode.Range(start, end), i.message, vscode.DiagnosticSeverity.Error);
  d.source = 'LR Finder';
  if (i.key) d.code = i.key;
  return d;
}
