import { dataError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import { U64_MAX, u64FromSafeInteger } from '../core/u64.js';
import { formatHex } from '../core/units.js';

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export type Pattern = 'random' | 'sequential' | 'same';
export const PATTERNS: readonly Pattern[] = ['random', 'sequential', 'same'];

export interface RangeSpec {
  pattern: Pattern;
  base: bigint;
  size: bigint;
  span: bigint;
}

export function validateRangeSpec(spec: RangeSpec): void {
  if (spec.size === 0n) throw dataError('--size must not be 0');
  if (spec.span < spec.size) throw dataError(`--span (${spec.span}) is smaller than --size (${spec.size})`);
  if (spec.base + spec.span > U64_MAX + 1n)
    throw dataError(`--base ${formatHex(spec.base)} + --span ${spec.span} ends past 2^64`);
}

/**
 * Draws the ranges of a stress run: `size`-aligned slots of [base, base+span). Where every address is a
 * safe integer the arithmetic is done in numbers, one BigInt per range instead of three; the draws and
 * the addresses are the same.
 */
export function rangePicker(spec: RangeSpec, random: Random): () => bigint {
  const slots = spec.span / spec.size;
  if (spec.base + spec.span <= SAFE && slots <= 0x1_0000_0000n) {
    const base = Number(spec.base);
    const size = Number(spec.size);
    const count = Number(slots);
    switch (spec.pattern) {
      case 'same':
        return () => spec.base;
      case 'sequential': {
        let next = 0;
        return () => {
          const start = u64FromSafeInteger(base + next * size);
          next = (next + 1) % count;
          return start;
        };
      }
      case 'random':
        return () => u64FromSafeInteger(base + random.belowU32(count) * size);
    }
  }
  switch (spec.pattern) {
    case 'same':
      return () => spec.base;
    case 'sequential': {
      let next = 0n;
      return () => {
        const start = spec.base + next * spec.size;
        next = (next + 1n) % slots;
        return start;
      };
    }
    case 'random':
      return () => spec.base + random.below(slots) * spec.size;
  }
}
