/** "Create lr-finder.yaml": a commented starting config in the workspace, from the Iris example's shape. */
import * as vscode from 'vscode';
import { FASTAI_DEFAULTS } from '../core/analysis';

/** YAML for a default number: 1e-7 as 1.0e-7 (YAML 1.1 readers want the dot), others as they are. */
const yamlNumber = (x: number) => (Number.isInteger(x) ? String(x) : x < 1e-3 ? x.toExponential().replace(/^(\d)e/, '$1.0e') : String(x));

const TEMPLATE = `# LR Finder training config. Reference: the README, or hover any key (JSON Schema).
# Run "Find Learning Rate" on this file; clicking the plot rewrites optimizer.learningRate.
model:
  layers:
    - Dense: { units: 32, activation: relu, inputShape: [4] }   # inputShape = number of feature columns
    - Dense: { units: 3, activation: softmax }                  # units = number of classes
data:
  path: data.csv          # CSV with a header row, relative to this file
  label: label            # the target column; every other column is a feature
  standardize: true
loss: categoricalCrossentropy
optimizer:
  name: adam
  learningRate: 0.001
batchSize: 32
seed: 0
sweep:
  startLr: ${yamlNumber(FASTAI_DEFAULTS.startLr)}
  endLr: ${yamlNumber(FASTAI_DEFAULTS.endLr)}
  numIter: ${FASTAI_DEFAULTS.numIter}
`;

export async function createConfig(_extensionUri: vscode.Uri): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) { void vscode.window.showWarningMessage('Open a folder first: the config lives in the workspace.'); return; }
  const uri = vscode.Uri.joinPath(folder.uri, 'lr-finder.yaml');
  try {
    await vscode.workspace.fs.stat(uri);
    await vscode.window.showTextDocument(uri);
    return;
  } catch { /* does not exist yet */ }
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(TEMPLATE));
  await vscode.window.showTextDocument(uri);
}
