/**
 * Session 6 hostile audit: `--output new/` (a trailing slash: the user means a folder) wrote a regular
 * file named `new`, exit 0, and `--output file/` replaced `file`. A shell's `> new/` fails with EISDIR and
 * `> file/` with ENOTDIR: so does memregion now, with 73 and one line, before any work, and nothing is
 * created or changed. `--hdr-log` goes through the same code.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertExit, assertRefused, emu, scratchDir } from '../helpers/cli.js';

describe('hostile --output names (session 6)', () => {
  test('a name ending in / that is not a folder is refused (73) and nothing is written', async () => {
    const dir = scratchDir('slash');
    writeFileSync(path.join(dir, 'file.json'), 'keep');
    symlinkSync('file.json', path.join(dir, 'link'));
    const at = (name: string) => `${dir}/${name}`;
    const cases: [string[], RegExp][] = [
      [['profiles', '--output', at('new/')], /new\/" \(EISDIR/],
      [['profiles', '--output', at('file.json/')], /file\.json\/" \(ENOTDIR/],
      [['profiles', '--output', at('link/')], /link\/" \(ENOTDIR/],
      [
        ['stress', '--ops', '10', '--virtual-time', '--hdr-log', at('log/')],
        /--hdr-log file "[^"]*log\/" \(EISDIR/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await emu(args);
      assertRefused(r, 73, pattern);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['file.json', 'link']);
    assert.equal(readFileSync(path.join(dir, 'file.json'), 'utf8'), 'keep');
  });

  test('a folder named with its slash is still 74, and a plain new name is still written', async () => {
    const dir = scratchDir('slash-ok');
    mkdirSync(path.join(dir, 'sub'));
    assertRefused(await emu(['profiles', '--output', `${dir}/sub/`]), 74, /\(a directory\)/);
    const r = await emu(['profiles', '--output', path.join(dir, 'new')]);
    assertExit(r, 0);
    assert.ok(existsSync(path.join(dir, 'new')));
  });
});
