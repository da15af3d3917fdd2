/**
 * A name from the user never becomes a path unvalidated (src/core/names.ts): every name the kernel would
 * never print is refused by both backends through the CLI with the same exit code (65) and the same one
 * line on stderr, nothing on stdout, and no file written: the sysfs backend on a copy of the CXL fixture
 * tree, the emulated backend with a profile that has region0 on mem0.
 */
import assert from 'node:assert/strict';
import { cpSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type CliResult, cli, describeResult, ROOT, scratchDir, writeScratchFile } from '../helpers/cli.js';

/** Every entry under `dir`: its type, and a file's content and mtime or a link's target. */
function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(dir, relative))) {
      const at = path.join(relative, name);
      const full = path.join(dir, at);
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) entries[at] = `link ${readlinkSync(full)}`;
      else if (stat.isDirectory()) {
        entries[at] = 'dir';
        walk(at);
      } else entries[at] = `file ${stat.mtimeMs} ${readFileSync(full, 'hex')}`;
    }
  };
  walk('.');
  return entries;
}

const sysfsRoot = path.join(scratchDir('root'), 'cxl');
cpSync(path.join(ROOT, 'test/fixtures/cxl'), sysfsRoot, { recursive: true, verbatimSymlinks: true });
const profile = writeScratchFile('names.json', {
  regions: [{ name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', committed: true }],
});

/** Names the kernel never prints (argv cannot carry a NUL: the unit test covers that one). */
const badNames = (prefix: string): string[] => [
  `${prefix}01`,
  `${prefix}-1`,
  `${prefix}2147483648`,
  `../${prefix}0`,
  `${prefix}0/../x`,
  `${prefix}0\n`,
  '',
  `${prefix}${'9'.repeat(3000)}`,
  `${prefix}\u0663`,
  `${prefix}\uff10`,
  `${prefix} 0`,
  `${prefix}0\u001b[31m`,
];

const COMMANDS: Array<{ prefix: string; args: (name: string) => string[] }> = [
  { prefix: 'region', args: (name) => ['invalidate', '--region', name, '--yes'] },
  { prefix: 'region', args: (name) => ['erase', '--region', name, '--yes', '--force'] },
  { prefix: 'region', args: (name) => ['stress', '--region', name, '--yes', '--cycles', '1'] },
  { prefix: 'mem', args: (name) => ['erase', name, '--yes', '--force'] },
];

const both = async (args: string[]): Promise<[CliResult, CliResult]> =>
  Promise.all([cli(['--root', sysfsRoot, ...args]), cli(['-b', 'emulated', '--profile', profile, ...args])]);

describe('bad kernel names: the same refusal on both backends (CLI)', { concurrency: 2 }, () => {
  for (const { prefix, args } of COMMANDS) {
    test(`${args('NAME').join(' ')}`, async () => {
      const treeBefore = snapshot(sysfsRoot);
      const profileBefore = snapshot(path.dirname(profile));
      for (const name of badNames(prefix)) {
        const [sysfs, emulated] = await both(args(name));
        const what = `${JSON.stringify(name)}\n${describeResult(sysfs)}\n${describeResult(emulated)}`;
        assert.equal(sysfs.exitCode, 65, what);
        assert.equal(emulated.exitCode, 65, what);
        assert.equal(sysfs.stderr, emulated.stderr, what);
        assert.match(
          sysfs.stderr,
          new RegExp(
            `^memregion: ".*" is not a ${prefix === 'mem' ? 'memdev' : 'region'} name \\(expected ${prefix}N: [^\\n]*\\)\\n$`,
          ),
          what,
        );
        assert.equal(sysfs.stdout, '', what);
        assert.equal(emulated.stdout, '', what);
      }
      assert.deepEqual(snapshot(sysfsRoot), treeBefore);
      assert.deepEqual(snapshot(path.dirname(profile)), profileBefore);
    });
  }

  test('a good name gets past the check on both (region0 is committed: --cycle is asked for, 64)', async () => {
    const [sysfs, emulated] = await both(['invalidate', '--region', 'region0', '--yes']);
    for (const r of [sysfs, emulated]) {
      assert.equal(r.exitCode, 64, describeResult(r));
      assert.match(r.stderr, /^memregion: region0 is already committed/, describeResult(r));
    }
  });
});
