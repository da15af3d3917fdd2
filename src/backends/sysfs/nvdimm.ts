import path from 'node:path';
import { isKernelName, type KernelNameKind, kernelIndex } from '../../core/names.js';
import type { NvdimmDimmInfo, NvdimmRegionInfo } from '../types.js';
import { DRIVER_LINK, ND_DEVICES, ND_REGION_FILES, ndMapping } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { dec, hex, parseKernelInt } from './values.js';

export { ND_DEVICES };

const byIndex = (kind: KernelNameKind) => (a: string, b: string) =>
  kernelIndex(kind, a) - kernelIndex(kind, b);

export async function listNvdimm(sys: SysRoot): Promise<{
  regions: Array<NvdimmDimmInfo | NvdimmRegionInfo>;
  warnings: string[];
}> {
  const entries = await sys.list(ND_DEVICES);
  const regions: Array<NvdimmDimmInfo | NvdimmRegionInfo> = [];
  const warnings: string[] = [];
  for (const name of entries.filter((n) => isKernelName('nmem', n)).sort(byIndex('nmem'))) {
    const base = `${ND_DEVICES}/${name}`;
    regions.push({
      name,
      kind: 'nvdimm_dimm',
      start: null,
      size: null,
      security: await sys.value(`${base}/security`),
      state: await sys.value(`${base}/state`),
      flags: await sys.value(`${base}/flags`),
    });
  }
  let resourceHidden = false;
  for (const name of entries.filter((n) => isKernelName('region', n)).sort(byIndex('region'))) {
    const base = `${ND_DEVICES}/${name}`;
    const resource = await sys.read(`${base}/${ND_REGION_FILES.resource}`);
    if (!resource.ok && resource.denied) resourceHidden = true;
    const start = resource.ok ? parseKernelInt(resource.text, 16) : null;
    const mappings: string[] = [];
    const count = Number(parseKernelInt(await sys.value(`${base}/${ND_REGION_FILES.mappings}`)) ?? 0n);
    for (let i = 0; i < count && i < 64; i++) {
      const mapping = await sys.value(`${base}/${ndMapping(i)}`);
      const dimm = mapping?.split(',')[0];
      if (dimm && isKernelName('nmem', dimm)) mappings.push(dimm);
    }
    const driver = await sys.link(`${base}/${DRIVER_LINK}`);
    regions.push({
      name,
      kind: 'nvdimm_region',
      start: hex(start),
      size: dec(parseKernelInt(await sys.value(`${base}/${ND_REGION_FILES.size}`))),
      dimms: mappings,
      nstype: await sys.value(`${base}/${ND_REGION_FILES.nstype}`),
      enabled: driver !== null,
      driver: driver === null ? null : path.basename(driver),
    });
  }
  if (resourceHidden)
    warnings.push('NVDIMM region resource is readable by root only: NVDIMM regions are listed without start');
  return { regions, warnings };
}
