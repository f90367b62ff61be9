/** The panel's script: renders what the host sends, posts what the user does. State lives in the host. */
import type { MarkRow, PointRow } from '../src/core/chartSpec';
import { ExportMessage, PickMessage, PickResultMessage, PointsMessage, ReadyMessage, RerunMessage, SnapshotMessage, StopMessage, VerifyMessage, type SuggestionView, type SweepView } from '../src/core/messages';
import { formatLr, roundSignificant } from '../src/core/format';
import { LossChart } from './chart';
import { OneCyclePreview } from './oneCycle';
import { VerifyChart } from './verifyChart';
import { onThemeChange, readTheme } from './theme';
import { showTooltip } from './tooltip';

interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const tooltip = $('tooltip');
let view: SweepView | undefined;
const preview = new OneCyclePreview($('onecycle'));
/** The LR the preview falls back to when nothing is hovered: the last pick, else the recommended suggestion. */
let pinned: { lr: number; why: string } | undefined;
const showPinned = () => preview.show(pinned?.lr, pinned?.why ?? '');

const chart = new LossChart($('chart'), readTheme(), {
  onHover: (row: PointRow | MarkRow | undefined, x: number, y: number) => {
    showTooltip(tooltip, row, x, y);
    if (row && view?.status === 'done') preview.show(roundSignificant(row.lr, view.digits), 'Hovered'); else showPinned();
  },
  onPick: (lr: number) => {
    if (view?.status !== 'done') return;
    pinned = { lr: roundSignificant(lr, view.digits), why: 'Picked' };
    showPinned();
    setPickResult(`Writing ${formatLr(roundSignificant(lr, view.digits), view.digits)}…`);
    vscode.postMessage(PickMessage.make({ lr, source: 'plot' }));
  },
});
const verifyChart = new VerifyChart($('verify-chart'), readTheme());
onThemeChange(() => { void chart.setTheme(readTheme()); void verifyChart.setTheme(readTheme()); });
$('chart').addEventListener('mouseleave', () => { tooltip.hidden = true; });

function setPickResult(text: string, ok?: boolean) {
  const el = $('pick-result');
  el.textContent = text;
  el.className = ok === undefined ? '' : ok ? 'ok' : 'fail';
}

function renderSuggestions(list: SuggestionView[]) {
  const ol = $('suggestions');
  ol.replaceChildren(...list.map((s) => {
    const li = document.createElement('li');
    if (s.recommended) li.className = 'recommended';
    const b = document.createElement('button');
    b.className = 'suggestion';
    b.dataset.name = s.name;
    b.disabled = s.lr === undefined || s.name === 'minimumPoint';
    b.title = s.explanation;
    b.append(Object.assign(document.createElement('span'), { className: 'label', textContent: s.label + (s.recommended ? ' ★' : '') }));
    b.append(Object.assign(document.createElement('span'), { className: 'value', textContent: s.text ?? '—' }));
    b.addEventListener('mouseenter', () => { if (s.lr !== undefined) preview.show(roundSignificant(s.lr, view?.digits ?? 2), s.label); });
    b.addEventListener('focus', () => { if (s.lr !== undefined) preview.show(roundSignificant(s.lr, view?.digits ?? 2), s.label); });
    b.addEventListener('mouseleave', showPinned);
    b.addEventListener('click', () => {
      if (s.lr === undefined) return;
      pinned = { lr: roundSignificant(s.lr, view?.digits ?? 2), why: 'Picked' };
      setPickResult(`Writing ${s.text}…`);
      vscode.postMessage(PickMessage.make({ lr: s.lr, source: 'suggestion', name: s.name }));
    });
    const p = document.createElement('p');
    p.className = 'explanation';
    p.textContent = s.spread ? `${s.explanation} (${s.spread})` : s.explanation;
    li.append(b, p);
    return li;
  }));
}

function renderVerify(v: SweepView) {
  const box = $('verify-box');
  const ver = v.verify;
  box.hidden = !ver;
  if (!ver) { document.body.dataset.verify = 'none'; return; }
  document.body.dataset.verify = ver.status;
  $('verify-budget').textContent = ver.status === 'ready' || ver.status === 'running' ? ver.budget : '';
  const button = $<HTMLButtonElement>('verify');
  button.hidden = ver.status === 'running' || v.status === 'running';
  button.textContent = ver.status === 'ready' ? 'Verify the LR' : 'Verify again';
  button.title = ver.budget;
  $('verify-stop').hidden = ver.status !== 'running';
  $('verify-text').textContent = ver.text;
  void verifyChart.set(ver.rows).then(() => { document.body.dataset.verifyDrawn = String(verifyChart.drawn); });
}

/** Points received since the last snapshot plus the snapshot's own: what the host has sent. */
let sent = 0;

function render(v: SweepView) {
  view = v;
  sent = v.rows.length;
  document.body.dataset.sent = String(sent);
  vscode.setState(v.persist);
  $('title').textContent = v.title;
  $('subtitle').textContent = v.subtitle;
  $('status').textContent = v.statusText;
  $('status').className = v.status;
  $('target').textContent = v.target ? `Click the plot or a suggestion to write the LR into ${v.target}.` : '';
  $('stop').hidden = v.status !== 'running';
  $('rerun').hidden = v.status === 'running';
  $('repeat3').hidden = v.status === 'running';
  $('export').hidden = v.status !== 'done';
  document.body.dataset.status = v.status;
  renderSuggestions(v.suggestions);
  renderVerify(v);
  const rec = v.suggestions.find((s) => s.recommended && s.lr !== undefined);
  if (!pinned || pinned.why !== 'Picked') pinned = rec ? { lr: roundSignificant(rec.lr!, v.digits), why: rec.label } : undefined;
  showPinned();
  void chart.setAll(v.rows, v.marks, v.tangent, v.yDomain, v.showValidation, v.xDomain, v.showBand).then(() => {
    document.body.dataset.rendered = String(chart.renderedPoints);
    if (v.marks.length) document.body.dataset.annotated = 'true'; else delete document.body.dataset.annotated;
  });
}

window.addEventListener('message', (ev: MessageEvent) => {
  const m = ev.data;
  if (SnapshotMessage.is(m)) render(m.params);
  else if (PointsMessage.is(m) && view) {
    // The chart owns the live rows (LossChart.append); the snapshot's rows are not touched here.
    sent += m.params.rows.length;
    document.body.dataset.sent = String(sent);
    $('status').textContent = m.params.statusText;
    void chart.append(m.params.rows, m.params.showValidation).then(() => { document.body.dataset.rendered = String(chart.renderedPoints); });
  } else if (PickResultMessage.is(m)) setPickResult(m.params.text, m.params.ok);
});

$('stop').addEventListener('click', () => vscode.postMessage(StopMessage.make({})));
$('verify').addEventListener('click', () => vscode.postMessage(VerifyMessage.make({})));
$('verify-stop').addEventListener('click', () => vscode.postMessage(StopMessage.make({})));
$('rerun').addEventListener('click', () => vscode.postMessage(RerunMessage.make({})));
$('repeat3').addEventListener('click', () => vscode.postMessage(RerunMessage.make({ repeats: 3 })));
$<HTMLSelectElement>('export').addEventListener('change', async (ev) => {
  const sel = ev.target as HTMLSelectElement;
  const format = sel.value as 'svg' | 'png' | 'csv' | 'json' | '';
  sel.value = '';
  if (!format) return;
  const v = chart.view;
  let data: string | undefined;
  if (format === 'svg' && v) data = await v.toSVG();
  if (format === 'png' && v) data = await v.toImageURL('png', 2);
  vscode.postMessage(ExportMessage.make({ format, data }));
});

vscode.postMessage(ReadyMessage.make({}));
