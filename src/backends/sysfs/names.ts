import { dataError } from '../../core/errors.js';
import { quote } from '../../core/quote.js';

/**
 * Kernel object names that may become part of a sysfs path. A name from the user (or read back from
 * sysfs, such as a region's `targetN`) is used in a path only when it matches the kernel's own naming
 * exactly: no `/`, no `..`, no spaces, no leading zeros that the kernel would never print.
 */
const NUMBER = '(?:0|[1-9][0-9]{0,8})';

export const KERNEL_NAMES = {
  region: { pattern: new RegExp(`^region${NUMBER}$`), example: 'region0', what: 'CXL region' },
  memdev: { pattern: new RegExp(`^mem${NUMBER}$`), example: 'mem0', what: 'CXL memory device' },
  nmem: { pattern: new RegExp(`^nmem${NUMBER}$`), example: 'nmem0', what: 'NVDIMM DIMM' },
  decoder: {
    pattern: new RegExp(`^decoder${NUMBER}\\.${NUMBER}$`),
    example: 'decoder2.0',
    what: 'CXL decoder',
  },
  endpoint: { pattern: new RegExp(`^endpoint${NUMBER}$`), example: 'endpoint3', what: 'CXL endpoint port' },
  dax: { pattern: new RegExp(`^dax${NUMBER}\\.${NUMBER}$`), example: 'dax0.0', what: 'DAX device' },
  memoryBlock: { pattern: new RegExp(`^memory${NUMBER}$`), example: 'memory32', what: 'memory block' },
} as const;

export type KernelNameKind = keyof typeof KERNEL_NAMES;

export function isKernelName(kind: KernelNameKind, name: string): boolean {
  return KERNEL_NAMES[kind].pattern.test(name);
}

/** A name as it may safely appear in a one-line message: quoted, escaped, at most 40 characters. */
export const quoteName = (name: string): string => quote(name, 40);

/** Returns `name` when it is a kernel name of `kind`; otherwise a data error (exit 65), one line. */
export function requireKernelName(kind: KernelNameKind, name: string): string {
  const spec = KERNEL_NAMES[kind];
  if (!spec.pattern.test(name)) {
    throw dataError(
      `${quoteName(name)} is not a ${spec.what} name (expected the kernel's form, e.g. ${spec.example})`,
    );
  }
  return name;
}

/** The number in a kernel name (`region12` → 12). */
export function kernelIndex(name: string): number {
  const match = /([0-9]+)(?:\.[0-9]+)?$/.exec(name);
  return match ? Number(match[1]) : Number.NaN;
}
