import { dataError, usageError } from './errors.js';
import { quote } from './quote.js';
import { U64_MAX } from './u64.js';

/**
 * The unit suffixes memregion takes, exactly as the README documents them (case matters: `4kb` could be
 * kilobits, `4k` is not an SI prefix for bytes): binary `K` = `KiB` = 1024 and up, decimal `KB` (or SI
 * `kB`) = 1000 and up, and `B`.
 */
const SUFFIXES: Record<string, bigint> = {
  '': 1n,
  B: 1n,
  K: 1n << 10n,
  KiB: 1n << 10n,
  M: 1n << 20n,
  MiB: 1n << 20n,
  G: 1n << 30n,
  GiB: 1n << 30n,
  T: 1n << 40n,
  TiB: 1n << 40n,
  P: 1n << 50n,
  PiB: 1n << 50n,
  E: 1n << 60n,
  EiB: 1n << 60n,
  kB: 10n ** 3n,
  KB: 10n ** 3n,
  MB: 10n ** 6n,
  GB: 10n ** 9n,
  TB: 10n ** 12n,
  PB: 10n ** 15n,
  EB: 10n ** 18n,
};

const UNITS_HELP = 'K, KiB, KB, M, MiB, MB, G, GiB, GB, T, TiB, TB, P, E; case matters';

const HEX = /^0[xX]([0-9a-fA-F]*)$/;
const DECIMAL = /^([0-9]+)([a-zA-Z]{0,3})$/;

/**
 * Parses an address or size as a 64-bit unsigned integer: decimal, `0x` hex, or decimal with a unit
 * suffix (`4K` = `4KiB` = 4096, `4KB` = 4000). Nothing else: no blanks, no `_` separators, no other
 * spelling of a unit, no decimal with a leading zero (octal elsewhere). Throws a data error (exit 65) naming `what`.
 */
export function parseU64(text: string, what = 'value'): bigint {
  let value: bigint;
  const hex = HEX.exec(text);
  if (hex) {
    if (hex[1] === '') throw dataError(`${what} ${quote(text)} has no hex digits after 0x`);
    value = BigInt(`0x${hex[1]}`);
  } else {
    const dec = DECIMAL.exec(text);
    if (!dec)
      throw dataError(
        `${what} ${quote(text)} is not a number (use decimal, 0x hex, or a suffix such as 4K, 2MiB, 1G; no blanks or _)`,
      );
    // C's strtoull(…, 0), the kernel's kstrtoull(…, 0) and the shell read 0777 as octal (511): taking it
    // as 777 would silently be another range than the one a script meant.
    if (dec[1]!.length > 1 && dec[1]!.startsWith('0'))
      throw dataError(
        `${what} ${quote(text)} has a leading zero, which C and the kernel read as octal: write it without the zero, or as 0x hex`,
      );
    const multiplier = SUFFIXES[dec[2]!];
    if (multiplier === undefined)
      throw dataError(`${what} ${quote(text)} has an unknown unit ${quote(dec[2]!)} (${UNITS_HELP})`);
    value = BigInt(dec[1]!) * multiplier;
  }
  if (value > U64_MAX) throw dataError(`${what} ${quote(text)} does not fit in 64 bits`);
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

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(us|µs|ms|s|m|h)?$/;
const DURATION_MS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The shortest interval between stress snapshots (1 µs): below it, interval arithmetic means nothing. */
export const MIN_INTERVAL_MS = 0.001;

/** `10s`, `500ms`, `2m`, `250us`, or a bare number of seconds → milliseconds (no blanks). */
export function parseDuration(text: string, what = 'duration'): number {
  const match = DURATION.exec(text);
  if (!match) throw usageError(`${what} ${quote(text)} is not a duration (for example 10s, 500ms, 2m)`);
  const ms = Number(match[1]) * DURATION_MS[match[2] ?? 's']!;
  if (!Number.isFinite(ms)) throw usageError(`${what} ${quote(text)} is too large`);
  return ms;
}

/** A positive (or, with `allowZero`, non-negative) whole number in plain decimal, for counts such as --workers. */
export function parseCount(
  text: string,
  what: string,
  { allowZero = false, max = 1_000_000_000 } = {},
): number {
  if (!/^[0-9]+$/.test(text)) throw usageError(`${what} ${quote(text)} is not a whole number`);
  const value = Number(text);
  if (!allowZero && value === 0) throw usageError(`${what} must be at least 1`);
  if (value > max) throw usageError(`${what} ${quote(text)} is too large (at most ${max})`);
  return value;
}
