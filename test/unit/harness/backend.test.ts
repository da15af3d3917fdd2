import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EmulatedBackend } from '../../../src/backends/emulated/index.js';
import { commitStore } from '../../../src/backends/emulated/kernel/cxl-region.js';
import { profileWith, virtualBackendOptions } from '../../helpers/emulation.js';

const options = virtualBackendOptions;

describe('emulated backend: probe reports what the kernel saw', () => {
  test('no conduit: SMCCC reads as 1.0 (the version check fails first)', async () => {
    const probe = await (await EmulatedBackend.create(options, profileWith({ conduit: 'none' }))).probe();
    assert.equal(probe.smccc.version, '1.0');
    assert.equal(probe.supported, false);
    assert.deepEqual(probe.functions, { clean_inv_memregion: null, attributes: null });
  });

  test('SMCCC_VERSION not implemented: 1.0, though the profile text said "none"', async () => {
    const probe = await (await EmulatedBackend.create(options, profileWith({ smccc_version: null }))).probe();
    assert.equal(probe.smccc.version, '1.0');
  });

  test('no CLEAN_INV_MEMREGION: ATTRIBUTES is never asked, so functions.attributes is null', async () => {
    const probe = await (await EmulatedBackend.create(options, profileWith({}, 'unsupported'))).probe();
    assert.deepEqual(probe.functions, { clean_inv_memregion: false, attributes: null });
  });
});

describe('emulated backend: scripted firmware', () => {
  test('faults.sequence busy, busy, success: three attempts, two sleeps, success', async () => {
    const backend = await EmulatedBackend.create(
      options,
      profileWith({ faults: { sequence: [-5n, -5n, 0n] } }),
    );
    const report = await backend.invalidateRange(0x4080_0000_0000n, 4096n, { dryRun: false });
    assert.deepEqual([report.ok, report.attempts, report.sleeps, report.slept_us], [true, 3, 2, 200]);
  });

  test('region report: a commit whose invalidation failed counts its sleeps (v2: 5)', async () => {
    const backend = await EmulatedBackend.create(options, profileWith({}, 'stuck'));
    const report = await backend.invalidateRegion('region0', {
      dryRun: false,
      cycle: false,
      force: false,
      confirm: async () => true,
      signal: new AbortController().signal,
    });
    assert.deepEqual(
      [
        report.status,
        report.invalidation_errno,
        report.attempts,
        report.retries,
        report.sleeps,
        report.slept_us,
      ],
      ['committed', 'EBUSY', 5, 4, 5, 500],
    );
  });
});

describe('emulated backend: regions as Linux 7.2 sysfs shows them', () => {
  const spec = (name: string, start: bigint, committed: boolean) => ({
    name,
    start,
    size: 0x4000_0000n,
    memdev: name === 'region0' ? 'mem0' : 'mem1',
    sanitize_ms: 0,
    committed,
    locked: false,
    used_by: ['dax0.0'],
  });

  test('the region driver and its DAX devices only on a committed region; a decommit releases both', async () => {
    const backend = await EmulatedBackend.create(
      options,
      profileWith({
        regions: [spec('region0', 0x40_8000_0000n, false), spec('region1', 0x41_0000_0000n, true)],
      }),
    );
    const cxlRegions = async () =>
      (await backend.regions()).regions.flatMap((r) =>
        r.kind === 'cxl_region'
          ? [{ name: r.name, driver: r.driver, dax: r.dax_devices.map((d) => d.name) }]
          : [],
      );
    assert.deepEqual(await cxlRegions(), [
      { name: 'region0', driver: null, dax: [] },
      { name: 'region1', driver: 'cxl_region', dax: ['dax0.0'] },
    ]);
    const region1 = backend.regionState[1]!.kernel;
    const context = {
      cache: { cpuCacheHasInvalidateMemregion: () => true, cpuCacheInvalidateMemregion: async () => null },
      warn: () => {},
      infoOnce: () => {},
      invalidationTest: false,
    };
    assert.equal(await commitStore(region1, false, context), null);
    assert.equal(await commitStore(region1, true, context), null);
    // commit_store(0) released the driver (and the DAX region below it); commit_store(1) binds nothing.
    assert.deepEqual((await cxlRegions())[1], { name: 'region1', driver: null, dax: [] });
  });
});
