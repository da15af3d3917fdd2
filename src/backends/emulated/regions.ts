import { dataError } from '../../core/errors.js';
import { formatHex } from '../../core/units.js';
import type { RegionInfo } from '../types.js';
import type { RegionSpec } from './profiles.js';

export const REGION_NAME = /^region[0-9]+$/;
export const MEMDEV_NAME = /^mem[0-9]+$/;

/** The profile's regions as `regions` lists them, in the shape the sysfs backend gives CXL regions. */
export function describeRegion(region: EmulatedRegion): RegionInfo {
  return {
    name: region.spec.name,
    kind: 'cxl_region',
    start: formatHex(region.spec.start),
    size: region.spec.size.toString(),
    mode: 'ram',
    commit: region.committed ? 'committed' : 'configured',
    memdevs: region.spec.memdev ? [region.spec.memdev] : [],
    used_by: region.spec.used_by,
    needs_invalidation: region.needsInvalidation,
  };
}

/** A region's state during one run: commit state, and whether an erase left its caches stale. */
export interface EmulatedRegion {
  spec: RegionSpec;
  committed: boolean;
  needsInvalidation: boolean;
}

export function findRegion(regions: EmulatedRegion[], name: string): EmulatedRegion {
  if (!REGION_NAME.test(name)) throw dataError(`"${name}" is not a region name (expected regionN, e.g. region0)`);
  const region = regions.find((r) => r.spec.name === name);
  if (!region) {
    const known = regions.map((r) => r.spec.name).join(', ') || 'none';
    throw dataError(`no region named ${name} (this profile has: ${known})`);
  }
  return region;
}

export function findMemdevRegions(regions: EmulatedRegion[], memdev: string): EmulatedRegion[] {
  if (!MEMDEV_NAME.test(memdev)) throw dataError(`"${memdev}" is not a memdev name (expected memN, e.g. mem0)`);
  const found = regions.filter((r) => r.spec.memdev === memdev);
  if (found.length === 0) {
    const known = [...new Set(regions.flatMap((r) => (r.spec.memdev ? [r.spec.memdev] : [])))].join(', ') || 'none';
    throw dataError(`no memdev named ${memdev} (this profile has: ${known})`);
  }
  return found;
}
