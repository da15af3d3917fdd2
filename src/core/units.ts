import { dataError, usageError } from './errors.js';
import { U64_MAX } from './u64.js';

/** Binary multipliers (`K`, `KiB`) and decimal ones (`kB`, `KB`), as operators write sizes. */
const SUFFIXES: Record<string, bigint> = {
  '': 1n,
  B: 1n,
  K: 1n << 10n,
  KIB: 1n << 10n,
  M: 1n << 20n,
  MIB: 1n << 20n,
  G: 1n << 30n,
  GIB: 1n << 30n,
  T: 1n << 40n,
  TIB: 1n << 40n,
  P: 1n << 50n,
  PIB: 1n << 50n,
  E: 1n << 60n,
  EIB: 1n << 60n,
  KB: 10n ** 3n,
  MB: 10n ** 6n,
  GB: 10n ** 9n,
  TB: 10n ** 12n,
  PB: 10n ** 15n,
  EB: 10n ** 18n,
};

const HEX = /^0[xX]([0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)$/;
const DECIMAL = /^([0-9]+(?:_[0-9]+)*)\s?([a-zA-Z]{0,3})$/;

/**
 * Parses an address or size as a 64-bit unsigned integer: decimal, `0x` hex, or decimal with a unit
 * suffix (`4K` = `4KiB` = 4096, `4KB` = 4000). Throws a data error (exit 65) naming `what`.
 */
export function parseU64(text: string, what = 'value'): bigint {
  const trimmed = text.trim();
  let value: bigint;
  const hex = HEX.exec(trimmed);
  if (hex) {
    value = BigInt(`0x${hex[1]!.replace(/_/g, '')}`);
  } else {
    const dec = DECIMAL.exec(trimmed);
    if (!dec)
      throw dataError(
        `${what} "${text}" is not a number (use decimal, 0x hex, or a suffix such as 4K, 2MiB, 1G)`,
      );
    const multiplier = SUFFIXES[dec[2]!.toUpperCase()];
    if (multiplier === undefined)
      throw dataError(
        `${what} "${text}" has an unknown unit "${dec[2]}" (K, KiB, KB, M, MiB, MB, G, GiB, GB, T, TiB, TB, P, E)`,
      );
    value = BigInt(dec[1]!.replace(/_/g, '')) * multiplier;
  }
  if (value > U64_MAX) throw dataError(`${what} "${text}" does not fit in 64 bits`);
  return value;
}

/** A physical range [start, start+size): non-empty and not past 2^64. */
export function validateRange(start: bigint, size: bigint): void {
  if (size === 0n) throw dataError('the range is empty (size 0)');
  if (start + size > U64_MAX + 1n) {
    throw dataError(`the range ${formatHex(start)}+${size} ends past 2^64 (overflow)`);
  }
}

export const formatHex = (value: bigint): string => `0x${value.toString(16)}`;

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** `1073741824n` → `1 GiB`, `1536n` → `1.50 KiB`: for human output only. */
export function formatBytes(value: bigint): string {
  let unit = 0;
  let scaled = value;
  while (scaled >= 1024n && unit < BINARY_UNITS.length - 1) {
    scaled /= 1024n;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  const exact = value % (1n << BigInt(10 * unit)) === 0n;
  if (exact) return `${scaled} ${BINARY_UNITS[unit]}`;
  const approx = Number(value) / 1024 ** unit;
  return `${approx.toFixed(approx < 10 ? 2 : 1)} ${BINARY_UNITS[unit]}`;
}

const DURATION = /^([0-9]+(?:\.[0-9]+)?)\s?(us|µs|ms|s|m|h)?$/;
const DURATION_MS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `10s`, `500ms`, `2m`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw usageError(`${what} "${text}" is not a duration (for example 10s, 500ms, 2m)`);
  const ms = Number(match[1]) * DURATION_MS[match[2] ?? 's']!;
  if (!Number.isFinite(ms)) throw usageError(`${what} "${text}" is too large`);
  return ms;
}

/** A positive (or, with `allowZero`, non-negative) safe integer, for counts such as --workers. */
export function parseCount(
  text: string,
  what: string,
  { allowZero = false, max = 1_000_000_000 } = {},
): number {
  const trimmed = text.trim();
  if (!/^[0-9]+(?:_[0-9]+)*$/.test(trimmed)) throw usageError(`${what} "${text}" is not a whole number`);
  const value = Number(trimmed.replace(/_/g, ''));
  if (!allowZero && value === 0) throw usageError(`${what} must be at least 1`);
  if (value > max) throw usageError(`${what} ${text} is too large (at most ${max})`);
  return value;
}
