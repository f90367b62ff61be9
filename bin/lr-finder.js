#!/usr/bin/env node
'use strict';
// The lr-finder command line. The real code is bundled by esbuild into dist/cli.js (`npm run build`).
require('../dist/cli.js');
