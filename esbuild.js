// Builds the bundles: extension host (node, vscode external), engine (node, TensorFlow.js), CLI, bench, webview
// (browser, Vega). `node esbuild.js [--production] [--watch]`. Type-checking is `tsc -p . --noEmit` (separate).
'use strict';
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const root = __dirname;
const dist = path.join(root, 'dist');

// mainFields: jsonc-parser's UMD entry hides its requires from the bundler; its ESM entry does not.
// ignoreAnnotations: tfjs-backend-cpu registers itself on import but its package.json claims no side effects.
const node = { platform: 'node', format: 'cjs', target: 'node20', bundle: true, mainFields: ['module', 'main'], ignoreAnnotations: true, sourcemap: !production, minify: production, logLevel: 'warning' };
const targets = [
  // tfjs-node is optional: required at run time if installed, never bundled.
  { ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { ...node, entryPoints: ['src/engines/tfjs/main.ts'], outfile: 'dist/engine.js', external: ['@tensorflow/tfjs-node'] },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', external: ['@tensorflow/tfjs-node'] },
  { ...node, entryPoints: ['bench/bench.ts'], outfile: 'dist/bench.js', external: ['@tensorflow/tfjs-node'] },
  { ...node, entryPoints: ['bench/quality.ts'], outfile: 'dist/quality.js', external: ['@tensorflow/tfjs-node'] },
  { ...node, entryPoints: ['bench/analysis.ts'], outfile: 'dist/bench-analysis.js' },
  { platform: 'browser', format: 'iife', target: 'es2022', bundle: true, sourcemap: !production, minify: true, logLevel: 'warning',
    entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
  { platform: 'browser', format: 'iife', target: 'es2022', bundle: true, sourcemap: false, minify: true, logLevel: 'warning',
    entryPoints: ['webview/report.ts'], outfile: 'dist/report.js' },
].filter((t) => fs.existsSync(path.join(root, t.entryPoints[0])));

function copyWasm() {
  const src = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  for (const f of fs.readdirSync(src).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(src, f), path.join(dist, f));
  // The 2-thread wasm build (bench's wasm-2t, backend wasmThreads > 1) loads its emscripten glue from beside the bundle.
  const glue = path.join(src, '..', 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  if (fs.existsSync(glue)) fs.copyFileSync(glue, path.join(dist, path.basename(glue)));
}

function reportSizes() {
  for (const t of targets) {
    const f = path.join(root, t.outfile);
    if (fs.existsSync(f)) console.log(`  ${t.outfile.padEnd(20)} ${(fs.statSync(f).size / 1024).toFixed(0).padStart(6)} KiB`);
  }
}

async function main() {
  fs.mkdirSync(dist, { recursive: true });
  copyWasm();
  if (watch) {
    for (const t of targets) await (await esbuild.context(t)).watch();
    console.log('[esbuild] watching');
    return;
  }
  await Promise.all(targets.map((t) => esbuild.build(t)));
  console.log(`[esbuild] built ${targets.length} bundles${production ? ' (production)' : ''}:`);
  reportSizes();
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
