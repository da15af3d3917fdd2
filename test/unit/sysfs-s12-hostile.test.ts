/**
 * Session 12 hostile audit: what a --root tree that is not the kernel's can make the sysfs backend read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { collectEvidence, MAX_COLLECTED_BYTES } from '../../src/backends/sysfs/collector.js';
import { MAX_KERNEL_FILE_BYTES, SysRoot } from '../../src/backends/sysfs/fs.js';
import { Tracefs } from '../../src/backends/sysfs/tracefs.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';

describe('tracefs files of a --root tree are read bounded (session 12)', () => {
  const tree = fixtureEachTest('cxl');

  it('a kprobe_events past the bound of kernel files is read no further than it', async () => {
    const tracing = 'sys/kernel/tracing';
    truncateSync(path.join(tree.root, tracing, 'kprobe_events'), MAX_KERNEL_FILE_BYTES + 4096 * 1024);
    const text = await new Tracefs(new SysRoot(tree.root), tracing).readProbes();
    assert.equal(text.length, MAX_KERNEL_FILE_BYTES);
  });
});

describe('collect holds a bounded amount of a --root tree (session 12)', () => {
  const tree = fixtureEachTest('cxl');

  it('files past MAX_COLLECTED_BYTES are recorded empty and unreadable (EFBIG)', async () => {
    const region = path.join(tree.root, 'sys/bus/cxl/devices/region1');
    const count = MAX_COLLECTED_BYTES / MAX_KERNEL_FILE_BYTES + 1;
    for (let i = 0; i < count; i++) {
      const file = path.join(region, `target${i}`);
      writeFileSync(file, '');
      truncateSync(file, MAX_KERNEL_FILE_BYTES);
    }
    const { manifest, entries } = await collectEvidence(new SysRoot(tree.root), 'test');
    assert.ok(manifest.bytes <= MAX_COLLECTED_BYTES, `${manifest.bytes} bytes collected`);
    const refused = manifest.unreadable.filter((u) => u.code === 'EFBIG').map((u) => u.path);
    assert.ok(refused.length >= 1, JSON.stringify(manifest.unreadable));
    for (const where of refused) {
      const entry = entries.get(where);
      assert.ok(entry?.type === 'file' && entry.data.length === 0, where);
    }
  });
});

describe('a --root tree is read without opening its device nodes (session 12)', () => {
  const tree = fixtureEachTest('cxl');

  it('a device node as a kernel file, or as the collect manifest, is not opened: it reads as EXDEV', async () => {
    const iomem = path.join(tree.root, 'proc/iomem');
    rmSync(iomem);
    // A clone of /dev/zero: opening a node acts on its device (a watchdog's arms a reboot).
    execFileSync('mknod', [iomem, 'c', '1', '5']);
    execFileSync('mknod', [path.join(tree.root, 'memregion-collect.json'), 'c', '1', '5']);
    const sys = new SysRoot(tree.root);
    const read = await sys.read('proc/iomem');
    assert.deepEqual(read, { ok: false, code: 'EXDEV', denied: false });
    const opened = await sys.openKernelFile('proc/iomem');
    assert.equal(opened.ok, false);
    assert.equal((await sys.read('proc/sys/kernel/osrelease')).ok, true, 'the plain files are still read');
  });
});
