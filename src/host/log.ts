/** The one "LR Finder" log channel, and error notifications that offer "Show Log". */
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function log(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('LR Finder', { log: true });
  return channel;
}

export async function showError(message: string): Promise<void> {
  log().error(message);
  const choice = await vscode.window.showErrorMessage(message, 'Show Log');
  if (choice === 'Show Log') log().show(true);
}
