import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  SMCCC_CACHE_DEFAULT_DELAY_US,
  SMCCC_CACHE_MAX_DELAY_US,
  SMCCC_CACHE_MAX_RETRIES,
  smcccCacheDelayUs,
} from '../../../src/backends/emulated/kernel/arm-smccc-cache.js';

import type { ProviderVariant } from '../../../src/backends/types.js';
import {
  delayProfile,
  emulate,
  emulateScripted,
  firmwareCalls,
  globalProfile,
  invalidateOnce,
  profileWith,
  RANGE_SIZE,
  RANGE_START,
  Status,
  VARIANTS,
} from '../../helpers/emulation.js';

describe('retry delay formula (DESIGN §3)', () => {
  test('the documented examples', () => {
    assert.equal(smcccCacheDelayUs(0, 0), 1000);
    assert.equal(smcccCacheDelayUs(100, 0), 10_000);
    assert.equal(smcccCacheDelayUs(1, 0), 20_000);
    assert.equal(smcccCacheDelayUs(250, 3000), 4000);
  });

  test('constants', () => {
    assert.equal(SMCCC_CACHE_MAX_RETRIES, 5);
    assert.equal(SMCCC_CACHE_DEFAULT_DELAY_US, 1000);
    assert.equal(SMCCC_CACHE_MAX_DELAY_US, 20_000);
  });

  test('a zero term is left out', () => {
    assert.equal(smcccCacheDelayUs(0, 1), 1, 'latency alone, even below the 1000 µs default');
    assert.equal(smcccCacheDelayUs(0, 3000), 3000);
    assert.equal(smcccCacheDelayUs(1_000_000, 0), 1, 'rate alone');
    assert.equal(smcccCacheDelayUs(2000, 0), 500);
  });

  test('the larger term wins', () => {
    assert.equal(smcccCacheDelayUs(250, 3999), 4000);
    assert.equal(smcccCacheDelayUs(250, 4000), 4000);
    assert.equal(smcccCacheDelayUs(250, 4001), 4001);
    assert.equal(smcccCacheDelayUs(1000, 100), 1000);
  });

  test('the spacing is rounded up', () => {
    assert.equal(smcccCacheDelayUs(3, 0), 20_000, '333333.3 µs, capped');
    assert.equal(smcccCacheDelayUs(300, 0), 3334);
    assert.equal(smcccCacheDelayUs(7, 0), 20_000);
    assert.equal(smcccCacheDelayUs(999_999, 0), 2, '1.000001 µs rounds up to 2');
    assert.equal(smcccCacheDelayUs(3_000_000, 0), 1, '0.33 µs rounds up to 1, never 0');
  });

  test('never more than 20000 µs', () => {
    assert.equal(smcccCacheDelayUs(50, 0), 20_000, 'exactly at the cap');
    assert.equal(smcccCacheDelayUs(51, 0), 19_608, 'just below it');
    assert.equal(smcccCacheDelayUs(49, 0), 20_000);
    assert.equal(smcccCacheDelayUs(0, 20_000), 20_000);
    assert.equal(smcccCacheDelayUs(0, 20_001), 20_000);
    assert.equal(smcccCacheDelayUs(0, 0xffff_ffff), 20_000, 'the largest u32 latency');
    assert.equal(smcccCacheDelayUs(1, 0xffff_ffff), 20_000);
  });

  test('the provider sleeps exactly the formula’s delay for its attributes', async () => {
    const cases: Array<[number, number, number]> = [
      [0, 0, 1000],
      [100, 0, 10_000],
      [1, 0, 20_000],
      [250, 3000, 4000],
    ];
    for (const [rate, latency, expected] of cases) {
      const profile = delayProfile(rate, latency, { faults: { enforce_rate_limit: false } });
      const emu = await emulateScripted(profile, [Status.BUSY]);
      assert.equal(emu.provider.delayUs, expected);
      const before = emu.clock.now();
      const outcome = await invalidateOnce(emu);
      assert.equal(outcome.errno, null);
      assert.equal(outcome.slept_us, expected);
      assert.equal(
        emu.clock.now() - before,
        expected + profile.timing.call_us,
        'one sleep, then one real call',
      );
    }
  });
});

/** A provider over a firmware that answers `statuses` in order (instantly), then SUCCESS. */
async function scriptedProvider(statuses: number[], variant: ProviderVariant = 'v2', latency = 100) {
  return emulateScripted(delayProfile(0, latency, {}, globalProfile(0)), statuses, { variant });
}

const BUSY4 = [Status.BUSY, Status.BUSY, Status.BUSY, Status.BUSY];

describe('retries (DESIGN §3)', () => {
  for (const variant of VARIANTS) {
    test(`${variant}: success on attempt 5 after 4 transient failures`, async () => {
      const emu = await scriptedProvider(
        [Status.BUSY, Status.RATE_LIMITED, Status.BUSY, Status.RATE_LIMITED],
        variant,
      );
      const outcome = await invalidateOnce(emu);
      assert.equal(outcome.errno, null);
      assert.equal(outcome.attempts, 5);
      assert.equal(outcome.sleeps, 4);
      assert.equal(outcome.slept_us, 400);
      assert.equal(emu.clock.now(), 400);
      assert.equal(emu.firmware.invalidations.length, 5);
      assert.equal(emu.provider.counters.retries, 4);
      const calls = firmwareCalls(emu.log);
      assert.deepEqual(
        calls.map((c) => [c.attempt, c.status]),
        [
          [1, 'BUSY'],
          [2, 'RATE_LIMITED'],
          [3, 'BUSY'],
          [4, 'RATE_LIMITED'],
          [5, 'SUCCESS'],
        ],
      );
      assert.equal(outcome.served_by_seq, calls[4]!.seq, 'served by the call that succeeded');
    });
  }

  test('v2: EBUSY after 5 BUSY answers, 5 sleeps', async () => {
    const emu = await scriptedProvider([...BUSY4, Status.BUSY, Status.SUCCESS]);
    const outcome = await invalidateOnce(emu);
    assert.deepEqual(
      {
        errno: outcome.errno,
        attempts: outcome.attempts,
        sleeps: outcome.sleeps,
        served: outcome.served_by_seq,
      },
      { errno: 'EBUSY', attempts: 5, sleeps: 5, served: null },
    );
    assert.equal(emu.clock.now(), 500, 'a sleep after every failed attempt, the last one included');
    assert.equal(emu.firmware.invalidations.length, 5, 'no sixth call');
    assert.equal(emu.log.filter((e) => e.type === 'sleep').length, 5);
  });

  test('v1: EBUSY after 5 BUSY answers, no sleep after the last attempt', async () => {
    const emu = await scriptedProvider([...BUSY4, Status.BUSY], 'v1');
    const outcome = await invalidateOnce(emu);
    assert.equal(outcome.errno, 'EBUSY');
    assert.equal(outcome.attempts, 5);
    assert.equal(outcome.sleeps, 4);
    assert.equal(emu.clock.now(), 400);
  });

  for (const variant of VARIANTS) {
    test(`${variant}: EBUSY after 5 failures even when the last answer was RATE_LIMITED`, async () => {
      const emu = await scriptedProvider([...BUSY4, Status.RATE_LIMITED], variant);
      const outcome = await invalidateOnce(emu);
      assert.equal(outcome.errno, 'EBUSY');
      assert.equal(outcome.attempts, 5);
      assert.equal(emu.provider.counters.failed, 1);
    });
  }

  test('only RATE_LIMITED answers: EBUSY, not EAGAIN', async () => {
    const emu = await scriptedProvider(Array(5).fill(Status.RATE_LIMITED));
    const outcome = await invalidateOnce(emu);
    assert.equal(outcome.errno, 'EBUSY');
  });

  const noRetry: Array<[string, number, string, string]> = [
    ['INVALID_PARAMETER', Status.INVALID_PARAMETER, 'EINVAL', 'EINVAL'],
    ['NOT_SUPPORTED', Status.NOT_SUPPORTED, 'EOPNOTSUPP', 'EOPNOTSUPP'],
    ['NOT_REQUIRED', Status.NOT_REQUIRED, 'EIO', 'EOPNOTSUPP'],
    ['an unknown status (7)', 7, 'EIO', 'EIO'],
    ['an unknown status (-6)', -6, 'EIO', 'EIO'],
  ];
  for (const [name, status, errno, rfcErrno] of noRetry) {
    for (const variant of VARIANTS) {
      const expected = variant === 'rfc' ? rfcErrno : errno;
      test(`${variant}: ${name} → ${expected} at once, no retry, no sleep`, async () => {
        const emu = await scriptedProvider([status], variant);
        const outcome = await invalidateOnce(emu);
        assert.equal(outcome.errno, expected);
        assert.equal(outcome.attempts, 1);
        assert.equal(outcome.sleeps, 0);
        assert.equal(outcome.served_by_seq, null);
        assert.equal(emu.clock.now(), 0);
        assert.equal(emu.firmware.invalidations.length, 1);
      });
    }
  }

  test('a non-transient answer after transient ones stops the retries', async () => {
    const emu = await scriptedProvider([Status.BUSY, Status.BUSY, Status.INVALID_PARAMETER]);
    const outcome = await invalidateOnce(emu);
    assert.equal(outcome.errno, 'EINVAL');
    assert.equal(outcome.attempts, 3);
    assert.equal(outcome.sleeps, 2);
    assert.equal(emu.firmware.invalidations.length, 3);
  });

  test('the lock is held for the whole retry sequence (v2)', async () => {
    const emu = await scriptedProvider([...BUSY4, Status.SUCCESS, Status.BUSY]);
    const fw = emu.firmware;
    const [a, b] = await emu.clock.run(
      Promise.all([
        emu.provider.wbinv(RANGE_START, RANGE_SIZE),
        emu.provider.wbinv(RANGE_START + RANGE_SIZE, RANGE_SIZE),
      ]),
    );
    assert.equal(a.attempts, 5);
    assert.equal(b.attempts, 2);
    // A's five calls (at 0, 100, .., 400) all come before B's first (at 400, after A's success).
    assert.deepEqual(
      fw.invalidations.map((c) => [c.x1, c.at]),
      [
        [RANGE_START, 0],
        [RANGE_START, 100],
        [RANGE_START, 200],
        [RANGE_START, 300],
        [RANGE_START, 400],
        [RANGE_START + RANGE_SIZE, 400],
        [RANGE_START + RANGE_SIZE, 500],
      ],
    );
  });

  test('the stuck profile: every request ends EBUSY after 5 attempts and 5 sleeps', async () => {
    const emu = await emulate(profileWith({}, 'stuck'));
    const outcome = await invalidateOnce(emu);
    assert.equal(outcome.errno, 'EBUSY');
    assert.equal(outcome.attempts, 5);
    assert.equal(outcome.sleeps, 5);
    assert.equal(outcome.slept_us, 5 * 100);
    assert.equal(emu.firmware.invalidateCalls.get('BUSY'), 5);
  });
});
