import { U64_MAX } from '../../core/u64.js';
import type {
  SysfsCxlMemdevInfo,
  SysfsCxlRegionInfo,
  SysfsRegionInfo,
  SysfsRegionsReport,
} from '../types.js';
import { type CxlMemdev, type CxlRegion, EndpointUports, listCxlMemdevs, listCxlRegions } from './cxl.js';
import type { SysRoot } from './fs.js';
import { scanIomem } from './iomem.js';
import { listNvdimm } from './nvdimm.js';
import { readRegionLocked } from './region-lock.js';
import { dec, hex } from './values.js';

export function cxlRegionInfo(region: CxlRegion): Omit<SysfsCxlRegionInfo, 'locked'> {
  return {
    name: region.name,
    kind: 'cxl_region',
    start: hex(region.start),
    size: dec(region.size),
    mode: region.mode,
    committed: region.committed,
    interleave_ways: region.interleaveWays,
    targets: region.targets,
    memdevs: region.memdevs,
    serials: region.serials,
    driver: region.driver,
    dax_devices: region.daxDevices.map((d) => ({ name: d.name, driver: d.driver })),
    pmem_region: region.pmemRegion,
  };
}

/**
 * A memdev's capacity, ram and pmem together; null when neither is known, or when the sum passes 64 bits
 * (a --root tree's two sizes of 2^64-1 were listed as a size of 32 EiB, no u64 a device has).
 */
function memdevSize(memdev: CxlMemdev): bigint | null {
  const total = (memdev.ramSize ?? 0n) + (memdev.pmemSize ?? 0n);
  return total === 0n || total > U64_MAX ? null : total;
}

export function cxlMemdevInfo(memdev: CxlMemdev): SysfsCxlMemdevInfo {
  return {
    name: memdev.name,
    kind: 'cxl_memdev',
    start: null,
    size: dec(memdevSize(memdev)),
    serial: memdev.serial,
    ram_size: dec(memdev.ramSize),
    pmem_size: dec(memdev.pmemSize),
    security_state: memdev.securityState,
    sanitize: memdev.sanitizeSupported,
    secure_erase: memdev.eraseSupported,
    endpoint: memdev.endpoint,
    decoders_committed: memdev.decodersCommitted,
  };
}

/** `regions` on the sysfs backend: CXL regions and memdevs, NVDIMM DIMMs and regions, /proc/iomem targets. */
export async function listRegions(sys: SysRoot): Promise<SysfsRegionsReport> {
  const cxl: SysfsRegionInfo[] = [];
  // One reading of the endpoints' uport links serves both the regions' memdevs and the memdevs' endpoints.
  const uports = new EndpointUports(sys);
  for (const region of await listCxlRegions(sys, uports))
    cxl.push({ ...cxlRegionInfo(region), locked: await readRegionLocked(sys, region.name) });
  const memdevs = (await listCxlMemdevs(sys, uports)).map(cxlMemdevInfo);
  const nvdimm = await listNvdimm(sys);
  const iomem = await scanIomem(sys);
  // Joined by array spreads, not push(...list): a --root tree's proc/iomem of a million lines is a
  // million arguments to one call, past the stack (an internal error, exit 70).
  return {
    backend: 'sysfs',
    regions: [...cxl, ...memdevs, ...nvdimm.regions, ...iomem.regions],
    warnings: [...nvdimm.warnings, ...iomem.warnings],
  };
}
