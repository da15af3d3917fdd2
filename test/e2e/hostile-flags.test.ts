/**
 * Session 7: a global flag that the chosen backend does not use is said on stderr, both ways.
 * `-b emulated --root ./tree probe` judged the built-in firmware without a word (exit 0, "supported"),
 * which a script could take for the tree's verdict; `-b sysfs --profile` already warned.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cli, describeResult, parseJson, ROOT } from '../helpers/cli.js';

const TREE = path.join(ROOT, 'test/fixtures/machines/arm64-no-provider');

describe('flags the backend does not use are said, not silently dropped (session 7)', () => {
  test('-b emulated --root TREE: one warning line, the emulated result on stdout', async () => {
    const r = await cli(['-b', 'emulated', '--root', TREE, '--json', 'probe']);
    assert.equal(r.exitCode, 0, describeResult(r));
    assert.equal(parseJson(r).backend, 'emulated');
    assert.equal(
      r.stderr,
      'memregion: warning: --root applies to the sysfs backend only; ignored with --backend emulated\n',
    );
  });

  test('-b sysfs --profile NAME: one warning line, as before', async () => {
    const r = await cli(['--root', TREE, '--profile', 'busy', '--json', 'probe']);
    assert.equal(r.exitCode, 69, describeResult(r));
    assert.equal(parseJson(r).backend, 'sysfs');
    assert.equal(
      r.stderr,
      'memregion: warning: --profile applies to the emulated backend only; ignored with --backend sysfs\n',
    );
  });

  test('MEMREGION_ROOT set for the machine, -b emulated: no warning (the environment is not a flag)', async () => {
    const r = await cli(['-b', 'emulated', 'probe'], { env: { MEMREGION_ROOT: TREE } });
    assert.equal(r.exitCode, 0, describeResult(r));
    assert.equal(r.stderr, '');
  });

  test('MEMREGION_ROOT set but empty, -b emulated: no warning about a --root nobody gave', async () => {
    const r = await cli(['-b', 'emulated', 'probe'], { env: { MEMREGION_ROOT: '' } });
    assert.equal(r.exitCode, 0, describeResult(r));
    assert.equal(r.stderr, '');
  });
});
