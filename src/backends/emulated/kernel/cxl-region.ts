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
 * drivers/cxl/core/region.c commit_store(): `1` commits (commit_region(): invalidate, then
 * cxl_region_decode_commit()), `0` tears down (cxl_region_decode_reset(), whose invalidation failures are
 * only warnings). A write that asks for the state the region is in does nothing. Returns the write's error.
 */
export async function commitStore(
  region: CxlRegion,
  commit: boolean,
  context: CxlRegionContext,
): Promise<Errno | null> {
  if (commit === region.committed) return null;
  if (commit) {
    const rc = await cxlRegionInvalidateMemregion(region, context);
    if (rc) return rc;
    region.committed = true;
    return null;
  }
  await cxlRegionInvalidateMemregion(region, context);
  region.committed = false;
  return null;
}
