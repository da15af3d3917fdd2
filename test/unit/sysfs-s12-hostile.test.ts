/**
 * Session 12 hostile audit: what a --root tree that is not the kernel's can make the sysfs backend read.
 */
import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
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
