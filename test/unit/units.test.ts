import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExitCode, MemregionError } from '../../src/core/errors.js';
import { U64_MAX } from '../../src/core/u64.js';
import {
  formatBytes,
  formatHex,
  parseCount,
  parseDuration,
  parseU64,
  validateRange,
} from '../../src/core/units.js';

const failsWith = (fn: () => unknown, exitCode: number, pattern?: RegExp) =>
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MemregionError, `expected a MemregionError, got ${String(error)}`);
    assert.equal(error.exitCode, exitCode);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });

describe('parseU64', () => {
  test('decimal and hex, nothing around them', () => {
    assert.equal(parseU64('0'), 0n);
    assert.equal(parseU64('4096'), 4096n);
    assert.equal(parseU64('0x4080000000'), 0x40_8000_0000n);
    assert.equal(parseU64('0X1f'), 31n);
    assert.equal(parseU64('0xdeadBEEF'), 0xdeadbeefn);
  });

  test('a decimal with a leading zero is refused (65): C and the kernel read 0777 as octal, not 777', () => {
    for (const text of ['0777', '00', '010K', '0018446744073709551615'])
      failsWith(() => parseU64(text, 'start'), ExitCode.DATA_ERR, /start ".*" has a leading zero.*octal/);
    assert.equal(parseU64('0'), 0n);
    assert.equal(parseU64('0K'), 0n);
    assert.equal(parseU64('0x0777'), 0x777n, 'hex keeps its leading zeros');
  });

  test('the largest 64-bit value, in hex and decimal', () => {
    assert.equal(parseU64('0xffffffffffffffff'), U64_MAX);
    assert.equal(parseU64('0xFFFFFFFFFFFFFFFF'), U64_MAX);
    assert.equal(parseU64('18446744073709551615'), U64_MAX);
    assert.equal(parseU64('0x0000000000000000ffffffffffffffff'), U64_MAX, 'leading zeros do not count');
  });

  test('one past 64 bits is a data error (exit 65) naming the value', () => {
    failsWith(
      () => parseU64('0x10000000000000000', 'start'),
      ExitCode.DATA_ERR,
      /start "0x10000000000000000" does not fit in 64 bits/,
    );
    failsWith(() => parseU64('18446744073709551616'), ExitCode.DATA_ERR, /64 bits/);
    failsWith(() => parseU64('16E'), ExitCode.DATA_ERR, /64 bits/);
    failsWith(() => parseU64('16384P'), ExitCode.DATA_ERR, /64 bits/);
    assert.equal(parseU64('15E'), 15n << 60n);
    assert.equal(parseU64('16383P'), 16383n << 50n);
  });

  test('binary suffixes: K = KiB = 1024, spelled as documented', () => {
    assert.equal(parseU64('4K'), 4096n);
    assert.equal(parseU64('4KiB'), 4096n);
    assert.equal(parseU64('2M'), 2n << 20n);
    assert.equal(parseU64('2MiB'), 2n << 20n);
    assert.equal(parseU64('1G'), 1n << 30n);
    assert.equal(parseU64('1GiB'), 1n << 30n);
    assert.equal(parseU64('1T'), 1n << 40n);
    assert.equal(parseU64('3TiB'), 3n << 40n);
    assert.equal(parseU64('1P'), 1n << 50n);
    assert.equal(parseU64('1E'), 1n << 60n);
    assert.equal(parseU64('7B'), 7n);
  });

  test('decimal suffixes: KB = 1000, MB, GB, TB, PB, EB', () => {
    assert.equal(parseU64('4KB'), 4000n);
    assert.equal(parseU64('4kB'), 4000n);
    assert.equal(parseU64('2MB'), 2_000_000n);
    assert.equal(parseU64('1GB'), 1_000_000_000n);
    assert.equal(parseU64('1TB'), 10n ** 12n);
    assert.equal(parseU64('1PB'), 10n ** 15n);
    assert.equal(parseU64('18EB'), 18n * 10n ** 18n);
    failsWith(() => parseU64('19EB'), ExitCode.DATA_ERR, /64 bits/);
  });

  test('garbage is a data error (exit 65) that names what was parsed', () => {
    for (const text of [
      '',
      ' ',
      'abc',
      '-1',
      '+1',
      '1.5G',
      '0x',
      '0xg',
      '0x_1',
      '1__0',
      '_1',
      '1_',
      '1e3',
      '4 K B',
      '1_000',
      '1_048_576',
      '0xdead_beef',
      '4 K',
      '4 KiB',
      '  42 ',
      '42\n',
      'K',
      '0b101',
      '12 34',
      '٣',
    ]) {
      failsWith(() => parseU64(text, 'size'), ExitCode.DATA_ERR, /^size "/);
    }
  });

  test('an unknown unit is named in the error', () => {
    failsWith(() => parseU64('4X'), ExitCode.DATA_ERR, /unknown unit "X"/);
    failsWith(() => parseU64('4Ki'), ExitCode.DATA_ERR, /unknown unit "Ki"/);
    failsWith(() => parseU64('4KIBB'), ExitCode.DATA_ERR, /not a number/);
    // Undocumented spellings: lower case (4kb could be kilobits), other cases of KiB.
    for (const text of ['4k', '4kb', '4kib', '4KIB', '2m', '1g', '4Kb'])
      failsWith(() => parseU64(text), ExitCode.DATA_ERR, /unknown unit .*case matters/);
  });

  test('0x without digits says so', () => {
    failsWith(() => parseU64('0x', 'start'), ExitCode.DATA_ERR, /^start "0x" has no hex digits/);
    failsWith(() => parseU64('0X'), ExitCode.DATA_ERR, /no hex digits/);
  });
});

describe('validateRange', () => {
  test('size 0 is an empty range (exit 65)', () => {
    failsWith(() => validateRange(0x1000n, 0n), ExitCode.DATA_ERR, /empty/);
  });

  test('a range may end exactly at 2^64, not past it', () => {
    assert.doesNotThrow(() => validateRange(U64_MAX, 1n));
    assert.doesNotThrow(() => validateRange(0n, U64_MAX));
    assert.doesNotThrow(() => validateRange(1n, U64_MAX));
    failsWith(() => validateRange(U64_MAX, 2n), ExitCode.DATA_ERR, /0xffffffffffffffff\+2 ends past 2\^64/);
    failsWith(() => validateRange(2n, U64_MAX), ExitCode.DATA_ERR, /overflow/);
  });
});

describe('formatting', () => {
  test('formatHex', () => {
    assert.equal(formatHex(0n), '0x0');
    assert.equal(formatHex(0x40_8000_0000n), '0x4080000000');
    assert.equal(formatHex(U64_MAX), '0xffffffffffffffff');
  });

  test('formatBytes: exact binary multiples and approximations', () => {
    assert.equal(formatBytes(0n), '0 B');
    assert.equal(formatBytes(1023n), '1023 B');
    assert.equal(formatBytes(1024n), '1 KiB');
    assert.equal(formatBytes(1n << 30n), '1 GiB');
    assert.equal(formatBytes(3n << 40n), '3 TiB');
    assert.equal(formatBytes(U64_MAX + 1n - (1n << 60n)), '15 EiB');
    assert.match(formatBytes(1536n), /^1\.50? KiB$/);
    assert.equal(formatBytes(1000n * 1024n + 512n), '1000.5 KiB');
  });
});

describe('parseDuration', () => {
  test('units and bare seconds', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5'), 1500);
    assert.equal(parseDuration('250us'), 0.25);
    assert.equal(parseDuration('250µs'), 0.25);
  });

  test('garbage is a usage error (exit 64)', () => {
    for (const text of ['', 's', '-1s', '10 parsecs', '1e3s', '.5s', ' 3 s ', '3 s', '1_000ms']) {
      failsWith(() => parseDuration(text, '--duration'), ExitCode.USAGE, /^--duration "/);
    }
  });
});

describe('parseCount', () => {
  test('whole numbers, zero only when allowed, a maximum', () => {
    assert.equal(parseCount('8', '--workers'), 8);
    assert.equal(parseCount('0', '--ops', { allowZero: true }), 0);
    failsWith(() => parseCount('0', '--workers'), ExitCode.USAGE, /--workers must be at least 1/);
    failsWith(() => parseCount('11', '--workers', { max: 10 }), ExitCode.USAGE, /too large/);
    for (const text of ['', '-1', '1.5', '1e3', 'eight', '0x10', '1_000', ' 8', '8 ']) {
      failsWith(() => parseCount(text, '--workers'), ExitCode.USAGE, /not a whole number/);
    }
  });
});
