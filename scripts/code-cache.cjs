'use strict';
// Run by scripts/bundle.mjs in a child of its own (the CLI takes over signals and stdout): compiles the
// bundle as bin/memregion does, runs one `memregion profiles --json` so that V8 has compiled what start-up
// runs, and writes the code cache (the bundle's bytes, then V8's data) that bin/load-bundle.cjs reads.
const { readFileSync, writeFileSync } = require('node:fs');
const { BUNDLE, CACHE, compileBundle, runBundle } = require('../bin/load-bundle.cjs');

const source = readFileSync(BUNDLE);
const script = compileBundle(source.toString('utf8'), undefined);
runBundle(script)
  .main(['profiles', '--json'])
  .then((code) => {
    if (code !== 0) throw new Error(`the warm-up run exited ${code}`);
    writeFileSync(CACHE, Buffer.concat([source, script.createCachedData()]));
    process.exit(0);
  })
  .catch((error) => {
    process.stderr.write(`code-cache: ${error?.message ?? error}\n`);
    process.exit(1);
  });
