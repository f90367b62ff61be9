#!/usr/bin/env node
// The static checks of `npm test`: typescript-eslint over the tree, and the type-checks of the extension/CLI/engines
// (tsconfig.json) and of the webview (webview/tsconfig.json, with the DOM lib). One line per check, then
// "N passed, N failed" like every other stage.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const checks = [
  ['eslint (typescript-eslint)', bin('eslint'), ['.']],
  ['tsc -p . --noEmit', bin('tsc'), ['-p', '.', '--noEmit']],
  ['tsc -p webview --noEmit', bin('tsc'), ['-p', 'webview', '--noEmit']],
];
let passed = 0, failed = 0;
for (const [name, cmd, args] of checks) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  const ok = r.status === 0;
  if (ok) passed++; else failed++;
  console.log(`  ${ok ? '✔' : '✘'} ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (!ok) process.stdout.write((r.stdout || '') + (r.stderr || '') + (r.error ? String(r.error) + '\n' : ''));
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
