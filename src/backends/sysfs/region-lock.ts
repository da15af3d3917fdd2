import { regionPath } from './cxl.js';
import { CXL_REGION_FILES } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { parseKernelBool } from './values.js';

/**
 * `regionZ/locked`: whether the region was built from decoders the platform locked (CXL_REGION_F_LOCK,
 * drivers/cxl/core/region.c locked_show()). commit_store() refuses `commit` ← 0 on such a region with
 * EPERM, even for root. Null when the file is missing (before Linux 7.1) or unreadable.
 */
export async function readRegionLocked(sys: SysRoot, name: string): Promise<boolean | null> {
  return parseKernelBool(await sys.value(`${regionPath(name)}/${CXL_REGION_FILES.locked}`));
}
