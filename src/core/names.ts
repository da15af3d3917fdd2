import { dataError } from './errors.js';
import { quote } from './quote.js';

/**
 * Kernel object names, one rule for both backends and the profile schema. memregion runs as root and a
 * name from the user (or read back from sysfs, such as a region's `targetN`) becomes part of a sysfs
 * path, so a name is used only when it is spelled exactly as the kernel prints it: a fixed prefix and
 * the ids the kernel formats with `%d` or `%u` from an int or u32, so ASCII digits, no sign, no leading
 * zero but in `0` itself, and no more than the type holds. Anything else (`..`, `/`, blanks, a newline,
 * `region01`, `region2147483648`, Unicode digits) is refused before any path is built.
 *
 * The kernel's spellings (dev_set_name() calls):
 * - `region%d`: drivers/cxl/core/region.c devm_cxl_add_region() (id from memregion_alloc(), an ida int),
 *   and drivers/nvdimm/region_devs.c nd_region_create();
 * - `mem%d`: drivers/cxl/core/memdev.c cxl_memdev_alloc() (ida, below CXL_MEM_MAX_DEVS);
 * - `decoder%d.%d`, `endpoint%d`: drivers/cxl/core/port.c cxl_decoder_init(), cxl_port_alloc();
 * - `nmem%d`: drivers/nvdimm/dimm_devs.c __nvdimm_create();
 * - `dax%d.%d`: drivers/dax/bus.c __devm_create_dev_dax();
 * - `memory%u`: drivers/base/core.c device_add() with the memory subsystem's dev_name (a u32 id).
 */

const INT_MAX = 2_147_483_647;
const UINT_MAX = 4_294_967_295;

interface KernelNameSpec {
  /** The kernel's format without its numbers, e.g. `decoder` + `.`. */
  prefix: string;
  /** How many numbers follow the prefix, `.`-separated. */
  ids: 1 | 2;
  /** The largest id the kernel's type holds. */
  max: number;
  /** How messages call the object. */
  what: string;
  form: string;
  example: string;
}

const KERNEL_NAME_SPECS = {
  region: { prefix: 'region', ids: 1, max: INT_MAX, what: 'region', form: 'regionN', example: 'region0' },
  memdev: { prefix: 'mem', ids: 1, max: INT_MAX, what: 'memdev', form: 'memN', example: 'mem0' },
  nmem: { prefix: 'nmem', ids: 1, max: INT_MAX, what: 'NVDIMM DIMM', form: 'nmemN', example: 'nmem0' },
  decoder: {
    prefix: 'decoder',
    ids: 2,
    max: INT_MAX,
    what: 'CXL decoder',
    form: 'decoderP.N',
    example: 'decoder2.0',
  },
  endpoint: {
    prefix: 'endpoint',
    ids: 1,
    max: INT_MAX,
    what: 'CXL endpoint port',
    form: 'endpointN',
    example: 'endpoint3',
  },
  dax: { prefix: 'dax', ids: 2, max: INT_MAX, what: 'DAX device', form: 'daxR.N', example: 'dax0.0' },
  memoryBlock: {
    prefix: 'memory',
    ids: 1,
    max: UINT_MAX,
    what: 'memory block',
    form: 'memoryN',
    example: 'memory32',
  },
} as const satisfies Record<string, KernelNameSpec>;

export type KernelNameKind = keyof typeof KERNEL_NAME_SPECS;

/** An id as the kernel prints it: `0`, or a non-zero ASCII digit and at most 9 more. */
const ID = '(0|[1-9][0-9]{0,9})';

const patterns = Object.fromEntries(
  Object.entries(KERNEL_NAME_SPECS).map(([kind, spec]) => [
    kind,
    new RegExp(`^${spec.prefix}${spec.ids === 2 ? `${ID}\\.${ID}` : ID}$`),
  ]),
) as Record<KernelNameKind, RegExp>;

/** The ids of a kernel name of `kind` (`decoder2.0` → [2, 0]), or null when it is not one. */
export function kernelIds(kind: KernelNameKind, name: string): number[] | null {
  const match = patterns[kind].exec(name);
  if (!match) return null;
  const ids = match.slice(1).map(Number);
  return ids.every((id) => id <= KERNEL_NAME_SPECS[kind].max) ? ids : null;
}

export function isKernelName(kind: KernelNameKind, name: string): boolean {
  return kernelIds(kind, name) !== null;
}

/** What a name of `kind` must look like, as the one-line refusals and the profile schema say it. */
export function kernelNameRule(kind: KernelNameKind): string {
  const spec = KERNEL_NAME_SPECS[kind];
  const numbers = spec.ids === 2 ? 'decimal ids' : 'a decimal id';
  return `is not a ${spec.what} name (expected ${spec.form}: ${numbers} from 0 to ${spec.max} without leading zeros, e.g. ${spec.example})`;
}

/** A name as it may safely appear in a one-line message: quoted, escaped, at most 40 characters. */
export const quoteName = (name: string): string => quote(name, 40);

/** Returns `name` when it is a kernel name of `kind`; otherwise a data error (exit 65), one line. */
export function requireKernelName(kind: KernelNameKind, name: string): string {
  if (typeof name !== 'string' || !isKernelName(kind, name))
    throw dataError(`${quoteName(String(name))} ${kernelNameRule(kind)}`);
  return name;
}

/** The first number in a kernel name of `kind` (`region12` → 12, `decoder2.0` → 2); NaN when not one. */
export function kernelIndex(kind: KernelNameKind, name: string): number {
  return kernelIds(kind, name)?.[0] ?? Number.NaN;
}
