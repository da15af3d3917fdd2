/**
 * The cache-maintenance part of a CXL region's commit, drivers/cxl/core/region.c (Linux 7.x): writing
 * `commit` invalidates the region's range before decoding starts (teardown invalidates too). Only "no
 * provider" and "no resource" fail a commit; the invalidation's own return value is ignored.
 */
import type { Errno } from '../../errno.js';

/** The kernel's view of a region: its resource (null before one is allocated) and commit state. */
export interface CxlRegion {
  readonly name: string;
  readonly res: { readonly start: bigint; readonly size: bigint } | null;
  committed: boolean;
  /**
   * `cxlr->dev.driver`: the region driver, bound only while the region is committed (cxl_region_probe()
   * refuses an uncommitted one) and only when someone binds it (auto-assembly, `cxl enable-region`); a
   * commit never binds it, a decommit releases it. The DAX region and its devices hang below it.
   */
  driver: 'cxl_region' | null;
  /** CXL_REGION_F_LOCK: built from decoders the platform locked; it cannot be decommitted. */
  readonly locked: boolean;
}

/** The framework calls the region code makes (include/linux/memregion.h). */
export interface MemregionApi {
  cpuCacheHasInvalidateMemregion(): boolean;
  cpuCacheInvalidateMemregion(start: bigint, len: bigint): Promise<Errno | null>;
}

export interface CxlRegionContext {
  cache: MemregionApi;
  /** dev_WARN() / dev_warn(): the kernel log. */
  warn(message: string): void;
  /** dev_info_once(): the kernel log, once per call site and boot. */
  infoOnce(message: string): void;
  /** CONFIG_CXL_REGION_INVALIDATION_TEST */
  invalidationTest: boolean;
}

export const FAILED_TO_SYNCHRONIZE = 'Failed to synchronize CPU cache state';
export const BYPASSING = 'Bypassing cpu_cache_invalidate_memregion() for testing!';

/**
 * drivers/cxl/core/region.c cxl_region_invalidate_memregion(): no provider → ENXIO and a WARN (unless the
 * test bypass is configured: then 0 and an info line, once); no resource → ENXIO; else cpu_cache_invalidate_memregion() and 0, whatever
 * that returned.
 */
export async function cxlRegionInvalidateMemregion(
  region: CxlRegion,
  context: CxlRegionContext,
): Promise<Errno | null> {
  if (!context.cache.cpuCacheHasInvalidateMemregion()) {
    if (context.invalidationTest) {
      context.infoOnce(BYPASSING);
      return null;
    }
    context.warn(FAILED_TO_SYNCHRONIZE);
    return 'ENXIO';
  }
  if (!region.res) return 'ENXIO';
  await context.cache.cpuCacheInvalidateMemregion(region.res.start, region.res.size);
  return null;
}

/**
 * drivers/cxl/core/region.c cxl_region_decode_reset(): nothing at all for a locked region; else the
 * invalidation (its failure only WARNs) before the decoders are torn down.
 */
async function cxlRegionDecodeReset(region: CxlRegion, context: CxlRegionContext): Promise<void> {
  if (region.locked) return;
  await cxlRegionInvalidateMemregion(region, context);
}

/**
 * drivers/cxl/core/region.c commit_store(): `1` commits (__commit(): invalidate, then
 * cxl_region_decode_commit()); `0` is refused with EPERM for a locked region, else releases the region
 * driver (device_release_driver(), whatever the state) and, when the region was committed, tears it down
 * (cxl_region_decode_reset()). A commit of a committed region, or a decommit of an uncommitted one,
 * invalidates nothing. Returns the write's error.
 */
export async function commitStore(
  region: CxlRegion,
  commit: boolean,
  context: CxlRegionContext,
): Promise<Errno | null> {
  if (commit) {
    if (region.committed) return null;
    const rc = await cxlRegionInvalidateMemregion(region, context);
    if (rc) return rc;
    region.committed = true;
    return null;
  }
  if (region.locked) return 'EPERM';
  region.driver = null;
  if (!region.committed) return null;
  await cxlRegionDecodeReset(region, context);
  region.committed = false;
  return null;
}

/**
 * A write of the region's name to the cxl_region driver's `bind`: drivers/base/bus.c bind_store() →
 * drivers/base/dd.c device_driver_attach() → __driver_probe_device(), EBUSY when a driver is bound
 * already; then drivers/cxl/core/region.c cxl_region_probe() → cxl_region_can_probe(), ENXIO when the
 * region is not committed (p->state < CXL_CONFIG_COMMIT); else the driver is bound, and with it the DAX
 * region and its devices. This is what `cxl enable-region` (ndctl's cxl/region.c) writes.
 */
export function cxlRegionBind(region: CxlRegion): Errno | null {
  if (region.driver) return 'EBUSY';
  if (!region.committed) return 'ENXIO';
  region.driver = 'cxl_region';
  return null;
}
