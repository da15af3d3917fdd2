/**
 * The provider's smccc_cache_wbinv() run as a coroutine (harness/instrumentation.ts ProviderCall): in the
 * parts wbinvSteps() is made of, so that a request waiting for the provider's lock is its call object
 * alone, with no suspended generator, and the locked part starts when the unlock hands the lock over.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { LONG_LOCK_QUEUE } from '../../../src/backends/emulated/harness/instrumentation.js';
import { SmcccCache } from '../../../src/backends/emulated/kernel/arm-smccc-cache.js';
import type { CcInvalParams } from '../../../src/backends/emulated/kernel/cache-maint.js';
import type { InvalidationOutcome } from '../../../src/backends/types.js';
import { U64_MAX } from '../../../src/core/u64.js';
import { formatHex } from '../../../src/core/units.js';
import { emulate, firmwareCalls, globalProfile, RANGE_SIZE, RANGE_START } from '../../helpers/emulation.js';

const original = {
  wbinvSteps: SmcccCache.prototype.wbinvSteps,
  wbinvLocked: SmcccCache.prototype.wbinvLocked,
};
afterEach(() => Object.assign(SmcccCache.prototype, original));

/** Counts how often the provider's whole function and its locked part are entered. */
function countEntries() {
  const counts = { whole: 0, locked: 0 };
  SmcccCache.prototype.wbinvSteps = function (this: SmcccCache, invp: CcInvalParams) {
    counts.whole += 1;
    return original.wbinvSteps.call(this, invp);
  };
  SmcccCache.prototype.wbinvLocked = function (this: SmcccCache, invp: CcInvalParams, gen: number) {
    counts.locked += 1;
    return original.wbinvLocked.call(this, invp, gen);
  };
  return counts;
}

/** Submits `sizes` as the stress engine does (recycled calls), collecting the outcomes in order of completion. */
function submitAll(emu: Awaited<ReturnType<typeof emulate>>, sizes: bigint[]) {
  const finished: Array<{ index: number; outcome: InvalidationOutcome }> = [];
  for (const [index, size] of sizes.entries()) {
    emu.provider.submit(
      RANGE_START + BigInt(index) * RANGE_SIZE,
      size,
      {
        onOutcome: (outcome) => finished.push({ index, outcome: { ...outcome } }),
        onError: (error) => assert.fail(`request ${index} failed: ${String(error)}`),
      },
      true,
    );
  }
  return finished;
}

const runClock = (emu: Awaited<ReturnType<typeof emulate>>) => {
  while (emu.clock.advance()) {}
};

describe('the provider run as a coroutine, in parts', () => {
  test('1,000 requests behind a held lock: one has entered the locked part, none the whole function', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'v2', record: false });
    const counts = countEntries();
    const finished = submitAll(
      emu,
      Array.from({ length: 1000 }, () => RANGE_SIZE),
    );
    assert.equal(finished.length, 0, 'the first call waits 50 us of virtual time, holding the lock');
    assert.deepEqual(counts, { whole: 0, locked: 1 }, 'the 999 waiters have no generator');
    runClock(emu);
    assert.deepEqual(counts, { whole: 0, locked: 1000 });
    assert.deepEqual(
      finished.map((f) => f.index),
      Array.from({ length: 1000 }, (_, i) => i),
      'the lock hands over in arrival order',
    );
    assert.ok(finished.every((f) => f.outcome.errno === null && f.outcome.attempts === 1));
    assert.equal(emu.clock.now(), 1000 * 50, 'one call after another, each 50 us');
  });

  test('size 0 is EINVAL before the lock: it neither waits nor enters the locked part', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'v1', record: false });
    const counts = countEntries();
    const finished = submitAll(emu, [RANGE_SIZE, 0n, RANGE_SIZE]);
    assert.deepEqual(
      finished.map((f) => [f.index, f.outcome.errno, f.outcome.attempts]),
      [[1, 'EINVAL', 0]],
      'refused inside submit, while request 0 holds the lock',
    );
    assert.equal(counts.locked, 1);
    runClock(emu);
    assert.deepEqual(
      finished.map((f) => [f.index, f.outcome.errno]),
      [
        [1, 'EINVAL'],
        [0, null],
        [2, null],
      ],
    );
    assert.equal(counts.locked, 2);
    assert.equal(emu.provider.counters.failed, 1);
  });

  test('the promise-driven path still runs the whole function (the rfc, the commands)', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'rfc', record: false });
    const counts = countEntries();
    const outcomes = await emu.clock.run(
      Promise.all([0, 1, 2].map(() => emu.provider.invalidate(RANGE_START, RANGE_SIZE))),
    );
    assert.deepEqual(counts, { whole: 3, locked: 3 });
    assert.ok(outcomes.every((o) => o.errno === null));
  });

  test('a record its caller keeps (invalidate, submit without recycle) is not the pooled one the next request fills in', async () => {
    const emu = await emulate(globalProfile(0), { variant: 'v2', record: false });
    // A firmware that answers at once: each request ends inside the call, and its pooled call serves the next.
    const first = await emu.provider.invalidate(RANGE_START, RANGE_SIZE);
    const snapshot = { ...first };
    const second = await emu.provider.invalidate(RANGE_START, 0n);
    assert.notEqual(first, second);
    assert.deepEqual({ ...first }, snapshot, 'the second request (EINVAL) left the first record as it was');
    assert.equal(second.errno, 'EINVAL');
    const kept: InvalidationOutcome[] = [];
    const receiver = {
      onOutcome: (outcome: InvalidationOutcome) => kept.push(outcome),
      onError: (error: unknown) => assert.fail(String(error)),
    };
    emu.provider.submit(RANGE_START, RANGE_SIZE, receiver);
    emu.provider.submit(RANGE_START, 0n, receiver);
    assert.deepEqual(
      kept.map((o) => [o.arrival_seq, o.errno, o.attempts]),
      [
        [second.arrival_seq + 1, null, 1],
        [second.arrival_seq + 3, 'EINVAL', 0],
      ],
      'each kept record has its own request (sequence numbers: request, its call, request)',
    );
  });

  test('a kept record of a request that waited for the lock is its own too', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'v2', record: false });
    const outcomes = await emu.clock.run(
      Promise.all([0n, 1n, 2n].map((i) => emu.provider.invalidate(RANGE_START + i * RANGE_SIZE, RANGE_SIZE))),
    );
    assert.equal(new Set(outcomes).size, 3);
    assert.deepEqual(
      outcomes.map((o) => [o.errno, o.attempts, o.served_by_seq! > o.arrival_seq]),
      [
        [null, 1, true],
        [null, 1, true],
        [null, 1, true],
      ],
    );
    assert.deepEqual(
      outcomes.map((o) => o.arrival_seq),
      [0, 2, 3].map((i) => outcomes[0]!.arrival_seq + i),
      'all three arrived while the first call ran (sequence numbers: request, its call, request, request)',
    );
    const snapshots = outcomes.map((o) => ({ ...o }));
    // The same three pooled calls serve three more requests, which wait for the lock too.
    const later = await emu.clock.run(
      Promise.all([0, 1, 2].map(() => emu.provider.invalidate(RANGE_START, RANGE_SIZE))),
    );
    assert.ok(later.every((o, i) => o.arrival_seq > outcomes[i]!.arrival_seq));
    assert.deepEqual(
      outcomes.map((o) => ({ ...o })),
      snapshots,
    );
  });

  /** Submits `addresses` in order (recycled calls); the outcomes, in arrival order once the clock has run. */
  function submitAddresses(emu: Awaited<ReturnType<typeof emulate>>, addresses: readonly bigint[]) {
    const outcomes: InvalidationOutcome[] = [];
    const receiver = {
      onOutcome: (outcome: InvalidationOutcome) => outcomes.push({ ...outcome }),
      onError: (error: unknown) => assert.fail(String(error)),
    };
    for (const addr of addresses) emu.provider.submit(addr, RANGE_SIZE, receiver, true);
    return () => outcomes.sort((a, b) => a.arrival_seq - b.arrival_seq);
  }

  const behindLongQueue = Array.from({ length: LONG_LOCK_QUEUE }, () => RANGE_START);

  test('a waiting request keeps its exact 64-bit address, behind a short queue and a long one (raw bits)', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'v2' });
    const addresses = [RANGE_START, (1n << 53n) + 4096n, 1n << 63n, U64_MAX + 1n - 2n * RANGE_SIZE, 0n];
    const all = [...addresses, ...behindLongQueue, ...addresses];
    const outcomes = submitAddresses(emu, all);
    runClock(emu);
    assert.equal(outcomes().length, all.length);
    assert.deepEqual(
      firmwareCalls(emu.log).map((call) => call.start),
      all.map(formatHex),
      'every call is made with the address its request came with, past 2^53 and up to 2^64 - 8K',
    );
  });

  test('an address past 2^64 behind a long queue reaches the firmware as it came, not cut to 64 bits', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'v2' });
    const past = (1n << 64n) + RANGE_START;
    const outcomes = submitAddresses(emu, [...behindLongQueue, past]);
    runClock(emu);
    assert.deepEqual(firmwareCalls(emu.log).at(-1)!.start, formatHex(past));
    assert.equal(firmwareCalls(emu.log).at(-1)!.status, 'INVALID_PARAMETER');
    assert.equal(outcomes().at(-1)!.errno, 'EINVAL');
    assert.equal(outcomes().filter((o) => o.errno !== null).length, 1);
  });
});
