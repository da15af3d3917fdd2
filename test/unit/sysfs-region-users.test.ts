import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCxlRegion } from '../../src/backends/sysfs/cxl.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { findRegionUsers, regionUsers } from '../../src/backends/sysfs/region-users.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { FIXTURES } from './helpers/sysfs-fixture.js';

// Who uses a committed CXL region, as Linux 7.2 shows it (region-users.ts names the kernel sources): a
// bound DAX device, a bound pmem region, online memory, and what /proc/iomem says is claimed inside it.
const usersIn = async (root: string, name: string) => {
  const sys = new SysRoot(root);
  const region = await readCxlRegion(sys, name);
  assert.ok(region, name);
  return regionUsers(sys, region);
};

describe('region users: trees captured from Linux 7.2', () => {
  test('committed and unbound (after a commit alone): nobody', async () => {
    assert.deepEqual(
      await usersIn(path.join(FIXTURES, 'kernels/x86-bare-metal-region-committed'), 'region0'),
      [],
    );
  });

  test('its DAX device bound to device_dax (through new_id): one user, /dev/daxZ.N, also claimed in /proc/iomem', async () => {
    const root = path.join(FIXTURES, 'kernels/x86-bare-metal-region-in-use');
    const sys = new SysRoot(root);
    const region = await readCxlRegion(sys, 'region0');
    assert.ok(region);
    const dax = region.daxDevices.find((d) => d.driver === 'device_dax');
    assert.ok(dax, 'the capture has the bound DAX device');
    assert.deepEqual(await findRegionUsers(sys, region), [
      { name: dax.name, clause: `${dax.name} is bound to device_dax (/dev/${dax.name})` },
    ]);
  });
});

describe('region users: built trees', () => {
  const fixture = fixtureEachTest('cxl');
  const devices = () => path.join(fixture.root, 'sys/bus/cxl/devices');

  test('a DAX device bound to kmem with its memory online: two clauses, not the iomem claim a third time', async () => {
    assert.deepEqual(await usersIn(fixture.root, 'region0'), [
      'dax0.0 is bound to kmem',
      'memory blocks memory1032..memory1035 (4 blocks) are online',
    ]);
  });

  test('an unbound DAX device is no user', async () => {
    assert.deepEqual(await usersIn(fixture.root, 'region2'), []);
  });

  test('bound to device_dax: the device file a process maps is named', async () => {
    symlinkSync(
      '../../../../../dax/drivers/device_dax',
      path.join(devices(), 'region2/dax_region2/dax2.0/driver'),
    );
    assert.deepEqual(await usersIn(fixture.root, 'region2'), ['dax2.0 is bound to device_dax (/dev/dax2.0)']);
  });

  test('a claim only /proc/iomem shows (kmem unbound without hot-remove keeps it): still in use', async () => {
    const iomem = path.join(fixture.root, 'proc/iomem');
    const text = readFileSync(iomem, 'utf8');
    writeFileSync(
      iomem,
      text.replace(
        '  4100000000-410fffffff : region2\n',
        '  4100000000-410fffffff : region2\n    4100000000-410fffffff : dax2.0\n      4100000000-410fffffff : System RAM (kmem)\n',
      ),
    );
    assert.deepEqual(await usersIn(fixture.root, 'region2'), [
      'dax2.0 (System RAM (kmem)) holds part of region2 in /proc/iomem',
    ]);
  });

  test('a pmem region bound to cxl_pmem_region is a user', async () => {
    const pmem = path.join(devices(), 'region2/pmem_region2');
    mkdirSync(pmem, { recursive: true });
    symlinkSync('../../../../bus/cxl/drivers/cxl_pmem_region', path.join(pmem, 'driver'));
    appendFileSync(path.join(pmem, 'devtype'), 'cxl_pmem_region\n');
    assert.deepEqual(await usersIn(fixture.root, 'region2'), ['pmem_region2 is bound to cxl_pmem_region']);
  });
});
