import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeVersion,
  encodeVersion,
  FLAG_DRYRUN,
  FunctionId,
  parseStatusName,
  Status,
  statusName,
} from '../../../src/backends/emulated/kernel/arm-smccc.js';
import { smcccCacheStatusToErrno } from '../../../src/backends/emulated/kernel/arm-smccc-cache.js';
import { ExitCode, exitCodeForErrno, fromSystemError, MemregionError } from '../../../src/core/errors.js';
import { U64_MAX } from '../../../src/core/u64.js';

describe('SMCCC constants (DESIGN §2)', () => {
  test('function IDs and status codes', () => {
    assert.equal(FunctionId.SMCCC_VERSION, 0x80000000);
    assert.equal(FunctionId.SMCCC_ARCH_FEATURES, 0x80000001);
    assert.equal(FunctionId.CLEAN_INV_MEMREGION, 0xc0000005);
    assert.equal(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES, 0xc0000006);
    assert.deepEqual(Status, {
      SUCCESS: 0,
      NOT_SUPPORTED: -1,
      NOT_REQUIRED: -2,
      INVALID_PARAMETER: -3,
      RATE_LIMITED: -4,
      BUSY: -5,
    });
    assert.equal(FLAG_DRYRUN, 1n);
    assert.equal(U64_MAX, 0xffff_ffff_ffff_ffffn);
  });

  test('CLEAN_INV_MEMREGION is a fast SMC64 call of the Arch owner, number 5 (and 6)', () => {
    const fast = (id: number) => (id >>> 31) & 1;
    const smc64 = (id: number) => (id >>> 30) & 1;
    const owner = (id: number) => (id >>> 24) & 0x3f;
    for (const [id, number] of [
      [FunctionId.CLEAN_INV_MEMREGION, 5],
      [FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES, 6],
    ] as const) {
      assert.equal(fast(id), 1);
      assert.equal(smc64(id), 1);
      assert.equal(owner(id), 0);
      assert.equal(id & 0xffff, number);
    }
  });
});

describe('status names', () => {
  test('statusName reads x0 as signed 32-bit', () => {
    assert.equal(statusName(0), 'SUCCESS');
    assert.equal(statusName(-5), 'BUSY');
    assert.equal(statusName(0xfffffffb), 'BUSY');
    assert.equal(statusName(0xfffffffc), 'RATE_LIMITED');
    assert.equal(statusName(-6), 'UNKNOWN(-6)');
    assert.equal(statusName(7), 'UNKNOWN(7)');
  });

  test('parseStatusName accepts the spellings profiles use, nothing else', () => {
    assert.equal(parseStatusName('busy'), Status.BUSY);
    assert.equal(parseStatusName('RATE_LIMITED'), Status.RATE_LIMITED);
    assert.equal(parseStatusName('invalid-parameter'), Status.INVALID_PARAMETER);
    assert.equal(parseStatusName(' not_required '), Status.NOT_REQUIRED);
    assert.equal(parseStatusName('success'), Status.SUCCESS);
    assert.equal(parseStatusName('bogus'), undefined);
    assert.equal(parseStatusName(''), undefined);
    assert.equal(parseStatusName('-5'), undefined);
  });
});

describe('status → errno (DESIGN §3)', () => {
  const table: Array<[number, string | null]> = [
    [Status.SUCCESS, null],
    [Status.NOT_SUPPORTED, 'EOPNOTSUPP'],
    [Status.INVALID_PARAMETER, 'EINVAL'],
    [Status.RATE_LIMITED, 'EAGAIN'],
    [Status.BUSY, 'EBUSY'],
  ];

  test('every documented status, in v1/v2 and in rfc alike', () => {
    for (const [status, errno] of table) {
      assert.equal(smcccCacheStatusToErrno(status | 0, 'v2'), errno, statusName(status));
      assert.equal(smcccCacheStatusToErrno(status | 0, 'rfc'), errno, `rfc ${statusName(status)}`);
    }
  });

  test('NOT_REQUIRED is EIO in v1/v2 but EOPNOTSUPP in the RFC', () => {
    assert.equal(smcccCacheStatusToErrno(Status.NOT_REQUIRED | 0, 'v2'), 'EIO');
    assert.equal(smcccCacheStatusToErrno(Status.NOT_REQUIRED | 0, 'rfc'), 'EOPNOTSUPP');
  });

  test('anything else is EIO', () => {
    for (const status of [-6, -7, -1000, 1, 2, 0x7fffffff, -0x80000000]) {
      assert.equal(smcccCacheStatusToErrno(status | 0, 'v2'), 'EIO', String(status));
      assert.equal(smcccCacheStatusToErrno(status | 0, 'rfc'), 'EIO', `rfc ${status}`);
    }
  });

  test('x0 as the unsigned register value is read as signed 32-bit', () => {
    assert.equal(smcccCacheStatusToErrno(0xfffffffb | 0, 'v2'), 'EBUSY');
    assert.equal(smcccCacheStatusToErrno(0xfffffffc | 0, 'v2'), 'EAGAIN');
    assert.equal(smcccCacheStatusToErrno(0xfffffffd | 0, 'v2'), 'EINVAL');
    assert.equal(smcccCacheStatusToErrno(0xffffffff | 0, 'v2'), 'EOPNOTSUPP');
    assert.equal(smcccCacheStatusToErrno(0xfffffffe | 0, 'v2'), 'EIO');
  });

  test('only EBUSY and EAGAIN are transient', () => {
    assert.equal(['EBUSY', 'EAGAIN'].includes('EBUSY' as string), true);
    assert.equal(['EBUSY', 'EAGAIN'].includes('EAGAIN' as string), true);
    for (const errno of [null, 'EINVAL', 'EOPNOTSUPP', 'EIO', 'ENODEV', 'ENXIO'] as const) {
      assert.equal(['EBUSY', 'EAGAIN'].includes(errno as string), false, String(errno));
    }
  });
});

describe('SMCCC_VERSION encoding', () => {
  test('bits 30:16 major, 15:0 minor', () => {
    assert.equal(encodeVersion(1, 1), 0x10001);
    assert.equal(encodeVersion(1, 7), 0x10007);
    assert.equal(encodeVersion(2, 0), 0x20000);
    assert.deepEqual(decodeVersion(0x10007), { major: 1, minor: 7 });
    assert.deepEqual(decodeVersion(encodeVersion(0x7fff, 0xffff)), { major: 0x7fff, minor: 0xffff });
    assert.ok(encodeVersion(0x7fff, 0xffff) > 0, 'a version is never negative (bit 31 stays clear)');
  });
});

describe('errno and system errors → exit codes (DESIGN §5)', () => {
  test('exitCodeForErrno', () => {
    assert.equal(exitCodeForErrno(null), ExitCode.OK);
    assert.equal(exitCodeForErrno('EINVAL'), 65);
    assert.equal(exitCodeForErrno('EOPNOTSUPP'), 69);
    assert.equal(exitCodeForErrno('ENODEV'), 69);
    assert.equal(exitCodeForErrno('ENXIO'), 69);
    assert.equal(exitCodeForErrno('EBUSY'), 75);
    assert.equal(exitCodeForErrno('EAGAIN'), 75);
    assert.equal(exitCodeForErrno('ETIMEDOUT'), 75);
    assert.equal(exitCodeForErrno('EPERM'), 77);
    assert.equal(exitCodeForErrno('EACCES'), 77);
    assert.equal(exitCodeForErrno('EIO'), 74);
  });

  test('fromSystemError', () => {
    const sys = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(fromSystemError(sys('ENOENT'), 'x').exitCode, 66);
    assert.equal(fromSystemError(sys('EACCES'), 'x').exitCode, 77);
    assert.equal(fromSystemError(sys('EBUSY'), 'x').exitCode, 75);
    assert.equal(fromSystemError(sys('ENXIO'), 'x').exitCode, 69);
    assert.equal(fromSystemError(sys('EINVAL'), 'x').exitCode, 65);
    assert.equal(fromSystemError(sys('EIO'), 'x').exitCode, 74);
    const own = new MemregionError('mine', 64);
    assert.equal(fromSystemError(own, 'x'), own);
  });
});
