#!/usr/bin/env node
// Bundles the CLI (our modules and commander) into one CommonJS file, dist/cli/main.cjs, and makes its V8
// code cache: bin/memregion then reads two files and compiles almost nothing, so that `memregion profiles
// --json` starts in about 1.2x `node -e 0` (npm run bench, section 4) instead of 1.45x with ES-module
// chunks (each module costs the ES-module loader a resolve, a read and a link). Modules behind import() stay
// lazily evaluated inside the bundle. chalk, ora, execa, zod, hdr-histogram-js and tar stay packages,
// loaded only when used: import() of them goes to bin/load-bundle.cjs (below), and the two static imports
// (zod in the profile schema, execa in the emulated trace harness) are require()d when their module is
// first used (zod has a CommonJS build; Node >= 20.19 requires the ES module execa without a warning).
// The library API is tsc's output in dist/src.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const PACKAGES = ['chalk', 'ora', 'execa', 'zod', 'hdr-histogram-js', 'tar'];
const OUT = 'dist/cli/main.cjs';
/** The bundle is the body of the function bin/load-bundle.cjs compiles (no second copy to wrap it). */
const PARAMETERS = 'exports, require, module, __filename, __dirname, importExternal';

rmSync('dist/cli', { recursive: true, force: true });

await build({
  entryPoints: ['src/main.ts'],
  outfile: OUT,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() becomes require() (esbuild's lazy module wrappers): a vm.Script cannot import() on Node 20.
  supported: { 'dynamic-import': false },
  // Minified, no comment survives: the arrows and such in comments esbuild keeps made V8 hold the whole
  // source as a two-byte string (1.2 MB instead of 410 KB to decode and collect at every start).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  external: PACKAGES,
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: {
    // The directive first, or the function body would not be strict (ES modules are).
    js: `(function (${PARAMETERS}) {'use strict';var importMetaUrl = require('node:url').pathToFileURL(__filename).href;`,
  },
  footer: { js: '})' },
  logLevel: 'warning',
});

// esbuild's interop would give an ES-module package's namespace as its default export: the packages
// imported on use are imported for real, by bin/load-bundle.cjs (the `importExternal` of the bundle).
const names = PACKAGES.map((p) => p.replace(/[-]/g, '\\-')).join('|');
const dynamicRequire = new RegExp(
  String.raw`Promise\.resolve\(\)\.then\(\(\)\s*=>\s*__toESM\(require\("(${names})"\),\s*1\)\)`,
  'g',
);
const bundled = readFileSync(OUT, 'utf8');
// Padded to the same length, so that the source map stays exact.
const rewritten = bundled.replace(dynamicRequire, (all, name) =>
  `importExternal("${name}")`.padEnd(all.length),
);
if (rewritten === bundled)
  throw new Error('bundle: found no import() of a package to route to importExternal');
writeFileSync(OUT, rewritten);

// Start-up's code cache, made by running the bundle once as bin/memregion does (without MEMREGION_*
// settings of the shell that builds, and without NODE_OPTIONS: V8 rejects a cache made under other flags).
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('MEMREGION_') && key !== 'NODE_OPTIONS'),
);
const cache = spawnSync(process.execPath, ['scripts/code-cache.cjs'], {
  env,
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (cache.status !== 0) throw new Error(`bundle: making the code cache failed (exit ${cache.status})`);
