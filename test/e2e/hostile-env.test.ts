/**
 * Session 6 hostile audit: the environment a careless root leaves. A relative HOME (`HOME=relhome`, or
 * what a broken `env`/`sudo` line leaves) made the lab cache `relhome/.cache/memregion/lab` below the
 * current directory: `memregion lab` created it there before it found no kernel.
 */
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { labCacheDir } from '../../src/lab/cache.js';
import { NODE, ROOT } from '../helpers/cli.js';
import { runSync } from '../helpers/spawn.js';

const CACHE = path.join(ROOT, 'src', 'lab', 'cache.ts');

describe('hostile environment (session 6)', () => {
  const own = path.join(userInfo().homedir, '.cache', 'memregion', 'lab');

  test('a relative or empty HOME is not taken: the lab cache goes to the account home', () => {
    for (const HOME of ['relhome', '', './x']) {
      // In a process of its own: os.homedir() reads that process's HOME.
      const r = runSync(
        NODE,
        [
          '--import',
          'tsx',
          '-e',
          `import(${JSON.stringify(CACHE)}).then((m) => console.log(m.labCacheDir()))`,
        ],
        { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME } },
        20_000,
      );
      assert.equal(r.status, 0, String(r.stderr));
      assert.equal(String(r.stdout).trim(), own, `HOME=${JSON.stringify(HOME)}`);
    }
  });

  test('an absolute HOME and an absolute XDG_CACHE_HOME are used; a relative XDG_CACHE_HOME is not', () => {
    assert.equal(labCacheDir({ HOME: '/home/lab' }), '/home/lab/.cache/memregion/lab');
    assert.equal(
      labCacheDir({ HOME: '/home/lab', XDG_CACHE_HOME: '/var/cache/x' }),
      '/var/cache/x/memregion/lab',
    );
    assert.equal(labCacheDir({ HOME: '/home/lab', XDG_CACHE_HOME: 'rel' }), '/home/lab/.cache/memregion/lab');
  });
});
