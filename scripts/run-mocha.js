#!/usr/bin/env node
// Runs the compiled mocha tests in a folder (default out/test/unit) and closes with "N passed, N failed".
'use strict';
const fs = require('fs');
const path = require('path');
const Mocha = require('mocha');

const dir = path.resolve(process.argv[2] || 'out/test/unit');
const grep = process.env.MOCHA_GREP;
const mocha = new Mocha({ ui: 'bdd', color: !!process.stdout.isTTY, timeout: 120000, reporter: 'spec', ...(grep ? { grep } : {}) });
for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.test.js')) mocha.addFile(path.join(dir, f));
const runner = mocha.run((failures) => {
  const passed = runner.stats.passes;
  console.log(`${passed} passed, ${failures} failed`);
  process.exitCode = failures ? 1 : 0;
});
