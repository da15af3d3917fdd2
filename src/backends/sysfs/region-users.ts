import type { BoundDevice, CxlRegion } from './cxl.js';
import type { SysRoot } from './fs.js';
import { parseIomem } from './iomem.js';
import { onlineBlocksInRange, summarizeBlocks } from './memory.js';

/**
 * What uses a committed CXL region. The kernel itself never refuses a decommit: commit_store() in
 * drivers/cxl/core/region.c calls device_release_driver() on the region, which unregisters its
 * dax_regionZ or pmem_regionZ and whatever is bound below, in use or not. Linux 7.2 shows a region's
 * users in these places:
 *
 * - DAX devices. devm_cxl_add_dax_region() (drivers/cxl/core/region_dax.c) adds `dax_regionZ` under
 *   the region; cxl_dax_region_probe() (drivers/dax/cxl.c) creates `daxZ.N` under that through
 *   devm_create_dev_dax() (drivers/dax/bus.c). Bound to device_dax (drivers/dax/device.c) it is the
 *   character device /dev/daxZ.N, which processes map; to kmem (drivers/dax/kmem.c) its range is
 *   hot-added System RAM; to fsdev_dax (drivers/dax/fsdev.c) it serves a fs-dax file system.
 * - `pmem_regionZ` (devm_cxl_add_pmem_region(), drivers/cxl/core/region_pmem.c) bound to
 *   cxl_pmem_region (drivers/cxl/pmem.c), which registers an NVDIMM region with namespaces on it.
 * - Memory blocks of the range online (`memoryN/state`, drivers/base/memory.c), as kmem leaves them.
 * - /proc/iomem: what the drivers claim inside the region's resource. dev_dax_probe() and
 *   dev_dax_kmem_probe() request the range under the device's name (with "System RAM (kmem)" below
 *   for kmem), pmem_attach_disk() (drivers/nvdimm/pmem.c) under the namespace's name. This also shows
 *   claims the files above do not: kmem without memory hot-remove leaks its claim on unbind
 *   (dev_dax_kmem_remove()), and the memory stays in use.
 *
 * An unbound DAX device, or a dax_regionZ bound to cxl_dax_region with nothing bound below, is not a
 * user: that is how a region looks after `cxl enable-region` (or `--enable`) until something binds.
 */
export interface RegionUser {
  /** The device or resource, e.g. `dax0.0`, `namespace0.0`; `memory` for the online blocks. */
  name: string;
  /** What it does, as one clause of a refusal: `dax0.0 is bound to device_dax (/dev/dax0.0)`. */
  clause: string;
}

/** Every user of the region, each once (a DAX device bound to kmem is one user and its online memory). */
export async function findRegionUsers(sys: SysRoot, region: CxlRegion): Promise<RegionUser[]> {
  const users: RegionUser[] = [];
  for (const dax of region.daxDevices) {
    if (dax.driver)
      users.push({ name: dax.name, clause: `${dax.name} is bound to ${dax.driver}${devNode(dax)}` });
  }
  const pmem = region.pmemRegion;
  if (pmem?.driver) users.push({ name: pmem.name, clause: `${pmem.name} is bound to ${pmem.driver}` });
  if (region.start !== null && region.size !== null) {
    const memory = await onlineBlocksInRange(sys, region.start, region.size);
    if (memory.online.length > 0) {
      users.push({ name: 'memory', clause: `memory blocks ${summarizeBlocks(memory.online)} are online` });
    }
  }
  const named = new Set(users.map((u) => u.name));
  for (const claim of await iomemClaims(sys, region.name)) {
    if (!named.has(claim.name)) users.push(claim);
  }
  return users;
}

/** The users as the clauses of a one-line refusal. */
export async function regionUsers(sys: SysRoot, region: CxlRegion): Promise<string[]> {
  return (await findRegionUsers(sys, region)).map((u) => u.clause);
}

/** device_dax makes /dev/daxZ.N (dev_dax_probe(), drivers/dax/device.c): the file a process maps. */
const devNode = (dax: BoundDevice) => (dax.driver === 'device_dax' ? ` (/dev/${dax.name})` : '');

/**
 * The resources nested under the region's own entry in /proc/iomem (named after the region device by
 * alloc_hpa() in drivers/cxl/core/region.c), one user per claimant just below it, with what that
 * claimant holds below itself. Without root the kernel prints every address as zero; the nesting and the
 * names stay.
 */
async function iomemClaims(sys: SysRoot, region: string): Promise<RegionUser[]> {
  const result = await sys.read('proc/iomem');
  if (!result.ok) return [];
  const entries = parseIomem(result.text);
  const claims: RegionUser[] = [];
  const at = entries.findIndex((e) => e.name === region);
  if (at < 0) return claims;
  const depth = entries[at]!.depth;
  // A Set, not a list searched per line: a --root tree's 100,000 names below one claimant took seconds
  // of synchronous work per 100,000 more (quadratic), deaf to every signal.
  let top: { name: string; below: Set<string> } | null = null;
  const flush = () => {
    if (!top) return;
    const below = top.below.size > 0 ? ` (${[...top.below].join(', ')})` : '';
    claims.push({ name: top.name, clause: `${top.name}${below} holds part of ${region} in /proc/iomem` });
  };
  for (let j = at + 1; j < entries.length && entries[j]!.depth > depth; j++) {
    const entry = entries[j]!;
    if (entry.depth === depth + 1) {
      flush();
      top = { name: entry.name, below: new Set() };
    } else {
      top?.below.add(entry.name);
    }
  }
  flush();
  return claims;
}
