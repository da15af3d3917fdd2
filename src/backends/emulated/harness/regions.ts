import { dataError } from '../../../core/errors.js';
import { kernelIndex, requireKernelName } from '../../../core/names.js';
import { formatHex } from '../../../core/units.js';
import type { BoundDeviceInfo, EmulatedCxlMemdevInfo, EmulatedCxlRegionInfo } from '../../types.js';
import type { CxlRegion } from '../kernel/cxl-region.js';
import type { RegionSpec } from '../profiles.js';

/** A profile region as `regions` lists it, in the shape the sysfs backend gives a CXL region. */
export function describeRegion(region: EmulatedRegion): EmulatedCxlRegionInfo {
  return {
    name: region.spec.name,
    kind: 'cxl_region',
    start: formatHex(region.spec.start),
    size: region.spec.size.toString(),
    mode: 'ram',
    committed: region.kernel.committed,
    interleave_ways: Math.max(1, memdevsOf(region.spec).length),
    targets: [],
    memdevs: memdevsOf(region.spec),
    serials: memdevsOf(region.spec).map(emulatedSerial),
    driver: region.kernel.driver,
    dax_devices: boundUsers(region),
    pmem_region: null,
    locked: region.kernel.locked,
    needs_invalidation: region.needsInvalidation,
  };
}

/**
 * The region's DAX devices, bound to kmem as the profile's `used_by` says. The DAX region is a child of
 * the bound region driver (drivers/cxl/core/region.c cxl_region_probe() → devm_cxl_add_dax_region()) and
 * goes when it is released (commit_store() → device_release_driver()): no driver, no DAX devices, so
 * nothing uses the region.
 */
export const boundUsers = (region: EmulatedRegion): BoundDeviceInfo[] =>
  region.kernel.driver ? region.spec.used_by.map((name) => ({ name, driver: 'kmem' })) : [];

/** The memdevs the profile's regions name, in the shape the sysfs backend gives a CXL memdev. */
export function describeMemdevs(
  regions: EmulatedRegion[],
  sanitizing: ReadonlySet<string>,
): EmulatedCxlMemdevInfo[] {
  return memdevNames(regions).map((name) => {
    const own = regions.filter((r) => memdevsOf(r.spec).includes(name));
    // An interleaved region takes an equal share of each of its memdevs.
    const size = own.reduce((sum, r) => sum + r.spec.size / BigInt(memdevsOf(r.spec).length), 0n);
    return {
      name,
      kind: 'cxl_memdev',
      start: null,
      size: size.toString(),
      serial: emulatedSerial(name),
      ram_size: size.toString(),
      pmem_size: '0',
      security_state: sanitizing.has(name) ? 'sanitize' : 'disabled',
      sanitize: true,
      secure_erase: true,
      endpoint: null,
      decoders_committed: own.filter((r) => r.kernel.committed).length,
    };
  });
}

/** The memdevs behind a profile region, in interleave order. */
export const memdevsOf = (spec: RegionSpec): string[] => spec.memdevs ?? (spec.memdev ? [spec.memdev] : []);

const memdevNames = (regions: EmulatedRegion[]): string[] =>
  [...new Set(regions.flatMap((r) => memdevsOf(r.spec)))].sort(
    (a, b) => kernelIndex('memdev', a) - kernelIndex('memdev', b),
  );

/** An emulated memdev's serial number (memN → 0x100N in hex), the name a real one keeps across boots. */
export const emulatedSerial = (memdev: string): string =>
  `0x${(0x1000 + kernelIndex('memdev', memdev)).toString(16)}`;

/** A region's state during one run: commit state, and whether an erase left its caches stale. */
export interface EmulatedRegion {
  spec: RegionSpec;
  /** The kernel's region (drivers/cxl/core/region.c): resource and commit state. */
  kernel: CxlRegion;
  needsInvalidation: boolean;
}

export function findRegion(regions: EmulatedRegion[], name: string): EmulatedRegion {
  requireKernelName('region', name);
  const region = regions.find((r) => r.spec.name === name);
  if (!region) {
    const known = regions.map((r) => r.spec.name).join(', ') || 'none';
    throw dataError(`no region named ${name} (this profile has: ${known})`);
  }
  return region;
}

export function findMemdevRegions(regions: EmulatedRegion[], memdev: string): EmulatedRegion[] {
  requireKernelName('memdev', memdev);
  const found = regions.filter((r) => memdevsOf(r.spec).includes(memdev));
  if (found.length === 0) {
    const known = memdevNames(regions).join(', ') || 'none';
    throw dataError(`no memdev named ${memdev} (this profile has: ${known})`);
  }
  return found;
}
