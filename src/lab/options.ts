import { usageError } from '../core/errors.js';
import { parseU64 } from '../core/units.js';

export type LabArch = 'x86_64' | 'arm64';
export const LAB_ARCHES: readonly LabArch[] = ['x86_64', 'arm64'];

/**
 * `guest`: the CPU says it runs under a hypervisor (x86 CPUID hypervisor bit; arm64 PSCI over HVC);
 * `bare-metal`: it does not (x86 `-cpu max,-hypervisor`: the kernel then invalidates with WBINVD; arm64
 * `virt,virtualization=on`: EL2, PSCI over SMC).
 */
export type LabCpu = 'guest' | 'bare-metal';
export const LAB_CPUS: readonly LabCpu[] = ['guest', 'bare-metal'];

/** One emulated CXL type-3 device: volatile (`ram`) or persistent (`pmem`) capacity. */
export interface CxlDeviceSpec {
  kind: 'ram' | 'pmem';
  size: bigint;
  /** The device serial number QEMU gives it (`sn=`), the stable name across boots. */
  serial: string;
}

const MIB = 1n << 20n;

/**
 * `ram:256M,pmem:256M` → two type-3 devices with serials 0x1001, 0x1002; `none` → no CXL at all. QEMU's
 * type-3 device wants a size in whole 256 MiB units (its HDM decoders' granularity).
 */
export function parseCxlSpec(text: string): CxlDeviceSpec[] {
  if (text.trim() === 'none') return [];
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw usageError(`--cxl "${text}": empty device`);
  if (parts.length > 8) throw usageError(`--cxl "${text}": at most 8 devices`);
  return parts.map((part, i) => {
    const match = /^(ram|pmem):(.+)$/.exec(part);
    if (!match) throw usageError(`--cxl "${part}": expected ram:SIZE or pmem:SIZE (for example ram:256M)`);
    const size = parseU64(match[2]!, `--cxl ${match[1]} size`);
    if (size === 0n || size % (256n * MIB) !== 0n || size > 64n * 1024n * MIB) {
      throw usageError(`--cxl "${part}": size must be a multiple of 256M, at most 64G`);
    }
    return { kind: match[1] as 'ram' | 'pmem', size, serial: `0x${(0x1001 + i).toString(16)}` };
  });
}

export interface LabOptions {
  arch: LabArch;
  cpu: LabCpu;
  kernel?: string;
  modules?: string;
  cxl: CxlDeviceSpec[];
  append: string[];
  keep: boolean;
  /** Folder on the host that receives what the command leaves in $LAB_OUT (/out) in the guest. */
  outDir?: string;
  bootTimeoutMs: number;
  memoryMiB: number;
}
