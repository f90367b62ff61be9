/** activate(): wires the commands, the panel serializer, diagnostics and the config template. Nothing else. */
import * as vscode from 'vscode';
import { FindLrCodeLens } from './host/codeLens';
import { isTrainingConfig } from './host/configFiles';
import { createConfig } from './host/createConfig';
import { ConfigDiagnostics } from './host/diagnostics';
import { log, showError } from './host/log';
import { VIEW_TYPE } from './host/panel';
import { isPythonFile, SweepController } from './host/sweepController';

export interface LrFinderApi {
  controller: SweepController;
  diagnostics: ConfigDiagnostics;
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): LrFinderApi | undefined {
  const t0 = Date.now();
  try {
    const diagnostics = new ConfigDiagnostics();
    const controller = new SweepController(context.extensionUri, diagnostics, context.workspaceState);
    controller.lastEditor = vscode.window.activeTextEditor;
    const codeLens = new FindLrCodeLens();
    const guard = (f: (...a: never[]) => Promise<unknown>) => async (...a: never[]) => {
      try { await f(...a); } catch (e) { void showError(`LR Finder: ${(e as Error).message}`); }
    };
    context.subscriptions.push(
      log(),
      diagnostics,
      controller,
      // When a webview button is clicked there is no active editor: remember the last one.
      vscode.window.onDidChangeActiveTextEditor((e) => { if (e) controller.lastEditor = e; }),
      vscode.commands.registerCommand('lrFinder.findLearningRate', guard((uri?: vscode.Uri) =>
        controller.findLearningRate(isTrainingConfig(uri) || isPythonFile(uri) ? uri : undefined))),
      vscode.commands.registerCommand('lrFinder.verify', guard(() => controller.verify())),
      vscode.commands.registerCommand('lrFinder.insertSuggested', guard(() => controller.insertSuggested())),
      vscode.commands.registerCommand('lrFinder.stop', guard(() => controller.stop())),
      vscode.commands.registerCommand('lrFinder.createConfig', guard(() => createConfig(context.extensionUri))),
      codeLens,
      vscode.languages.registerCodeLensProvider({ language: 'python', scheme: 'file' }, codeLens),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('lrFinder.codeLens')) codeLens.refresh();
        if (e.affectsConfiguration('lrFinder.recommendedSuggestion') || e.affectsConfiguration('lrFinder.significantDigits')) controller.refreshView();
      }),
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state) => controller.restore(panel, state),
      }),
    );
    const activationMs = Date.now() - t0;
    log().info(`activated in ${activationMs} ms`);
    return { controller, diagnostics, activationMs };
  } catch (e) {
    void vscode.window.showErrorMessage(`LR Finder failed to activate: ${(e as Error).message}`);
    return undefined;
  }
}

export function deactivate(): void {
  /* disposables are in context.subscriptions */
}
