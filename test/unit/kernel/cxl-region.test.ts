/**
 * drivers/cxl/core/region.c, the commit path as kernel/cxl-region.ts ports it: what a `commit` write
 * invalidates, what it returns, what it logs, and what it does to the region driver.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BYPASSING,
  type CxlRegion,
  type CxlRegionContext,
  commitStore,
  cxlRegionBind,
  FAILED_TO_SYNCHRONIZE,
} from '../../../src/backends/emulated/kernel/cxl-region.js';
import type { Errno } from '../../../src/backends/errno.js';

const START = 0x40_8000_0000n;
const SIZE = 0x4000_0000n;

function region(committed: boolean, overrides: Partial<CxlRegion> = {}): CxlRegion {
  return {
    name: 'region0',
    res: { start: START, size: SIZE },
    committed,
    driver: committed ? 'cxl_region' : null,
    locked: false,
    ...overrides,
  };
}

/** A kernel around the region: a framework with or without a provider, whose invalidations return `ret`. */
function kernel(options: { provider?: boolean; ret?: Errno | null; invalidationTest?: boolean } = {}) {
  const calls: Array<[bigint, bigint]> = [];
  const log: string[] = [];
  const context: CxlRegionContext = {
    cache: {
      cpuCacheHasInvalidateMemregion: () => options.provider ?? true,
      cpuCacheInvalidateMemregion: async (start, len) => {
        calls.push([start, len]);
        return options.ret ?? null;
      },
    },
    warn: (line) => log.push(`warn: ${line}`),
    infoOnce: (line) => log.push(`info: ${line}`),
    invalidationTest: options.invalidationTest ?? false,
  };
  return { context, calls, log };
}

describe('drivers/cxl/core/region.c', () => {
  test('commit_store(1): one invalidation of the resource, committed, and the driver left unbound', async () => {
    const r = region(false);
    const k = kernel();
    assert.equal(await commitStore(r, true, k.context), null);
    assert.deepEqual(k.calls, [[START, SIZE]]);
    assert.equal(r.committed, true);
    // A commit never binds the region driver (cxl-cli binds it itself).
    assert.equal(r.driver, null);
  });

  test('commit_store(1): a failed invalidation does not fail the commit (its result is ignored)', async () => {
    const r = region(false);
    const k = kernel({ ret: 'EBUSY' });
    assert.equal(await commitStore(r, true, k.context), null);
    assert.equal(r.committed, true);
    assert.deepEqual(k.log, []);
  });

  test('commit_store(1) without a provider: ENXIO, the WARN every time, not committed, nothing invalidated', async () => {
    const r = region(false);
    const k = kernel({ provider: false });
    assert.equal(await commitStore(r, true, k.context), 'ENXIO');
    assert.equal(await commitStore(r, true, k.context), 'ENXIO');
    assert.equal(r.committed, false);
    assert.deepEqual(k.calls, []);
    assert.deepEqual(k.log, [`warn: ${FAILED_TO_SYNCHRONIZE}`, `warn: ${FAILED_TO_SYNCHRONIZE}`]);
  });

  test('CONFIG_CXL_REGION_INVALIDATION_TEST: the commit goes on without a provider, with the info line', async () => {
    const r = region(false);
    const k = kernel({ provider: false, invalidationTest: true });
    assert.equal(await commitStore(r, true, k.context), null);
    assert.equal(r.committed, true);
    assert.deepEqual(k.log, [`info: ${BYPASSING}`]);
  });

  test('commit_store(1) on a committed region and commit_store(0) on an uncommitted one invalidate nothing', async () => {
    const k = kernel();
    const committed = region(true);
    assert.equal(await commitStore(committed, true, k.context), null);
    assert.equal(committed.driver, 'cxl_region');
    const idle = region(false);
    assert.equal(await commitStore(idle, false, k.context), null);
    assert.deepEqual(k.calls, []);
  });

  test('commit_store(0): device_release_driver(), then one invalidation on teardown', async () => {
    const r = region(true);
    const k = kernel();
    assert.equal(await commitStore(r, false, k.context), null);
    assert.equal(r.committed, false);
    assert.equal(r.driver, null);
    assert.deepEqual(k.calls, [[START, SIZE]]);
  });

  test('commit_store(0) without a provider: the teardown WARNs and goes on', async () => {
    const r = region(true);
    const k = kernel({ provider: false });
    assert.equal(await commitStore(r, false, k.context), null);
    assert.equal(r.committed, false);
    assert.deepEqual(k.log, [`warn: ${FAILED_TO_SYNCHRONIZE}`]);
  });

  test('CXL_REGION_F_LOCK: commit_store(0) is EPERM; nothing invalidated, released or torn down', async () => {
    const r = region(true, { locked: true });
    const k = kernel();
    assert.equal(await commitStore(r, false, k.context), 'EPERM');
    assert.equal(r.committed, true);
    assert.equal(r.driver, 'cxl_region');
    assert.deepEqual(k.calls, []);
  });

  test('bind_store() → cxl_region_probe(): ENXIO before the commit, bound after, EBUSY when bound already', async () => {
    const r = region(false);
    assert.equal(cxlRegionBind(r), 'ENXIO');
    assert.equal(r.driver, null);
    await commitStore(r, true, kernel().context);
    assert.equal(cxlRegionBind(r), null);
    assert.equal(r.driver, 'cxl_region');
    assert.equal(cxlRegionBind(r), 'EBUSY');
  });
});
