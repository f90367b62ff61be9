#!/usr/bin/env node
// UI test in a real VS Code workbench (code-server), driven by playwright-core + Debian's Chromium, as a user would:
// open the Iris example, run "Find Learning Rate" from the palette, wait for the annotations, hover the curve and
// read the tooltip, click the plot, see the editor text change, export the plot and the curve, reload the window and see the
// panel restored; then, in a second workbench with Workspace Trust on and the folder untrusted, see that nothing runs;
// then, in a third on the PyTorch example (lrFinder.python: $LR_FINDER_TEST_PYTHON or /usr/bin/python3, which has
// torch), run Find Learning Rate on train.py itself and see its curve and suggestions (screenshot-pytorch.png beside
// the screenshot).
//   node test/ui/ui-test.cjs (--extensionDevelopmentPath DIR | --vsix FILE) [--screenshot FILE.png]
// Prints "N passed, N failed"; exit 0/1 (2 = infrastructure error).
'use strict';
const fs = require('fs');
const path = require('path');
const { parseArgs, startHost, workbenchUrl, launchBrowser, mkRunDir } = require('../../scripts/vscode-host/lib/host.cjs');
const ui = require('../../scripts/vscode-host/lib/ui.cjs');

const ROOT = path.resolve(__dirname, '../..');
// The interpreter for the PyTorch run: it needs torch (python3 on PATH may not have it).
const PYTHON = process.env.LR_FINDER_TEST_PYTHON || '/usr/bin/python3';
const MAIN_STEPS = 9; // the Iris workbench's 8 steps and the untrusted workbench
const PYTORCH_STEPS = 3;


async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.vsix && !args.extensionDevelopmentPath) throw new Error('need --vsix or --extensionDevelopmentPath');
  const screenshot = path.resolve(args.screenshot || 'ui-test.png');
  const t0 = Date.now();
  const runDir = mkRunDir();
  const ws = path.join(runDir, 'iris');
  fs.cpSync(path.join(ROOT, 'examples/iris'), ws, { recursive: true });
  const host = await startHost({
    runDir, vsix: args.vsix, workspace: ws,
    settings: { 'lrFinder.confirmBeforeWriting': false, 'workbench.colorTheme': 'Default Dark Modern' },
  });
  console.log(`[ui-test] code-server ready at ${host.url} in ${host.startMs} ms (run dir ${host.runDir})`);
  const browser = await launchBrowser({ viewport: { width: 1500, height: 900 } });
  const { page } = browser;
  const results = [];
  const step = async (name, fn) => {
    const s = Date.now();
    try { await fn(); results.push(true); console.log(`  ✔ ${name} (${Date.now() - s} ms)`); }
    catch (e) { results.push(false); console.log(`  ✘ ${name}: ${e.message.split('\n')[0]}`); throw e; }
  };
  const wv = () => ui.webviewContent(page);
  // The webview runs under a strict CSP (no eval, nonce'd scripts): any violation is a failure.
  const cspViolations = [];
  page.on('console', (m) => { if (/Content Security Policy|unsafe-eval/i.test(m.text())) cspViolations.push(m.text().slice(0, 200)); });
  const url = workbenchUrl(host, { folder: ws, extensionDevelopmentPath: args.extensionDevelopmentPath });
  let shot = false;
  try {
    await step('workbench loads', async () => {
      await page.goto(url);
      await ui.waitForWorkbench(page);
    });
    await step('open lr-finder.yaml from the Explorer', async () => {
      await ui.openFromExplorer(page, 'lr-finder.yaml');
      if (!(await ui.editorText(page, 'lr-finder.yaml')).includes('learningRate: 0.001')) throw new Error('unexpected file text');
    });
    await step('run "LR Finder: Find Learning Rate" from the command palette', async () => {
      await ui.runCommand(page, 'LR Finder: Find Learning Rate');
    });
    await step('the curve draws and the annotations appear', async () => {
      await wv().locator('body[data-annotated="true"]').waitFor({ timeout: 90000 });
      const n = Number(await wv().locator('body').getAttribute('data-rendered'));
      if (!(n >= 50)) throw new Error(`only ${n} points rendered`);
      if (cspViolations.length) throw new Error(`CSP violations: ${cspViolations.join(' | ')}`);
      const status = await wv().locator('#status').innerText();
      if (!/^\d+ steps, /.test(status)) throw new Error(`status after the sweep: ${status}`);
      const sugg = await wv().locator('#suggestions').innerText();
      for (const s of ['Steepest slope', 'Valley', 'Slide', 'Steep', 'Minimum']) if (!sugg.includes(s)) throw new Error(`no ${s} in ${sugg}`);
    });
    let box;
    await step('hovering the curve shows the LR, loss, slope and what it means', async () => {
      box = await wv().locator('#chart canvas').boundingBox();
      if (!box) throw new Error('no canvas');
      let text = '';
      for (const fx of [0.45, 0.5, 0.55, 0.6]) {
        await page.mouse.move(box.x + box.width * fx, box.y + box.height * 0.5);
        await page.waitForTimeout(150);
        const tip = wv().locator('#tooltip');
        if (await tip.isVisible()) { text = await tip.innerText(); if (/per decade/.test(text)) break; }
      }
      if (!/^LR /m.test(text) || !/loss/.test(text) || !/per decade of LR/.test(text)) throw new Error(`tooltip: ${JSON.stringify(text)}`);
      if (!/(Falling|Flat|Flattening|Rising|Diverging)/.test(text)) throw new Error(`no explanation in ${JSON.stringify(text)}`);
      console.log(`    tooltip: ${text.replace(/\n/g, ' | ')}`);
      const cap = await wv().locator('.onecycle-caption').innerText();
      if (!/^Hovered: one-cycle with max LR .* starts at .* rises to the max by 25% of training/.test(cap)) throw new Error(`one-cycle preview: ${cap}`);
    });
    await step('clicking the plot writes the LR into the editor', async () => {
      await page.mouse.click(box.x + box.width * 0.55, box.y + box.height * 0.5);
      await wv().locator('#pick-result.ok').waitFor({ timeout: 20000 });
      const deadline = Date.now() + 10000;
      let text = '';
      while (Date.now() < deadline) {
        text = await ui.editorText(page, 'lr-finder.yaml');
        const m = /learningRate: ([0-9.e-]+)/.exec(text);
        if (m && m[1] !== '0.001') { console.log(`    editor now has learningRate: ${m[1]}`); break; }
        await page.waitForTimeout(200);
      }
      if (!/learningRate: (?!0\.001\b)[0-9.e-]+/.test(text)) throw new Error(`editor text: ${text}`);
      await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.8);
      await page.waitForTimeout(300);
      await page.screenshot({ path: screenshot });
      shot = true;
    });
    await step('Export saves the plot (PNG, SVG) and the curve (CSV, JSON) next to the config through the save dialog', async () => {
      const input = page.locator('.quick-input-widget .quick-input-box input');
      const check = {
        png: (b) => { if (b.readUInt32BE(0) !== 0x89504e47 || b.readUInt32BE(16) < 400 || b.readUInt32BE(20) < 200) throw new Error('not a plot-sized PNG'); return `${b.readUInt32BE(16)}×${b.readUInt32BE(20)} PNG`; },
        svg: (b) => { const t = b.toString('utf8'); if (!/^<svg[\s\S]*learning rate[\s\S]*<\/svg>\s*$/.test(t)) throw new Error('not the plot as SVG'); return 'SVG'; },
        csv: (b) => { const rows = b.toString('utf8').trim().split('\n'); if (!/lr/.test(rows[0]) || rows.length < 51) throw new Error(`CSV: ${rows[0]}, ${rows.length} rows`); return `CSV, ${rows.length - 1} rows`; },
        json: (b, file) => {
          const r = require('child_process').spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'suggest', file, '--json'], { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`lr-finder suggest cannot read the exported JSON: ${r.stderr}`);
          if (!JSON.parse(r.stdout).suggestions.recommended) throw new Error('no recommendation from the exported curve');
          return 'JSON that lr-finder suggest reads';
        },
      };
      for (const format of ['png', 'svg', 'csv', 'json']) {
        const file = path.join(ws, `lr-finder-lr-curve.${format}`);
        await wv().locator('#export').selectOption(format);
        // code-server's save dialog is a quick input holding the offered path; Enter accepts it.
        await input.waitFor({ state: 'visible', timeout: 15000 });
        let offered = '';
        for (const until = Date.now() + 10000; Date.now() < until && !offered.endsWith(path.basename(file));) {
          await page.waitForTimeout(200); // the dialog fills the path in as it resolves the folder
          offered = await input.inputValue();
        }
        if (!offered.endsWith(path.basename(file))) throw new Error(`the dialog offers ${offered}`);
        await input.press('Enter');
        const deadline = Date.now() + 20000;
        while (!fs.existsSync(file) && Date.now() < deadline) await page.waitForTimeout(200);
        if (!fs.existsSync(file)) throw new Error(`${file} was not written`);
        await page.waitForTimeout(300); // let the write finish
        console.log(`    exported ${path.basename(file)}: ${check[format](fs.readFileSync(file), file)}`);
      }
    });
    await step('after a window reload the panel is restored with its curve', async () => {
      // Save first, as a user would; a "leave page?" prompt for unsaved work is accepted, not dismissed.
      page.on('dialog', (d) => { void d.accept().catch(() => {}); });
      await ui.editorFor(page, 'lr-finder.yaml').click();
      await page.keyboard.press('Control+S');
      await page.waitForTimeout(500);
      await page.reload();
      await ui.waitForWorkbench(page);
      await wv().locator('body[data-annotated="true"]').waitFor({ timeout: 60000 });
      const status = await wv().locator('#status').innerText();
      if (!/steps/.test(status)) throw new Error(`status: ${status}`);
    });
  } catch {
    const fail = screenshot.replace(/\.png$/, '') + '-failure.png';
    await page.screenshot({ path: fail }).catch(() => {});
    console.log(`[ui-test] failure screenshot: ${fail}`);
  } finally {
    if (!shot) await page.screenshot({ path: screenshot }).catch((e) => console.log('screenshot failed', e.message));
    console.log(`[ui-test] screenshot: ${screenshot}`);
    await browser.close();
    await host.stop();
  }
  if (results.length === 8 && results.every(Boolean)) await untrustedWorkspace(args, results);
  const torchResults = [];
  await pytorchWorkspace(args, torchResults, path.join(path.dirname(screenshot), 'screenshot-pytorch.png'));
  // A step that failed counts; when none did, the steps that did not run (a crash) count as failed.
  const failures = (rs, expected) => rs.filter((r) => !r).length || Math.max(0, expected - rs.length);
  const passed = results.filter(Boolean).length + torchResults.filter(Boolean).length;
  const failed = failures(results, MAIN_STEPS) + failures(torchResults, PYTORCH_STEPS);
  console.log(`${passed} passed, ${failed} failed`);
  console.log(`[ui-test] total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (!process.env.KEEP_RUN_DIR && failed === 0) fs.rmSync(host.runDir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

/** A second workbench with Workspace Trust on and the folder not trusted (Restricted Mode): nothing may run. */
async function untrustedWorkspace(args, results) {
  const name = 'in an untrusted workspace (Restricted Mode) Find Learning Rate explains why and runs nothing';
  const s = Date.now();
  const runDir = mkRunDir();
  const ws = path.join(runDir, 'iris');
  fs.cpSync(path.join(ROOT, 'examples/iris'), ws, { recursive: true });
  const before = fs.readFileSync(path.join(ws, 'lr-finder.yaml'), 'utf8');
  let host, browser;
  try {
    host = await startHost({ runDir, vsix: args.vsix, workspace: ws, workspaceTrust: true });
    browser = await launchBrowser({ viewport: { width: 1500, height: 900 } });
    const { page } = browser;
    await page.goto(workbenchUrl(host, { folder: ws, extensionDevelopmentPath: args.extensionDevelopmentPath }));
    await ui.waitForWorkbench(page);
    await page.locator('.statusbar, .monaco-workbench').first().waitFor();
    await ui.openFromExplorer(page, 'lr-finder.yaml');
    await ui.runCommand(page, 'LR Finder: Find Learning Rate');
    // The warning goes to the notifications (a toast only while the headless window has focus): open the list.
    await page.waitForTimeout(1000);
    await ui.runCommand(page, 'Notifications: Show Notifications');
    const item = page.locator('.notifications-center .notification-list-item', { hasText: 'only runs in a trusted workspace' });
    await item.waitFor({ state: 'visible', timeout: 20000 });
    if (!(await item.innerText()).includes('Manage Workspace Trust')) throw new Error('the warning offers no way to trust the workspace');
    const tabs = await page.locator('.tabs-container .tab', { hasText: 'LR Finder' }).count();
    if (tabs) throw new Error('a panel opened although the workspace is not trusted');
    if (fs.readFileSync(path.join(ws, 'lr-finder.yaml'), 'utf8') !== before) throw new Error('the config changed');
    results.push(true);
    console.log(`  ✔ ${name} (${Date.now() - s} ms)`);
  } catch (e) {
    results.push(false);
    console.log(`  ✘ ${name}: ${String(e && e.message || e).split('\n')[0]}`);
    if (browser) await browser.page.screenshot({ path: path.join(ROOT, '.test-output/untrusted-failure.png') }).catch(() => {});
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (host) await host.stop();
    if (!process.env.KEEP_RUN_DIR && results[results.length - 1]) fs.rmSync(runDir, { recursive: true, force: true });
  }
}

/** Every file under `dir` with its content, to see that a script sweep leaves the folder as it was. */
function treeState(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { out.push(`${path.relative(dir, p)}/`); walk(p); }
      else out.push(`${path.relative(dir, p)} ${require('crypto').createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

/**
 * A third workbench on the PyTorch example: open train.py, run Find Learning Rate from the palette (the script engine
 * runs the script unchanged with the configured interpreter), see the curve and the suggestions, take a screenshot.
 */
async function pytorchWorkspace(args, results, screenshot) {
  const runDir = mkRunDir();
  const ws = path.join(runDir, 'pytorch');
  fs.cpSync(path.join(ROOT, 'examples/pytorch'), ws, { recursive: true });
  const before = treeState(ws);
  let host, browser, ok = false;
  const step = async (name, fn) => {
    const s = Date.now();
    try { await fn(); results.push(true); console.log(`  ✔ ${name} (${Date.now() - s} ms)`); }
    catch (e) { results.push(false); console.log(`  ✘ ${name}: ${String(e && e.message || e).split('\n')[0]}`); throw e; }
  };
  try {
    host = await startHost({
      runDir, vsix: args.vsix, workspace: ws,
      settings: { 'lrFinder.python': PYTHON, 'lrFinder.confirmBeforeWriting': false, 'lrFinder.verify.steps': 100, 'workbench.colorTheme': 'Default Dark Modern' },
    });
    browser = await launchBrowser({ viewport: { width: 1500, height: 900 } });
    const { page } = browser;
    const wv = () => ui.webviewContent(page);
    await step('PyTorch example: open train.py from the Explorer', async () => {
      await page.goto(workbenchUrl(host, { folder: ws, extensionDevelopmentPath: args.extensionDevelopmentPath }));
      await ui.waitForWorkbench(page);
      await ui.openFromExplorer(page, 'train.py');
      if (!(await ui.editorText(page, 'train.py')).includes('import torch')) throw new Error('unexpected file text');
    });
    await step('PyTorch example: run "LR Finder: Find Learning Rate" from the command palette on the open script', async () => {
      await ui.runCommand(page, 'LR Finder: Find Learning Rate');
    });
    await step('PyTorch example: the script\'s curve draws with its suggestions, and the folder is as it was', async () => {
      await wv().locator('body[data-status="done"][data-annotated="true"]').waitFor({ timeout: 120000 });
      const n = Number(await wv().locator('body').getAttribute('data-rendered'));
      if (!(n >= 50)) throw new Error(`only ${n} points rendered`);
      const status = await wv().locator('#status').innerText();
      if (!/^\d+ steps, /.test(status) || !/Your folder is as it was/.test(status)) throw new Error(`status after the sweep: ${status}`);
      const subtitle = await wv().locator('#subtitle').innerText();
      if (!/Adam/.test(subtitle) || !/PyTorch/.test(subtitle) || !/train\.py/.test(subtitle)) throw new Error(`subtitle: ${subtitle}`);
      const sugg = await wv().locator('#suggestions').innerText();
      for (const s of ['Steepest slope', 'Valley', 'Slide', 'Steep', 'Minimum']) if (!sugg.includes(s)) throw new Error(`no ${s} in ${sugg}`);
      const target = await wv().locator('#target').innerText();
      if (!/train\.py:\d+ \(--lr = 1e-3\)/.test(target)) throw new Error(`target: ${target}`);
      console.log(`    ${status}\n    ${subtitle}\n    ${target}`);
      await page.mouse.move(5, 450);
      await page.waitForTimeout(300);
      await page.screenshot({ path: screenshot });
      console.log(`[ui-test] screenshot: ${screenshot}`);
      const after = treeState(ws);
      if (after !== before) throw new Error(`the folder changed:\n${after}`);
    });
    await step('PyTorch example: Verify shows its budget, trains the candidates, draws their held-out losses and stars the measured LR', async () => {
      const budget = await wv().locator('#verify-budget').innerText();
      if (!/^Verify trains 5 to 8 trainings of 100 steps: /.test(budget)) throw new Error(`budget: ${budget}`);
      await wv().locator('#verify').click();
      await wv().locator('body[data-verify="done"]').waitFor({ timeout: 240000 });
      await page.waitForTimeout(500);
      const drawn = Number(await wv().locator('body').getAttribute('data-verify-drawn'));
      if (!(drawn >= 5 && drawn <= 8)) throw new Error(`${drawn} candidates drawn`);
      const text = await wv().locator('#verify-text').innerText();
      if (!/trained best of \d candidates after 100 steps of one-cycle \(held-out loss /.test(text)) throw new Error(`verify text: ${text}`);
      const first = await wv().locator('#suggestions li').first().innerText();
      if (!/^Verified \(measured\) ★/.test(first)) throw new Error(`first suggestion: ${first}`);
      console.log(`    ${text}`);
      await wv().locator('#verify-box').scrollIntoViewIfNeeded();
      await page.mouse.move(5, 450);
      await page.waitForTimeout(300);
      const shot = screenshot.replace(/\.png$/, '') + '-verify.png';
      await page.screenshot({ path: shot });
      console.log(`[ui-test] screenshot: ${shot}`);
      const after = treeState(ws);
      if (after !== before) throw new Error(`the folder changed:\n${after}`);
    });
    ok = true;
  } catch (e) {
    if (results.length === 0) { results.push(false); console.log(`  ✘ PyTorch example: ${String(e && e.message || e).split('\n')[0]}`); }
    if (browser) await browser.page.screenshot({ path: screenshot.replace(/\.png$/, '') + '-failure.png' }).catch(() => {});
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (host) await host.stop();
    if (!process.env.KEEP_RUN_DIR && ok) fs.rmSync(runDir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (e) => { console.error('[ui-test] ERROR', e); process.exit(2); });
