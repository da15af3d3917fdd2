'use strict';
// Loads the CLI bundle (dist/cli/main.cjs, made by scripts/bundle.mjs) with the V8 code cache that
// `npm run build` made for it next to it (main.cjs.cache): start-up then skips parsing and compiling most
// of the bundle. The cache is only read here, never written: the build makes it (scripts/code-cache.cjs).
const { readFileSync } = require('node:fs');
const { createRequire, Module } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE = path.join(__dirname, '..', 'dist', 'cli', 'main.cjs');
const CACHE = `${BUNDLE}.cache`;

/**
 * The cache file is the bundle's exact bytes, then V8's data: V8 itself checks only the source's length
 * (and its own version and flags), so a bundle rebuilt without its cache must not meet the old one.
 */
function cachedDataFor(source) {
  let cache;
  try {
    cache = readFileSync(CACHE);
  } catch {
    return undefined;
  }
  const length = source.length;
  if (cache.length <= length || !cache.subarray(0, length).equals(source)) return undefined;
  return cache.subarray(length);
}

/**
 * The bundle, a function expression that takes what Node gives a CommonJS module (and importExternal),
 * compiled with `cachedData` when it is given.
 */
function compileBundle(source, cachedData) {
  return new vm.Script(source, { filename: BUNDLE, cachedData });
}

/** Runs the compiled bundle's top level; returns its exports ({ main }). */
function runBundle(script) {
  const module = { exports: {} };
  // Dynamic import() cannot run inside a vm.Script on Node 20 without --experimental-vm-modules: the
  // bundle's imports of ES-module packages (chalk, ora, ...) come here, to be imported from this file.
  const importExternal = (specifier) => import(specifier);
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, path.dirname(BUNDLE), importExternal);
  return module.exports;
}

/**
 * With `sourceMaps` (--verbose, whose stack traces point into src/), the bundle is compiled by Node's
 * CommonJS loader instead, without the cache: Node 20 reads the source map of what that loader compiles,
 * not of a vm.Script.
 */
function loadBundle({ sourceMaps = false } = {}) {
  const source = readFileSync(BUNDLE);
  if (!sourceMaps) return runBundle(compileBundle(source.toString('utf8'), cachedDataFor(source)));
  process.setSourceMapsEnabled(true);
  const loader = new Module(BUNDLE, module);
  loader.filename = BUNDLE;
  loader.paths = Module._nodeModulePaths(path.dirname(BUNDLE));
  loader._compile(`module.exports = ${source.toString('utf8')}`, BUNDLE);
  return runBundle({ runInThisContext: () => loader.exports });
}

module.exports = { BUNDLE, CACHE, cachedDataFor, compileBundle, loadBundle, runBundle };
