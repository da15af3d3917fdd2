import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ExitCode, MemregionError } from '../../src/core/errors.js';
import { makeDirs, removeMadeDirs } from '../../src/core/make-dirs.js';
import { scratchFolders } from '../helpers/temp-trees.js';

const scratch = scratchFolders('memregion-make-dirs-')();

describe('makeDirs', () => {
  test('makes the missing folders of a chain, and is quiet about those that exist', async () => {
    const deep = path.join(scratch, 'a', 'b', 'c');
    await makeDirs(deep);
    await makeDirs(deep);
    assert.ok(statSync(deep).isDirectory());
  });

  test('below /proc: the ENOENT is the answer (Node 20 recursive mkdir loops forever there)', async () => {
    await assert.rejects(makeDirs('/proc/memregion-x/y'), { code: 'ENOENT' });
  });

  test('a file on the way, or at the end: ENOTDIR', async () => {
    const file = path.join(scratch, 'file');
    writeFileSync(file, '');
    await assert.rejects(makeDirs(path.join(file, 'sub')), { code: 'ENOTDIR' });
    await assert.rejects(makeDirs(file), { code: 'ENOTDIR' });
  });

  test('named, an error is one line with the code and exit 73', async () => {
    await assert.rejects(makeDirs('/proc/memregion-x', '--out folder'), (error: unknown) => {
      assert.ok(error instanceof MemregionError);
      assert.equal(error.exitCode, ExitCode.CANT_CREAT);
      assert.equal(error.message, 'cannot create --out folder /proc/memregion-x (ENOENT)');
      return true;
    });
  });

  test('returns the folders it made, top down; removeMadeDirs takes back those still empty, deepest first', async () => {
    const top = path.join(scratch, 'made');
    const made = await makeDirs(path.join(top, 'x', 'y'));
    assert.deepEqual(made, [top, path.join(top, 'x'), path.join(top, 'x', 'y')]);
    assert.deepEqual(await makeDirs(path.join(top, 'x', 'y')), []);
    writeFileSync(path.join(top, 'x', 'user-file'), '');
    await removeMadeDirs(made);
    assert.equal(existsSync(path.join(top, 'x', 'y')), false);
    assert.deepEqual(readdirSync(path.join(top, 'x')), ['user-file'], 'a folder with content is kept');
    assert.ok(existsSync(top));
  });

  test('a chain that fails half way (a name too long at the end) leaves none of the folders it made', async () => {
    const base = path.join(scratch, 'half');
    mkdirSync(base);
    await assert.rejects(makeDirs(path.join(base, 'new', 'x'.repeat(300)), '--out folder'), {
      exitCode: ExitCode.CANT_CREAT,
      message: /ENAMETOOLONG/,
    });
    assert.deepEqual(readdirSync(base), []);
  });
});
