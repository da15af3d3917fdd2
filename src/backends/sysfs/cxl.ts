import path from 'node:path';
import { isKernelName, type KernelNameKind, kernelIds, kernelIndex } from '../../core/names.js';
import {
  CXL_DEVICES,
  CXL_ENDPOINT_FILES,
  CXL_MEMDEV_FILES,
  CXL_MEMDEV_TRIGGERS,
  CXL_REGION_FILES,
  cxlRegionTarget,
  DRIVER_LINK,
} from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { NO_RESOURCE, parseKernelBool, parseKernelInt } from './values.js';

export { CXL_DEVICES };

export interface BoundDevice {
  name: string;
  /** Name of the bound driver (`device_dax`, `kmem`, `cxl_pmem_region`...), null when unbound. */
  driver: string | null;
}

export interface CxlRegion {
  name: string;
  start: bigint | null;
  /** null when the region has no size: `size` reads 0, or (see `sizeUnreadable`) no u64 at all. */
  size: bigint | null;
  /** `size` was missing, unreadable or not a u64: a tree or kernel problem, not an unconfigured region. */
  sizeUnreadable: boolean;
  mode: string | null;
  /** `commit` reads 1 once the region decodes in hardware. */
  committed: boolean | null;
  interleaveWays: number | null;
  /** Endpoint decoder names by position, null for an empty position. */
  targets: (string | null)[];
  /** Memdevs behind the targets (through `endpointN/uport`). */
  memdevs: string[];
  /** Those memdevs' serial numbers (`memX/serial`), in the same order: the names that survive a reboot. */
  serials: (string | null)[];
  /** Driver the region itself is bound to (`cxl_region`), null when unbound. */
  driver: string | null;
  /** `daxZ.N` devices of the region's `dax_regionZ` (ram regions). */
  daxDevices: BoundDevice[];
  /** `pmem_regionZ` (pmem regions), which carries an NVDIMM region. */
  pmemRegion: BoundDevice | null;
}

export interface CxlMemdev {
  name: string;
  ramSize: bigint | null;
  pmemSize: bigint | null;
  serial: string | null;
  /** `security/state`: disabled, sanitize, locked, unlocked, frozen; null when unreadable. */
  securityState: string | null;
  sanitizeSupported: boolean;
  eraseSupported: boolean;
  /** The endpoint port whose `uport` is this memdev. */
  endpoint: string | null;
  /** `endpointN/decoders_committed`; null when it cannot be read. */
  decodersCommitted: number | null;
}

/** The endpoint port an endpoint decoder belongs to: `decoderP.N` is decoder N of port P (`endpointP`). */
export function endpointOfDecoder(decoder: string): string | null {
  const ids = kernelIds('decoder', decoder);
  return ids ? `endpoint${ids[0]}` : null;
}

/** The largest count an attribute printed with `%d` can hold. */
const INT_MAX = 2_147_483_647n;

/** The most interleave positions a CXL decoder has (drivers/cxl/cxl.h). */
export const CXL_DECODER_MAX_INTERLEAVE = 16n;

export const regionPath = (name: string): string => `${CXL_DEVICES}/${name}`;
export const memdevPath = (name: string): string => `${CXL_DEVICES}/${name}`;

async function driverOf(sys: SysRoot, devicePath: string): Promise<string | null> {
  const target = await sys.link(`${devicePath}/${DRIVER_LINK}`);
  return target === null ? null : path.basename(target);
}

/** The driver a region is bound to now (one readlink), null when unbound. */
export const regionDriver = (sys: SysRoot, name: string): Promise<string | null> =>
  driverOf(sys, regionPath(name));

export async function regionExists(sys: SysRoot, name: string): Promise<boolean> {
  return isKernelName('region', name) && (await sys.exists(`${regionPath(name)}/${CXL_REGION_FILES.commit}`));
}

export async function readCxlRegion(
  sys: SysRoot,
  name: string,
  uports = new EndpointUports(sys),
): Promise<CxlRegion | null> {
  if (!(await regionExists(sys, name))) return null;
  const base = regionPath(name);
  const start = parseKernelInt(await sys.value(`${base}/${CXL_REGION_FILES.resource}`), 16);
  const size = parseKernelInt(await sys.value(`${base}/${CXL_REGION_FILES.size}`), 16);
  const ways = parseKernelInt(await sys.value(`${base}/${CXL_REGION_FILES.interleaveWays}`));
  // interleave_ways_show() (drivers/cxl/core/region.c) prints an int that interleave_ways_store() keeps
  // within CXL_DECODER_MAX_INTERLEAVE (drivers/cxl/cxl.h): a tree's 2^64-1 was reported as a lossy
  // Number, and the commit preflight's list of positions failed (exit 70) or took gigabytes.
  const interleaveWays = ways === null || ways > CXL_DECODER_MAX_INTERLEAVE ? null : Number(ways);
  const targets: (string | null)[] = [];
  for (let i = 0; i < (interleaveWays ?? 0); i++) {
    const target = await sys.value(`${base}/${cxlRegionTarget(i)}`);
    targets.push(target && isKernelName('decoder', target) ? target : null);
  }
  const memdevs: string[] = [];
  for (const target of targets) {
    if (target === null) continue;
    const memdev = await uports.memdevOf(endpointOfDecoder(target));
    if (memdev && !memdevs.includes(memdev)) memdevs.push(memdev);
  }
  const index = kernelIndex('region', name);
  const daxRegion = `${base}/dax_region${index}`;
  const daxDevices: BoundDevice[] = [];
  for (const entry of await sys.list(daxRegion)) {
    if (isKernelName('dax', entry))
      daxDevices.push({ name: entry, driver: await driverOf(sys, `${daxRegion}/${entry}`) });
  }
  const pmemPath = `${base}/pmem_region${index}`;
  const pmemRegion = (await sys.exists(pmemPath))
    ? { name: `pmem_region${index}`, driver: await driverOf(sys, pmemPath) }
    : null;
  return {
    name,
    start: start === null || start === NO_RESOURCE ? null : start,
    size: size === 0n ? null : size,
    sizeUnreadable: size === null,
    mode: await sys.value(`${base}/${CXL_REGION_FILES.mode}`),
    committed: parseKernelBool(await sys.value(`${base}/${CXL_REGION_FILES.commit}`)),
    interleaveWays,
    targets,
    memdevs,
    serials: await Promise.all(memdevs.map((m) => sys.value(`${memdevPath(m)}/${CXL_MEMDEV_FILES.serial}`))),
    driver: await driverOf(sys, base),
    daxDevices,
    pmemRegion,
  };
}

const byIndex = (kind: KernelNameKind) => (a: string, b: string) =>
  kernelIndex(kind, a) - kernelIndex(kind, b);

export async function listCxlRegions(sys: SysRoot, uports = new EndpointUports(sys)): Promise<CxlRegion[]> {
  const names = (await sys.list(CXL_DEVICES))
    .filter((n) => isKernelName('region', n))
    .sort(byIndex('region'));
  const regions: CxlRegion[] = [];
  for (const name of names) {
    const region = await readCxlRegion(sys, name, uports);
    if (region) regions.push(region);
  }
  return regions;
}

/**
 * The memdev each endpoint port stands for (the basename of its `uport` link), each link read at most
 * once: one instance serves a whole listing, so M memdevs and E endpoints cost E readlinks, not M×E.
 */
export class EndpointUports {
  private readonly memdevs = new Map<string, Promise<string | null>>();
  /** Each memdev's first endpoint in listing order, from one walk of them all. */
  private endpoints: Promise<Map<string, string>> | null = null;

  constructor(private readonly sys: SysRoot) {}

  memdevOf(endpoint: string | null): Promise<string | null> {
    if (endpoint === null || !isKernelName('endpoint', endpoint)) return Promise.resolve(null);
    let memdev = this.memdevs.get(endpoint);
    if (!memdev) {
      memdev = this.readUport(endpoint);
      this.memdevs.set(endpoint, memdev);
    }
    return memdev;
  }

  /**
   * The first endpoint (in listing order) whose `uport` is this memdev. One walk maps every memdev: a
   * walk per memdev was M×E steps, and a --root tree of 10,000 memdevs and endpoints took minutes.
   */
  async endpointOf(memdev: string): Promise<string | null> {
    this.endpoints ??= this.mapEndpoints();
    return (await this.endpoints).get(memdev) ?? null;
  }

  private async mapEndpoints(): Promise<Map<string, string>> {
    const first = new Map<string, string>();
    for (const endpoint of await this.sys.list(CXL_DEVICES)) {
      if (!isKernelName('endpoint', endpoint)) continue;
      const memdev = await this.memdevOf(endpoint);
      if (memdev !== null && !first.has(memdev)) first.set(memdev, endpoint);
    }
    return first;
  }

  private async readUport(endpoint: string): Promise<string | null> {
    const target = await this.sys.link(`${CXL_DEVICES}/${endpoint}/${CXL_ENDPOINT_FILES.uport}`);
    const name = target === null ? null : path.basename(target);
    return name && isKernelName('memdev', name) ? name : null;
  }
}

export async function memdevExists(sys: SysRoot, name: string): Promise<boolean> {
  return isKernelName('memdev', name) && (await sys.exists(memdevPath(name)));
}

export async function readCxlMemdev(
  sys: SysRoot,
  name: string,
  uports = new EndpointUports(sys),
): Promise<CxlMemdev | null> {
  if (!(await memdevExists(sys, name))) return null;
  const base = memdevPath(name);
  const endpoint = await uports.endpointOf(name);
  const committed = endpoint
    ? parseKernelInt(await sys.value(`${CXL_DEVICES}/${endpoint}/${CXL_ENDPOINT_FILES.decodersCommitted}`))
    : null;
  return {
    name,
    ramSize: parseKernelInt(await sys.value(`${base}/${CXL_MEMDEV_FILES.ramSize}`), 16),
    pmemSize: parseKernelInt(await sys.value(`${base}/${CXL_MEMDEV_FILES.pmemSize}`), 16),
    serial: await sys.value(`${base}/${CXL_MEMDEV_FILES.serial}`),
    securityState: await sys.value(`${base}/${CXL_MEMDEV_FILES.securityState}`),
    sanitizeSupported: await sys.exists(`${base}/${CXL_MEMDEV_TRIGGERS.sanitize}`),
    eraseSupported: await sys.exists(`${base}/${CXL_MEMDEV_TRIGGERS.erase}`),
    endpoint,
    // decoders_committed_show() (drivers/cxl/core/port.c) prints an int: more is no count the kernel
    // printed, and a tree's 2^64-1 was reported as the lossy Number 18446744073709552000.
    decodersCommitted: committed === null || committed > INT_MAX ? null : Number(committed),
  };
}

export async function listCxlMemdevs(sys: SysRoot, uports = new EndpointUports(sys)): Promise<CxlMemdev[]> {
  const names = (await sys.list(CXL_DEVICES))
    .filter((n) => isKernelName('memdev', n))
    .sort(byIndex('memdev'));
  const memdevs: CxlMemdev[] = [];
  for (const name of names) {
    const memdev = await readCxlMemdev(sys, name, uports);
    if (memdev) memdevs.push(memdev);
  }
  return memdevs;
}
