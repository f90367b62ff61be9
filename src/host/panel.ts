/**
 * The plot panel: a webview under a strict Content Security Policy that renders what the host sends. Messages are
 * queued until the webview says `ready`; then it gets the latest snapshot, and live points in batches.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import type { PointRow } from '../core/chartSpec';
import { ExportMessage, PickMessage, ReadyMessage, RerunMessage, StopMessage, VerifyMessage, type SweepView } from '../core/messages';
import { Outbox } from '../core/outbox';

export const VIEW_TYPE = 'lrFinder.plot';

export interface PanelHandlers {
  onPick(lr: number, source: 'plot' | 'suggestion'): void;
  onStop(): void;
  onRerun(repeats?: number): void;
  onExport(format: 'svg' | 'png' | 'csv' | 'json', data?: string): void;
  onVerify(): void;
  onDispose(): void;
}

export class LrPanel implements vscode.Disposable {
  private readonly outbox: Outbox;
  private readonly subs: vscode.Disposable[] = [];

  static create(extensionUri: vscode.Uri, handlers: PanelHandlers): LrPanel {
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'LR Finder', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
    return new LrPanel(panel, extensionUri, handlers);
  }

  constructor(readonly panel: vscode.WebviewPanel, private readonly extensionUri: vscode.Uri, private readonly handlers: PanelHandlers) {
    const dist = vscode.Uri.joinPath(extensionUri, 'dist');
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    panel.iconPath = vscode.Uri.joinPath(media, 'icon.svg');
    this.outbox = new Outbox((m) => void this.panel.webview.postMessage(m),
      { set: (f, ms) => setTimeout(f, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) });
    // Listen before setting html, so `ready` cannot be missed.
    this.subs.push(panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)));
    this.subs.push(panel.onDidDispose(() => { this.disposeInternals(); handlers.onDispose(); }));
    panel.webview.html = this.html();
  }

  private receive(m: unknown) {
    if (ReadyMessage.is(m)) this.outbox.onReady();
    else if (PickMessage.is(m)) {
      if (typeof m.params?.lr === 'number' && m.params.lr > 0 && Number.isFinite(m.params.lr)) this.handlers.onPick(m.params.lr, m.params.source === 'suggestion' ? 'suggestion' : 'plot');
    } else if (StopMessage.is(m)) this.handlers.onStop();
    else if (VerifyMessage.is(m)) this.handlers.onVerify();
    else if (RerunMessage.is(m)) {
      const k = m.params?.repeats;
      this.handlers.onRerun(typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= 16 ? k : undefined);
    }
    else if (ExportMessage.is(m)) {
      const f = m.params?.format;
      if (f === 'svg' || f === 'png' || f === 'csv' || f === 'json') this.handlers.onExport(f, typeof m.params.data === 'string' ? m.params.data : undefined);
    }
  }

  post(message: unknown) {
    this.outbox.send(message);
  }

  /** Replace the whole view (a sweep started, ended or the panel was restored). */
  setView(view: SweepView) {
    this.outbox.setView(view);
  }

  /** Live points, batched: at most one message every 100 ms. */
  pushPoints(rows: PointRow[], statusText: string, showValidation: boolean) {
    this.outbox.pushPoints(rows, statusText, showValidation);
  }

  /** What the panel shows now (the last snapshot with the live points since). */
  get current(): SweepView | undefined {
    return this.outbox.current;
  }

  reveal() {
    this.panel.reveal(undefined, true);
  }

  private html(): string {
    const w = this.panel.webview;
    const nonce = crypto.randomBytes(18).toString('base64');
    const script = w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    const style = w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'panel.css'));
    const csp = [
      "default-src 'none'",
      `img-src ${w.cspSource} data: blob:`,
      `style-src ${w.cspSource}`,
      `font-src ${w.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${style}" rel="stylesheet">
<title>LR Finder</title>
</head>
<body>
<header>
  <div><h1 id="title">LR Finder</h1><div id="subtitle"></div></div>
  <div class="toolbar">
    <button id="stop" class="secondary" hidden>Stop</button>
    <button id="rerun" class="secondary" hidden>Run again</button>
    <button id="repeat3" class="secondary" hidden title="Run the sweep 3 times with different seeds and batch orders; plot the median and the spread">Repeat ×3</button>
    <select id="export" aria-label="Export" hidden>
      <option value="">Export…</option><option value="png">Plot as PNG</option><option value="svg">Plot as SVG</option>
      <option value="csv">Curve as CSV</option><option value="json">Curve as JSON</option>
    </select>
  </div>
</header>
<div id="status" role="status" aria-live="polite">Starting…</div>
<main>
  <section id="chart-wrap">
    <div id="chart" aria-label="Loss against learning rate; click to pick a learning rate"></div>
    <div id="onecycle" aria-label="One-cycle preview"></div>
  </section>
  <aside>
    <h2>Suggestions</h2>
    <div id="target"></div>
    <ol id="suggestions"></ol>
    <div id="pick-result" role="status" aria-live="polite"></div>
    <section id="verify-box" hidden>
      <h2>Verify</h2>
      <p class="explanation">Train a few candidate max LRs around the recommendation with one-cycle, from the same start, and keep the one with the lowest held-out loss: the LR measured, not read off the curve.</p>
      <p id="verify-budget" class="explanation"></p>
      <div class="verify-actions"><button id="verify">Verify the LR</button><button id="verify-stop" class="secondary" hidden>Stop</button></div>
      <div id="verify-chart" aria-label="Held-out loss against the candidate learning rates"></div>
      <p id="verify-text" role="status" aria-live="polite"></p>
    </section>
    <details id="why"><summary>Why the steepest slope, not the minimum?</summary>
      <p>At the <b>minimum</b> the loss has already stopped improving: that LR sits at the edge of divergence.
      Where the loss <b>falls fastest</b> (the steepest slope) the model learns fastest. Use the chosen value as the
      <b>maximum</b> LR of a one-cycle schedule: it starts at about max/25, rises to the max, then anneals to almost zero (/\\).</p>
    </details>
  </aside>
</main>
<div id="tooltip" role="tooltip" hidden></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  private disposeInternals() {
    this.outbox.dispose();
    this.subs.forEach((s) => s.dispose());
  }

  dispose() {
    this.panel.dispose();
  }
}
