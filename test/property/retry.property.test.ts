import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  SMCCC_CACHE_MAX_RETRIES,
  smcccCacheDelayUs,
  smcccCacheStatusToErrno,
} from '../../src/backends/emulated/kernel/arm-smccc-cache.js';
import type { ProviderVariant } from '../../src/backends/types.js';
import {
  delayProfile,
  emulate,
  emulateScripted,
  invalidateOnce,
  profileWith,
  RANGE_SIZE,
  RANGE_START,
  Status,
  VARIANTS,
} from '../helpers/emulation.js';

const RUNS = { numRuns: 200, seed: 0x7e7 } as const;

const u32 = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.integer({ min: 0, max: 30_000 }),
  fc.constantFrom(0, 1, 50, 51),
);

describe('retry delay', () => {
  test('between 1 and 20000 µs, and one of the formula’s terms', () => {
    fc.assert(
      fc.property(u32, u32, (rate, latency) => {
        const delay = smcccCacheDelayUs(rate, latency);
        assert.ok(Number.isInteger(delay) && delay >= 1 && delay <= 20_000, String(delay));
        const spacing = rate > 0 ? Math.ceil(1_000_000 / rate) : 0;
        const candidates = [
          20_000,
          ...(rate === 0 && latency === 0 ? [1000] : []),
          ...(rate > 0 ? [spacing] : []),
          ...(latency > 0 ? [latency] : []),
        ];
        assert.ok(candidates.includes(delay), `${delay} not in ${candidates}`);
        if (rate > 0)
          assert.ok(delay >= Math.min(20_000, spacing), 'at least the spacing the rate limit asks');
        if (latency > 0) assert.ok(delay >= Math.min(20_000, latency), 'at least the latency');
        if (rate > 0 && delay < 20_000)
          assert.ok(delay * rate >= 1_000_000, 'the spacing is rounded up, never down');
      }),
      RUNS,
    );
  });

  test('monotone: more latency never shortens it, a higher rate never lengthens it', () => {
    fc.assert(
      fc.property(
        u32,
        u32,
        fc.nat({ max: 50_000 }),
        fc.integer({ min: 1, max: 50_000 }),
        (rate, latency, more, factor) => {
          assert.ok(smcccCacheDelayUs(rate, latency + more) >= smcccCacheDelayUs(rate, latency));
          if (rate > 0)
            assert.ok(smcccCacheDelayUs(rate * factor, latency) <= smcccCacheDelayUs(rate, latency));
        },
      ),
      RUNS,
    );
  });
});

/** Statuses a firmware may answer: the documented ones, weighted to transient, and a few unknown values. */
const status = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(Status.BUSY, Status.RATE_LIMITED) },
  { weight: 2, arbitrary: fc.constant(Status.SUCCESS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(Status.INVALID_PARAMETER, Status.NOT_SUPPORTED, Status.NOT_REQUIRED),
  },
  { weight: 1, arbitrary: fc.integer({ min: -100, max: 100 }) },
);

/** What DESIGN §3 says one request does against this sequence of answers. */
function expected(statuses: number[], variant: ProviderVariant) {
  let attempts = 0;
  for (const s of statuses.slice(0, SMCCC_CACHE_MAX_RETRIES)) {
    attempts += 1;
    const errno = smcccCacheStatusToErrno(s | 0, variant === 'rfc' ? 'rfc' : 'v2');
    if (!['EBUSY', 'EAGAIN'].includes(errno as string)) return { errno, attempts, sleeps: attempts - 1 };
  }
  // Only transient answers (a script shorter than 5 ends with SUCCESS).
  if (attempts < SMCCC_CACHE_MAX_RETRIES) return { errno: null, attempts: attempts + 1, sleeps: attempts };
  return { errno: 'EBUSY', attempts: SMCCC_CACHE_MAX_RETRIES, sleeps: variant === 'v1' ? 4 : 5 };
}

describe('retry policy against any sequence of firmware answers', () => {
  test('attempts, sleeps and errno are what DESIGN §3 says; v1 sleeps at most 4 times, v2 at most 5', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...VARIANTS),
        fc.array(status, { maxLength: 7 }),
        u32,
        u32,
        async (variant, statuses, rate, latency) => {
          const profile = delayProfile(rate, latency, { timing: { call_us: 0, per_gib_us: 0 } });
          const emu = await emulateScripted(profile, statuses, { variant, record: false });
          const outcome = await invalidateOnce(emu);
          const want = expected(statuses, variant);
          assert.equal(outcome.errno, want.errno);
          assert.equal(outcome.attempts, want.attempts);
          assert.equal(outcome.sleeps, want.sleeps);
          assert.ok(outcome.attempts <= 5);
          assert.ok(outcome.sleeps <= (variant === 'v1' ? 4 : 5));
          const delay = smcccCacheDelayUs(rate, latency);
          assert.equal(outcome.slept_us, outcome.sleeps * delay);
          assert.equal(emu.clock.now(), outcome.sleeps * delay, 'the only time that passes is the sleeps');
          assert.equal(emu.firmware.invalidations.length, outcome.attempts);
          assert.equal(outcome.served_by_seq === null, outcome.errno !== null);
        },
      ),
      RUNS,
    );
  });

  test('on a seeded faulty firmware: same seed, same outcomes; never more than 5 attempts', async () => {
    const faulty = profileWith({
      faults: { busy_probability: 0.4, busy_burst: 2, rate_limited_probability: 0.2 },
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...VARIANTS),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 6 }),
        async (variant, seed, n) => {
          const run = async () => {
            const emu = await emulate(faulty, { variant, seed, record: false });
            const tasks = Array.from({ length: n }, (_, i) =>
              emu.provider.wbinv(RANGE_START + BigInt(i) * RANGE_SIZE, RANGE_SIZE),
            );
            const outcomes = await emu.clock.run(Promise.all(tasks));
            return {
              outcomes,
              statuses: Object.fromEntries(emu.firmware.invalidateCalls),
              now: emu.clock.now(),
            };
          };
          const a = await run();
          assert.deepEqual(await run(), a);
          for (const o of a.outcomes) {
            assert.ok(o.attempts <= 5 && o.sleeps <= (variant === 'v1' ? 4 : 5));
            assert.ok(o.errno === null || o.errno === 'EBUSY', String(o.errno));
          }
        },
      ),
      { ...RUNS, numRuns: 100 },
    );
  });
});
