/**
 * Session 6 hostile audit: completion in a folder with odd file names. The bash script split file names
 * at blanks (`my lab.json` offered as `my` and `lab.json`) and expanded a file named `*` to every file
 * of the folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertExit, cli, scratchDir } from '../helpers/cli.js';
import { runSync } from '../helpers/spawn.js';

describe('hostile completion (session 6)', () => {
  test('bash completion offers a file name with a blank as one word and does not expand a `*` file', async () => {
    const r = await cli(['completion', 'bash']);
    assertExit(r, 0);
    const dir = scratchDir('completion-odd');
    const script = path.join(dir, 'memregion.bash');
    writeFileSync(script, r.stdout);
    const cwd = path.join(dir, 'cwd');
    mkdirSync(cwd);
    for (const name of ['my lab.json', '*', 'notes.txt']) writeFileSync(path.join(cwd, name), '{}');
    const complete = (...words: string[]) => {
      const driver = [
        'source "$1" || exit 9',
        'shift',
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()',
        '_memregion_completion',
        `printf "%s\\n" "\${COMPREPLY[@]}"`,
      ].join('\n');
      const out = runSync('bash', ['--norc', '--noprofile', '-c', driver, 'bash', script, ...words], {
        cwd,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LC_ALL: 'C' },
      });
      assert.equal(out.status, 0, String(out.stderr));
      return String(out.stdout).split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(complete('memregion', '--profile', 'my'), ['my lab.json']);
    assert.deepEqual(complete('memregion', 'stress', '--hdr-log', ''), ['*', 'my lab.json', 'notes.txt']);
    assert.deepEqual(complete('memregion', 'lab', '--modules', ''), []);
  });
});
