#!/usr/bin/env node
// `npm test`: every test, in order: static (typescript-eslint, both type-checks), unit (plain Node), python (the
// script engine's hook on real PyTorch scripts), host (a real VS Code extension host: code-server), UI
// (Playwright + Chromium driving the real workbench). Each stage prints "N passed, N failed"; this script adds them
// up and closes with the same line. `--only static|unit|python|host|ui` runs one stage.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const only = (() => { const i = process.argv.indexOf('--only'); return i > 0 ? process.argv[i + 1] : undefined; })();

function ensureHost() {
  // Installs code-server (Node 24 from npm), Debian chromium and playwright into a cache outside the clone.
  const r = spawnSync('bash', [path.join(root, 'scripts/vscode-host/install.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('installing the VS Code test host failed (scripts/vscode-host/install.sh)');
}

/** The Python the script engine's tests run under: it needs torch and pytest (CI installs Debian's python3-torch). */
function testPython() {
  for (const py of [process.env.LR_FINDER_TEST_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    if (spawnSync(py, ['-c', 'import torch, pytest'], { stdio: 'ignore' }).status === 0) return py;
  }
  console.error('no Python with torch and pytest found (set LR_FINDER_TEST_PYTHON, or apt-get install python3-torch python3-pytest)');
  return process.env.LR_FINDER_TEST_PYTHON || '/usr/bin/python3';
}

const stages = [
  { name: 'static', cmd: [process.execPath, 'scripts/static-checks.js'] },
  { name: 'unit', cmd: [process.execPath, 'scripts/run-mocha.js', 'out/test/unit'] },
  {
    name: 'python', pytest: true,
    // The script engine's hook inside real PyTorch scripts. No bytecode or cache files in the tree.
    cmd: () => [testPython(), '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test/python'],
    env: { PYTHONDONTWRITEBYTECODE: '1' },
    present: () => fs.existsSync(path.join(root, 'test/python')),
  },
  {
    name: 'host', needsHost: true,
    // The tests edit files: they get a fresh copy of the examples.
    cmd: () => [process.execPath, 'scripts/vscode-host/run-ext-tests.cjs', '--extensionDevelopmentPath', root,
      '--extensionTestsPath', path.join(root, 'out/test/host'), '--workspace', copyExamples(), '--timeout', '900'],
    present: () => fs.existsSync(path.join(root, 'out/test/host/index.js')),
  },
  {
    name: 'ui', needsHost: true,
    // The UI test runs the packaged extension: the .vsix that `npm run package` makes, installed into code-server.
    cmd: () => [process.execPath, 'test/ui/ui-test.cjs', '--vsix', packageVsix(), '--screenshot', path.join(root, '.test-output/screenshot.png')],
    present: () => fs.existsSync(path.join(root, 'test/ui/ui-test.cjs')),
  },
];

function packageVsix() {
  const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run package failed');
  return path.join(root, 'lr-finder.vsix');
}

function copyExamples() {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'lr-finder-ws-'));
  fs.cpSync(path.join(root, 'examples'), dir, { recursive: true });
  return dir;
}

function run(stage) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const cmd = typeof stage.cmd === 'function' ? stage.cmd() : stage.cmd;
    const child = spawn(cmd[0], cmd.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...stage.env } });
    let counts;
    const scan = (buf, out) => {
      out.write(buf);
      for (const line of buf.toString().split('\n')) {
        const m = /^(?:\w+: )?(\d+) passed, (\d+) failed/.exec(line.trim());
        if (m) counts = { passed: +m[1], failed: +m[2] };
        // pytest's closing line: "12 passed, 1 failed, 2 errors in 3.1s" (with or without ===)
        if (stage.pytest && / in [\d.]+s/.test(line) && /\d+ (passed|failed|error)/.test(line)) {
          const n = (w) => +(new RegExp(`(\\d+) ${w}`).exec(line)?.[1] ?? 0);
          counts = { passed: n('passed'), failed: n('failed') + n('error') };
        }
      }
    };
    child.stdout.on('data', (b) => scan(b, process.stdout));
    child.stderr.on('data', (b) => scan(b, process.stderr));
    child.on('close', (code) => {
      if (!counts) counts = { passed: 0, failed: 1 };
      if (code !== 0 && counts.failed === 0) counts.failed = 1; // crashed after printing its counts
      resolve({ ...counts, code, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

async function main() {
  let passed = 0, failed = 0;
  const summary = [];
  const selected = stages.filter((s) => (!only || s.name === only) && (!s.present || s.present()));
  if (selected.some((s) => s.needsHost)) ensureHost();
  for (const s of selected) {
    console.log(`\n=== ${s.name} tests ===`);
    const r = await run(s);
    passed += r.passed; failed += r.failed;
    summary.push(`${s.name}: ${r.passed} passed, ${r.failed} failed (${r.seconds.toFixed(0)} s)`);
  }
  console.log('\n' + summary.join('\n'));
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
main();
