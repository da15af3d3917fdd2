import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { probeSysfs } from '../../src/backends/sysfs/probe.js';
import { listRegions } from '../../src/backends/sysfs/regions.js';
import { silentLogger } from '../../src/core/log.js';
import { ofKind as byKind } from '../helpers/regions.js';

// Trees collected in `memregion lab` guests from real kernels (Debian's 7.2 and Debian 12's 6.1 under
// QEMU 10) by the guest's memregion-collect: `MEMREGION_CAPTURE_FIXTURES=1 npm run test:kernel` makes them.
const kernels = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/kernels');
const tree = (name: string) => new SysRoot(path.join(kernels, name));
const probe = (name: string) => probeSysfs(tree(name), silentLogger, {});
const regions = async (name: string) => (await listRegions(tree(name))).regions;

describe('trees captured from real kernels', () => {
  test('every capture is there (the kernel suite writes them)', async () => {
    for (const name of [
      'x86-guest-region-configured',
      'x86-6.1-region-configured',
      'arm64-hvc',
      'arm64-smc',
    ]) {
      await access(path.join(kernels, name, 'proc/sys/kernel/osrelease'));
    }
  });

  test('Linux 7.2 x86 guest: unsupported for the hypervisor flag; a configured ram region on the memdev with serial 0x1001', async () => {
    const report = await probe('x86-guest-region-configured');
    assert.equal(report.verdict, 'unsupported');
    assert.deepEqual(report.provider, { registered: false, name: 'wbinvd' });
    assert.match(report.reasons[0] ?? '', /hypervisor flag/);
    assert.match(String((report.kernel as { release: string }).release), /^7\.2\./);
    const all = await regions('x86-guest-region-configured');
    const memdevs = byKind(all, 'cxl_memdev');
    assert.deepEqual(memdevs.map((m) => m.serial).sort(), ['0x1001', '0x1002']);
    const [region] = byKind(all, 'cxl_region');
    assert.equal(region?.committed, false);
    assert.equal(region?.mode, 'ram');
    assert.equal(region?.size, String(256 * 1024 * 1024));
    assert.deepEqual(region?.serials, ['0x1001']);
    const memdev = memdevs.find((m) => m.serial === '0x1001');
    assert.deepEqual(region?.memdevs, [memdev?.name]);
    assert.equal(region?.driver, null);
  });

  test('Linux 7.2 x86 bare metal: supported; a commit leaves the region committed but unbound, its decoder counted', async () => {
    const report = await probe('x86-bare-metal-region-committed');
    assert.equal(report.verdict, 'supported');
    const all = await regions('x86-bare-metal-region-committed');
    const [region] = byKind(all, 'cxl_region');
    assert.equal(region?.committed, true);
    assert.equal(region?.driver, null);
    assert.deepEqual(region?.dax_devices, []);
    assert.deepEqual(region?.serials, ['0x1001']);
    const memdev = byKind(all, 'cxl_memdev').find((m) => m.serial === '0x1001');
    assert.equal(memdev?.decoders_committed, 1);
  });

  test('Linux 6.1: no CONFIG_ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION line, no cpu_cache_invalidate_memregion', async () => {
    const report = await probe('x86-6.1-region-configured');
    assert.equal(report.verdict, 'unsupported');
    assert.match(report.reasons[0] ?? '', /no CONFIG_ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION line/);
    const [region] = byKind(await regions('x86-6.1-region-configured'), 'cxl_region');
    // 6.1 regions have no mode attribute (pmem was the only kind).
    assert.equal(region?.mode, null);
    assert.deepEqual(region?.serials, ['0x1002']);
  });

  for (const [name, conduit] of [
    ['arm64-hvc', 'hvc'],
    ['arm64-smc', 'smc'],
  ] as const) {
    test(`Linux 7.2 arm64 on QEMU virt (${conduit}): the config line that is there, and SMCCC 1.0, are the reasons`, async () => {
      const report = await probe(name);
      assert.equal(report.verdict, 'unsupported');
      assert.deepEqual(report.smccc, { version: '1.0', conduit });
      assert.match(
        report.reasons[0] ?? '',
        /^\/boot\/config-7\.2\.\S+: # CONFIG_CACHEMAINT_FOR_HOTPLUG is not set/,
      );
      assert.match(report.reasons[1] ?? '', /^SMCCC 1\.0: /);
      assert.equal(report.reasons.length, 2);
    });
  }
});
