import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cli, scratchDir } from '../helpers/cli.js';

// What `memregion lab` refuses before it boots anything (booting is npm run test:kernel's job).
describe('memregion lab refusals', () => {
  test('no QEMU on PATH: one line naming what to install, exit 69', async () => {
    const r = await cli(['lab', '--', 'true'], {
      env: { PATH: scratchDir('empty-path'), XDG_CACHE_HOME: scratchDir('cache') },
    });
    assert.equal(r.exitCode, 69, r.stderr);
    assert.match(
      r.stderr,
      /^memregion: qemu-system-x86_64 is not available: install QEMU 8\.2 or newer.*bookworm-backports/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(r.stdout, '');
  });

  test('usage errors: 64 with one line', async () => {
    for (const args of [
      ['lab', '--cxl', 'ram:100M', '--', 'true'],
      ['lab', '--arch', 'arm64', '--cxl', 'ram:256M', '--', 'true'],
      ['lab', '--arch', 'riscv64', '--', 'true'],
      ['lab', '--memory', '64', '--', 'true'],
      ['lab', '--format', 'prometheus', '--', 'true'],
      ['lab'],
    ]) {
      const r = await cli(args);
      assert.equal(r.exitCode, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^memregion: /);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  test('--kernel without --modules, or a folder that is no modules folder', async () => {
    const dir = scratchDir('kernel');
    let r = await cli(['lab', '--kernel', `${dir}/vmlinuz`, '--', 'true'], {
      env: { PATH: process.env.PATH },
    });
    assert.match(r.stderr, /^memregion: /);
    assert.notEqual(r.exitCode, 0);
    r = await cli(['lab', '--kernel', `${dir}/none`, '--modules', dir, '--', 'true']);
    assert.match(r.stderr, /^memregion: /);
    assert.notEqual(r.exitCode, 0);
  });
});
