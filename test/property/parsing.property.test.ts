import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseProfileFile } from '../../src/backends/emulated/profile-schema.js';
import { ExitCode, MemregionError } from '../../src/core/errors.js';
import { U64_MAX } from '../../src/core/smccc.js';
import { formatBytes, formatHex, parseU64, validateRange } from '../../src/core/units.js';

const RUNS = { numRuns: 200, seed: 0x5eed } as const;

const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
/** Mostly small and boundary values, sometimes anything. */
const interestingU64 = fc.oneof(
  u64,
  fc.bigInt({ min: 0n, max: 1n << 20n }),
  fc.constantFrom(0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 63n) - 1n, 1n << 63n, U64_MAX - 1n, U64_MAX),
);
const beyond = fc.bigInt({ min: U64_MAX + 1n, max: 1n << 80n });

const isDataError = (error: unknown) =>
  error instanceof MemregionError && error.exitCode === ExitCode.DATA_ERR;

/** Inserts `_` after the digits at the chosen positions (never first or last, never two in a row). */
function withUnderscores(digits: string, cuts: number[]): string {
  const positions = new Set(
    cuts.map((c) => 1 + (c % Math.max(1, digits.length - 1))).filter((p) => p < digits.length),
  );
  let out = '';
  for (let i = 0; i < digits.length; i++) out += (positions.has(i) ? '_' : '') + digits[i];
  return out;
}

const randomCase = (text: string, mask: number) =>
  [...text].map((ch, i) => ((mask >> i) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join('');

const BINARY: Array<[string, bigint]> = [
  ['K', 1n << 10n],
  ['KiB', 1n << 10n],
  ['M', 1n << 20n],
  ['MiB', 1n << 20n],
  ['G', 1n << 30n],
  ['GiB', 1n << 30n],
  ['T', 1n << 40n],
  ['TiB', 1n << 40n],
  ['P', 1n << 50n],
  ['E', 1n << 60n],
  ['B', 1n],
  ['', 1n],
];
const DECIMAL: Array<[string, bigint]> = [
  ['KB', 10n ** 3n],
  ['MB', 10n ** 6n],
  ['GB', 10n ** 9n],
  ['TB', 10n ** 12n],
  ['PB', 10n ** 15n],
  ['EB', 10n ** 18n],
];

describe('parseU64 round trips', () => {
  test('decimal', () => {
    fc.assert(
      fc.property(interestingU64, (v) => parseU64(v.toString()) === v),
      RUNS,
    );
  });

  test('hex in either case, with leading zeros', () => {
    fc.assert(
      fc.property(interestingU64, fc.boolean(), fc.nat({ max: 8 }), (v, upper, zeros) => {
        const digits = '0'.repeat(zeros) + (upper ? v.toString(16).toUpperCase() : v.toString(16));
        assert.equal(parseU64(`0x${digits}`), v);
        assert.equal(parseU64(`0X${digits}`), v);
        assert.equal(parseU64(formatHex(v)), v);
      }),
      RUNS,
    );
  });

  test('underscores between digits are refused (undocumented), never read as another value', () => {
    fc.assert(
      fc.property(interestingU64, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), (v, cuts) => {
        const dec = withUnderscores(v.toString(), cuts);
        const hex = withUnderscores(v.toString(16), cuts);
        if (dec.includes('_')) assert.throws(() => parseU64(dec), isDataError, dec);
        if (hex.includes('_')) assert.throws(() => parseU64(`0x${hex}`), isDataError, hex);
      }),
      RUNS,
    );
  });

  test('unit suffixes multiply as documented; any other case, or a blank, is refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BINARY, ...DECIMAL),
        fc.bigInt({ min: 0n, max: U64_MAX }),
        fc.nat({ max: 7 }),
        ([suffix, multiplier], raw, mask) => {
          const n = raw % (U64_MAX / multiplier + 1n);
          assert.equal(parseU64(`${n}${suffix}`), n * multiplier, `${n}${suffix}`);
          const recased = randomCase(suffix, mask);
          if (recased !== suffix && !(recased === 'kB' && suffix === 'KB'))
            assert.throws(() => parseU64(`${n}${recased}`), isDataError, recased);
          if (suffix) assert.throws(() => parseU64(`${n} ${suffix}`), isDataError);
        },
      ),
      RUNS,
    );
  });

  test('exact binary sizes survive formatBytes → parseU64 (without the blank human output puts in)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1023n }), fc.nat({ max: 6 }), (n, unit) => {
        const v = n << BigInt(10 * unit);
        if (v > U64_MAX) return;
        assert.equal(parseU64(formatBytes(v).replace(' ', '')), v, formatBytes(v));
      }),
      RUNS,
    );
  });

  test('anything past 64 bits is a data error, never a wrong value', () => {
    fc.assert(
      fc.property(beyond, fc.constantFrom(...BINARY, ...DECIMAL), (v, [suffix, multiplier]) => {
        assert.throws(() => parseU64(v.toString()), isDataError);
        assert.throws(() => parseU64(formatHex(v)), isDataError);
        const n = U64_MAX / multiplier + 1n + (v % 1000n);
        assert.throws(() => parseU64(`${n}${suffix}`), isDataError);
      }),
      RUNS,
    );
  });

  test('any text either parses to a 64-bit value or is a data error', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefxXkKmMgGiIbBtTeE_ -+.'.split(''));
    const text = fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 24 }));
    fc.assert(
      fc.property(text, (t) => {
        let value: bigint;
        try {
          value = parseU64(t);
        } catch (error) {
          assert.ok(isDataError(error), `unexpected ${String(error)}`);
          return;
        }
        assert.equal(typeof value, 'bigint');
        assert.ok(value >= 0n && value <= U64_MAX);
      }),
      { ...RUNS, numRuns: 500 },
    );
  });
});

describe('validateRange', () => {
  test('refuses exactly the empty ranges and those that end past 2^64', () => {
    fc.assert(
      fc.property(interestingU64, interestingU64, (start, size) => {
        const bad = size === 0n || start + size > U64_MAX + 1n;
        if (bad) assert.throws(() => validateRange(start, size), isDataError);
        else assert.doesNotThrow(() => validateRange(start, size));
      }),
      RUNS,
    );
  });
});

describe('profile 64-bit values', () => {
  test('decimal and hex strings round trip; numbers when safe', () => {
    fc.assert(
      fc.property(interestingU64, (v) => {
        for (const text of [v.toString(), formatHex(v), `0X${v.toString(16).toUpperCase()}`]) {
          const overrides = parseProfileFile({ attributes: { breakeven_bytes: text } }, 'prop.json');
          assert.equal(overrides.attributes?.breakeven_bytes, v, text);
        }
        if (v <= BigInt(Number.MAX_SAFE_INTEGER)) {
          const overrides = parseProfileFile({ checks: { align_bytes: Number(v) } }, 'prop.json');
          assert.equal(overrides.checks?.align_bytes, v);
        }
      }),
      RUNS,
    );
  });

  test('values past 64 bits are refused naming the key', () => {
    fc.assert(
      fc.property(beyond, (v) => {
        assert.throws(
          () => parseProfileFile({ attributes: { breakeven_bytes: v.toString() } }, 'prop.json'),
          (e: unknown) => isDataError(e) && /attributes\.breakeven_bytes/.test((e as Error).message),
        );
      }),
      RUNS,
    );
  });
});
