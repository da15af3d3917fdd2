/**
 * A --root tree from elsewhere (an unpacked `collect` archive) may hold links that lead out of it, to
 * files of this machine: they are neither read, listed nor written.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCxlMemdev } from '../../src/backends/sysfs/cxl.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { fixtureEachTest, scratchFolders } from '../helpers/temp-trees.js';

let outside: string;
const SECRET = 'a secret of the host\n';
const outsideFolder = scratchFolders('memregion-outside-');

const fixture = fixtureEachTest('cxl', {
  setUp: () => {
    outside = outsideFolder();
    writeFileSync(path.join(outside, 'secret'), SECRET);
  },
});

/** Replaces `relative` in the tree with a link to `target`. */
function plant(relative: string, target: string): void {
  const file = path.join(fixture.root, relative);
  rmSync(file, { recursive: true, force: true });
  symlinkSync(target, file);
}

describe('SysRoot below a root that is not /', () => {
  test('a file linked out of the root reads as an error, its content never', async () => {
    plant('sys/bus/cxl/devices/mem1/serial', path.join(outside, 'secret'));
    const sys = new SysRoot(fixture.root);
    const read = await sys.read('sys/bus/cxl/devices/mem1/serial');
    assert.deepEqual(read, { ok: false, code: 'EXDEV', denied: false });
    const memdev = await readCxlMemdev(sys, 'mem1');
    assert.ok(memdev);
    assert.equal(memdev.serial, null);
  });

  test('a folder linked out of the root is neither listed nor read through', async () => {
    plant('sys/bus/cxl/devices/mem1', outside);
    const sys = new SysRoot(fixture.root);
    assert.deepEqual(await sys.list('sys/bus/cxl/devices/mem1'), []);
    assert.equal(await sys.exists('sys/bus/cxl/devices/mem1/secret'), false);
    assert.equal(await sys.value('sys/bus/cxl/devices/mem1/secret'), null);
    assert.equal(await sys.link('sys/bus/cxl/devices/mem1/secret'), null);
  });

  test('a write through a link out of the root is refused and the file is unchanged', async () => {
    plant('sys/bus/cxl/devices/mem1/serial', path.join(outside, 'secret'));
    const sys = new SysRoot(fixture.root);
    await assert.rejects(sys.write('sys/bus/cxl/devices/mem1/serial', '1'), { code: 'EXDEV' });
    assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), SECRET);
  });

  test('links that stay inside the root are followed, as sysfs links are', async () => {
    const sys = new SysRoot(fixture.root);
    const before = await sys.value('sys/bus/cxl/devices/mem1/serial');
    assert.ok(before);
    writeFileSync(path.join(fixture.root, 'serial-elsewhere'), `${before}\n`);
    plant('sys/bus/cxl/devices/mem1/serial', '../../../../../serial-elsewhere');
    assert.equal(await sys.value('sys/bus/cxl/devices/mem1/serial'), before);
    unlinkSync(path.join(fixture.root, 'sys/bus/cxl/devices/mem1/serial'));
  });
});

describe('SysRoot.value: one line of at most a page, as a kernel show() prints', () => {
  test('a value with a NUL flood, more lines and escape sequences comes back bounded and escaped', async () => {
    const file = 'sys/bus/cxl/devices/mem1/serial';
    writeFileSync(path.join(fixture.root, file), `0x1\u001b[31m${'\u0000'.repeat(100_000)}\nsecond line\n`);
    const value = await new SysRoot(fixture.root).value(file);
    assert.ok(value !== null);
    assert.ok(value.startsWith('0x1\\x1b[31m\\x00'), value.slice(0, 40));
    assert.doesNotMatch(value, /[\u0000-\u001f]|second line/);
    assert.ok(value.length <= 4 * 4096, `${value.length} characters`);
  });

  test("a kernel's value is unchanged", async () => {
    const sys = new SysRoot(fixture.root);
    assert.match((await sys.value('sys/bus/cxl/devices/mem1/serial'))!, /^0x[0-9a-f]+$/);
  });
});
