import { U64_MAX } from '../../core/u64.js';
/** Parsing of sysfs attribute values, which the kernel prints as `%#llx`, `%llx` or `%llu`. */

/** `0x1f` or `1f` as hex when `radix` is 16; `0x…` always hex; otherwise decimal. Null when not a number. */
export function parseKernelInt(text: string | null, radix: 10 | 16 = 10): bigint | null {
  if (text === null) return null;
  const value = parseDigits(text.trim(), radix);
  // Every one of these is a u64 or narrower in the kernel: more (a --root tree's 0x10000000000000000) is
  // no value the kernel prints, and reported as such it would be a size past 2^64.
  return value !== null && value <= U64_MAX ? value : null;
}

function parseDigits(value: string, radix: 10 | 16): bigint | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) return BigInt(value);
  if (radix === 16 && /^[0-9a-fA-F]+$/.test(value)) return BigInt(`0x${value}`);
  if (/^[0-9]+$/.test(value)) return BigInt(value);
  return null;
}

/** The kernel prints `-1ULL` (all ones) for a region without a resource. */
export const NO_RESOURCE = (1n << 64n) - 1n;

export const hex = (value: bigint | null): string | null =>
  value === null ? null : `0x${value.toString(16)}`;
export const dec = (value: bigint | null): string | null => (value === null ? null : value.toString());

/** `0`/`1`, `N`/`Y` and the like as a boolean; null when unreadable or unclear. */
export function parseKernelBool(text: string | null): boolean | null {
  if (text === null) return null;
  const value = text.trim().toLowerCase();
  if (['1', 'y', 'yes', 'true', 'on'].includes(value)) return true;
  if (['0', 'n', 'no', 'false', 'off'].includes(value)) return false;
  return null;
}
