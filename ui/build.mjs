// Builds the web UI into one directory of static files (default ../build/ui, or $UI_OUT):
// index.html, app.js, app.css. The analyzer embeds that directory (Makefile: ui_assets).
// Everything is bundled: nothing is fetched from outside at run time.
import * as esbuild from 'esbuild';
import { mkdirSync, copyFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, process.env.UI_OUT || '../build/ui');
const dev = process.env.UI_DEV === '1';
mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: { app: resolve(here, 'src/main.jsx') },
  bundle: true,
  outdir: out,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
});
copyFileSync(resolve(here, 'src/index.html'), resolve(out, 'index.html'));
copyFileSync(resolve(here, 'src/favicon.svg'), resolve(out, 'favicon.svg'));
console.log(`ui: built into ${out}`);
