import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

  test('--out: a lab that refuses before its work (no QEMU, 69) leaves no folder it made, and keeps those that were there', async () => {
    const parent = scratchDir('out-parent');
    const out = path.join(parent, 'new', 'deeper');
    const r = await cli(['lab', '--out', out, '--', 'true'], {
      env: { PATH: scratchDir('empty-path'), XDG_CACHE_HOME: scratchDir('cache') },
    });
    assert.equal(r.exitCode, 69, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(existsSync(path.join(parent, 'new')), false, 'lab left the --out folders it made');
    assert.deepEqual(readdirSync(parent), []);
    // A folder that was there (with its content) stays as it was.
    const existing = path.join(parent, 'existing');
    mkdirSync(path.join(existing, 'kept'), { recursive: true });
    const again = await cli(['lab', '--out', existing, '--', 'true'], {
      env: { PATH: scratchDir('empty-path'), XDG_CACHE_HOME: scratchDir('cache') },
    });
    assert.equal(again.exitCode, 69, again.stderr);
    assert.deepEqual(readdirSync(existing), ['kept']);
  });

  test('--kernel and --modules are input files, checked first: missing, a device, a folder or a file in the wrong place is 66 naming it', async () => {
    const modules = scratchDir('modules');
    mkdirSync(path.join(modules, 'kernel'));
    const image = path.join(scratchDir('image'), 'vmlinuz');
    writeFileSync(image, 'not really a kernel');
    const cases: Array<[string, string, RegExp]> = [
      [path.join(modules, 'missing'), modules, /^memregion: cannot read --kernel ".*" \(ENOENT\)$/],
      ['/dev/zero', modules, /^memregion: cannot read --kernel "\/dev\/zero" \(not a regular file\)$/],
      [modules, modules, /^memregion: cannot read --kernel ".*" \(a directory, not a file\)$/],
      [image, image, /^memregion: cannot read --modules ".*" \(not a folder\)$/],
      [image, path.dirname(image), /^memregion: --modules .*: not a modules folder .*$/],
    ];
    for (const [kernel, dir, pattern] of cases) {
      // No QEMU on PATH: the inputs are the first answer all the same.
      const r = await cli(['lab', '--kernel', kernel, '--modules', dir, '--', 'true'], {
        env: { PATH: scratchDir('empty-path'), XDG_CACHE_HOME: scratchDir('cache') },
      });
      assert.equal(r.exitCode, 66, `${kernel} ${dir}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${pattern.source.slice(0, -1)}\n$`));
      assert.equal(r.stdout, '');
    }
    const empty = await cli(['lab', '--kernel', '', '--modules', modules, '--', 'true']);
    assert.equal(empty.exitCode, 64, empty.stderr);
    assert.match(empty.stderr, /^memregion: --kernel and --modules need a file and a folder name\n$/);
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
