/**
 * bin/memregion compiles the bundle with the V8 code cache that the build made (bin/load-bundle.cjs): the
 * cache is used only for the very bytes it was made from, and start-up never writes it. Each test runs a
 * copy of bin/ and dist/cli/ in a scratch folder, so the build in the repository is never touched.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { NODE, ROOT, scratchDir } from '../helpers/cli.js';
import { runSync } from '../helpers/spawn.js';

const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

function copyOfTheBuild(): { root: string; bundle: string; cache: string } {
  const root = scratchDir('start-up');
  cpSync(path.join(ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'dist', 'cli'), path.join(root, 'dist', 'cli'), { recursive: true });
  const bundle = path.join(root, 'dist', 'cli', 'main.cjs');
  return { root, bundle, cache: `${bundle}.cache` };
}

function version_(root: string): { status: number | null; stdout: string; stderr: string } {
  return runSync(NODE, [path.join(root, 'bin', 'memregion'), '--version'], { encoding: 'utf8' });
}

/** The cache's verdict on the bundle, as bin/load-bundle.cjs of that copy sees it. */
function cacheRejected(root: string): boolean | 'none' {
  const probe = `
    const { readFileSync } = require('node:fs');
    const l = require(${JSON.stringify(path.join(root, 'bin', 'load-bundle.cjs'))});
    const source = readFileSync(l.BUNDLE);
    const data = l.cachedDataFor(source);
    if (data === undefined) process.stdout.write('none');
    else process.stdout.write(String(l.compileBundle(source.toString('utf8'), data).cachedDataRejected));`;
  const r = runSync(NODE, ['-e', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout === 'none' ? 'none' : r.stdout === 'true';
}

describe('start-up code cache', () => {
  test('the build makes a cache that V8 accepts for the bundle as built', () => {
    const { root } = copyOfTheBuild();
    assert.equal(cacheRejected(root), false);
    const r = version_(root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  });

  test('a bundle that changed since its cache was made runs as it is now (same length: V8 would take the cache)', () => {
    const { root, bundle } = copyOfTheBuild();
    const changed = version.replace(/[0-9]/g, '9');
    assert.notEqual(changed, version);
    const source = readFileSync(bundle, 'utf8');
    assert.ok(source.includes(`"${version}"`), 'the bundle spells the version');
    writeFileSync(bundle, source.replaceAll(`"${version}"`, `"${changed}"`));
    assert.equal(cacheRejected(root), 'none');
    const r = version_(root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${changed}\n`);
  });

  test('without a cache file the bundle starts all the same', () => {
    const { root, cache } = copyOfTheBuild();
    rmSync(cache);
    const r = version_(root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
    assert.equal(r.stderr, '');
  });

  test('start-up writes nothing: neither the cache nor anything else next to the bundle', () => {
    const { root, cache } = copyOfTheBuild();
    const dir = path.dirname(cache);
    const before = readdirSync(dir).map((f) => [f, statSync(path.join(dir, f)).mtimeMs]);
    rmSync(cache);
    for (const args of [['--version'], ['profiles', '--json'], ['-b', 'emulated', 'probe', '--json']]) {
      const r = runSync(NODE, [path.join(root, 'bin', 'memregion'), ...args], { encoding: 'utf8' });
      assert.ok(r.status === 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const after = readdirSync(dir).map((f) => [f, statSync(path.join(dir, f)).mtimeMs]);
    assert.deepEqual(
      after,
      before.filter(([f]) => f !== path.basename(cache)),
    );
  });
});
