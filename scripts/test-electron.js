#!/usr/bin/env node
// The host tests with @vscode/test-electron, for machines with internet (it downloads VS Code). Offline, `npm test`
// runs the same tests in code-server instead (scripts/vscode-host/).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runTests } = require('@vscode/test-electron');

async function main() {
  const root = path.resolve(__dirname, '..');
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'lr-finder-ws-'));
  fs.cpSync(path.join(root, 'examples'), ws, { recursive: true });
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out/test/host/index.js'),
    launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust'],
  });
}

main().catch((e) => { console.error(e); process.exit(1); });
