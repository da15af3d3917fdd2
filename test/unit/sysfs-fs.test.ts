/**
 * SysRoot reads: a device in place of a kernel file (a hostile --root tree: /dev/zero as osrelease) is
 * not opened below any root but / and read only as far as a small bound at /, while regular files, as every procfs and sysfs node is, are read whole.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readBounded, SysRoot } from '../../src/backends/sysfs/fs.js';

describe('SysRoot.read bounds', () => {
  test('a /dev/zero clone reads 64 KiB (opened in a tree: not at all), a 100 KiB regular file reads whole', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'memregion-fs-'));
    try {
      mkdirSync(path.join(root, 'proc/sys/kernel'), { recursive: true });
      execFileSync('mknod', [path.join(root, 'proc/sys/kernel/osrelease'), 'c', '1', '5']);
      writeFileSync(path.join(root, 'proc/iomem'), 'x'.repeat(100 * 1024));
      const sys = new SysRoot(root);
      // At / the kernel's devices (dev/kmsg) are read, bounded; below another root no node is opened.
      const device = path.join(root, 'proc/sys/kernel/osrelease');
      assert.equal((await readBounded(device)).length, 64 * 1024);
      assert.deepEqual(await sys.read('proc/sys/kernel/osrelease'), {
        ok: false,
        code: 'EXDEV',
        denied: false,
      });
      const regular = await sys.read('proc/iomem');
      assert.ok(regular.ok);
      assert.equal(regular.text.length, 100 * 1024);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
