/** Which files are training configs, and finding them in the workspace. */
import * as path from 'path';
import * as vscode from 'vscode';

/** lr-finder.yaml / .yml / .json, or NAME.lr-finder.yaml etc. */
export const CONFIG_NAME = /^(?:.+\.)?lr-finder\.(?:ya?ml|json)$/i;
export const CONFIG_GLOB = '**/{lr-finder,*.lr-finder}.{yaml,yml,json}';

export function isTrainingConfig(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && uri.scheme === 'file' && CONFIG_NAME.test(path.basename(uri.fsPath));
}

export async function findConfigs(): Promise<vscode.Uri[]> {
  const found = await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**', 200);
  return found.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

/** A YAML/JSON document with another name that has the config's top-level keys (model, data, loss, optimizer). */
export function looksLikeTrainingConfig(doc: vscode.TextDocument | undefined): boolean {
  if (!doc || doc.uri.scheme !== 'file' || !/\.(ya?ml|jsonc?)$/i.test(doc.fileName)) return false;
  const text = doc.getText(new vscode.Range(0, 0, 400, 0));
  return ['model', 'data', 'loss', 'optimizer'].every((k) => new RegExp(`^\\s*"?${k}"?\\s*:`, 'm').test(text));
}

/** The config to run: the given one, the active editor's, the only one in the workspace, or the user's pick. */
export async function chooseConfig(explicit?: vscode.Uri, lastEditor?: vscode.TextEditor): Promise<vscode.Uri | undefined> {
  if (explicit && explicit.scheme === 'file' && /\.(ya?ml|jsonc?)$/i.test(explicit.fsPath)) return explicit; // e.g. "Run again"
  const editor = vscode.window.activeTextEditor ?? lastEditor;
  const active = editor?.document.uri;
  if (isTrainingConfig(active) || looksLikeTrainingConfig(editor?.document)) return active;
  const configs = await findConfigs();
  if (configs.length === 1) return configs[0];
  if (configs.length === 0) {
    void vscode.window.showInformationMessage(
      'No LR Finder training config (lr-finder.yaml) in this workspace. Create one from an example?', 'Create lr-finder.yaml')
      .then((choice) => { if (choice) void vscode.commands.executeCommand('lrFinder.createConfig'); });
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(configs.map((u) => ({
    label: path.basename(u.fsPath),
    description: vscode.workspace.asRelativePath(path.dirname(u.fsPath)),
    uri: u,
  })), { title: 'Find Learning Rate: which training config?', placeHolder: 'Pick a training config' });
  return pick?.uri;
}
