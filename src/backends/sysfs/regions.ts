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
import { dec, hex } from './values.js';

export function cxlRegionInfo(region: CxlRegion): SysfsCxlRegionInfo {
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

export function cxlMemdevInfo(memdev: CxlMemdev): SysfsCxlMemdevInfo {
  return {
    name: memdev.name,
    kind: 'cxl_memdev',
    start: null,
    size: dec((memdev.ramSize ?? 0n) + (memdev.pmemSize ?? 0n) || null),
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
  const warnings: string[] = [];
  const regions: SysfsRegionInfo[] = [];
  // One reading of the endpoints' uport links serves both the regions' memdevs and the memdevs' endpoints.
  const uports = new EndpointUports(sys);
  regions.push(...(await listCxlRegions(sys, uports)).map(cxlRegionInfo));
  regions.push(...(await listCxlMemdevs(sys, uports)).map(cxlMemdevInfo));
  const nvdimm = await listNvdimm(sys);
  regions.push(...nvdimm.regions);
  warnings.push(...nvdimm.warnings);
  const iomem = await scanIomem(sys);
  regions.push(...iomem.regions);
  warnings.push(...iomem.warnings);
  return { backend: 'sysfs', regions, warnings };
}
