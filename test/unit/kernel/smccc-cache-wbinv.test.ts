import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLAG_DRYRUN, FunctionId } from '../../../src/backends/emulated/kernel/arm-smccc.js';
import type { ProviderVariant } from '../../../src/backends/types.js';
import { U64_MAX } from '../../../src/core/u64.js';
import {
  type Emulation,
  emulate,
  firmwareCalls,
  globalProfile,
  invalidateCallCount,
  profileWith,
  RANGE_SIZE,
  RANGE_START,
  rangeProfile,
  runSchedule,
  ScriptedFirmware,
  Status,
  scripted,
  VARIANTS,
} from '../../helpers/emulation.js';

const wbinv = (emu: Emulation, start = RANGE_START, size = RANGE_SIZE, dryRun = false) =>
  emu.clock.run(emu.provider.wbinv(start, size, dryRun));

const scriptedFirmware = (emu: Emulation) => emu.firmware as ScriptedFirmware;

describe('wbinv arguments', () => {
  for (const variant of VARIANTS) {
    test(`${variant}: size 0 is EINVAL without any firmware call`, async () => {
      const emu = await emulate(globalProfile(), { variant });
      const outcome = await wbinv(emu, RANGE_START, 0n);
      assert.equal(outcome.errno, 'EINVAL');
      assert.equal(outcome.attempts, 0);
      assert.equal(outcome.served_by_seq, null);
      const dry = await wbinv(emu, RANGE_START, 0n, true);
      assert.equal(dry.errno, 'EINVAL');
      assert.equal(invalidateCallCount(emu.firmware), 0);
      assert.equal(firmwareCalls(emu.log).length, 0);
      assert.equal(emu.provider.counters.failed, 2);
    });

    test(`${variant}: address and size go to firmware as they are, flags 0`, async () => {
      const emu = await emulate(rangeProfile(), {
        variant,
        firmware: (profile, clock, random) => new ScriptedFirmware(profile, clock, random),
      });
      const ranges: Array<[bigint, bigint]> = [
        [0x1001n, 3n],
        [0xffff_ffff_ffff_f000n, 0x1000n],
        [0n, U64_MAX],
        [0x40_8000_0000n, 0x4000_0000n],
      ];
      for (const [start, size] of ranges) assert.equal((await wbinv(emu, start, size)).errno, null);
      assert.deepEqual(
        scriptedFirmware(emu).invalidations.map((c) => [c.x1, c.x2, c.x3]),
        ranges.map(([start, size]) => [start, size, 0n]),
        'no splitting, no alignment',
      );
    });

    test(`${variant}: INVALID_PARAMETER (past 2^64, misaligned) → EINVAL after one attempt`, async () => {
      const global = await emulate(globalProfile(), { variant });
      const past = await wbinv(global, U64_MAX, 2n);
      // batched refuses a range past 2^64 itself (no firmware call), so it cannot ride on another call.
      assert.deepEqual(
        [past.errno, past.attempts, past.sleeps],
        ['EINVAL', variant === 'batched' ? 0 : 1, 0],
      );
      const range = await emulate(profileWith({}, 'range'), { variant });
      const misaligned = await wbinv(range, 0x1000n + 8n, 64n);
      assert.deepEqual([misaligned.errno, misaligned.attempts], ['EINVAL', 1]);
      const shortLength = await wbinv(range, 0x1000n, 100n);
      assert.equal(shortLength.errno, 'EINVAL');
      assert.equal(range.firmware.invalidateCalls.get('INVALID_PARAMETER'), 2);
    });

    test(`${variant}: DRYRUN passes flag bit 0, is never coalesced and does nothing else`, async () => {
      const emu = await emulate(profileWith({}, 'stuck'), { variant });
      const outcome = await wbinv(emu, RANGE_START, RANGE_SIZE, true);
      assert.deepEqual([outcome.errno, outcome.attempts, outcome.coalesced], [null, 1, false]);
      const [call] = firmwareCalls(emu.log);
      assert.equal(call!.flags, Number(FLAG_DRYRUN));
      assert.equal(call!.status, 'SUCCESS');
      assert.equal(emu.clock.now(), 0, 'no time, no fault');
      const real = await wbinv(emu);
      assert.equal(real.errno, 'EBUSY', 'the same firmware fails a real call');
    });

    test(`${variant}: DRYRUN still checks the arguments`, async () => {
      const emu = await emulate(profileWith({}, 'range'), { variant });
      assert.equal((await wbinv(emu, 0x1001n, 64n, true)).errno, 'EINVAL');
      assert.equal((await wbinv(emu, U64_MAX - 63n, 128n, true)).errno, 'EINVAL');
      assert.equal((await wbinv(emu, 0x1000n, 64n, true)).errno, null);
    });
  }

  test('batched/rfc: concurrent DRYRUN requests each make their own call', async () => {
    for (const variant of ['batched', 'rfc'] as const) {
      const emu = await emulate(globalProfile(), { variant });
      const outcomes = await emu.clock.run(
        Promise.all([1, 2, 3].map(() => emu.provider.wbinv(RANGE_START, RANGE_SIZE, true))),
      );
      assert.ok(
        outcomes.every((o) => o.errno === null && !o.coalesced && o.attempts === 1),
        variant,
      );
      assert.equal(invalidateCallCount(emu.firmware), 3, variant);
    }
  });
});

describe('serialization (v2, v1)', () => {
  for (const variant of ['v2', 'v1'] as const) {
    test(`${variant}: concurrent requests never overlap in firmware; each is served by its own call`, async () => {
      const emu = await emulate(globalProfile(50), { variant });
      const served = await runSchedule(emu, [0, 0, 0, 10, 10]);
      const calls = firmwareCalls(emu.log).sort((a, b) => a.time_us - b.time_us);
      assert.equal(calls.length, 5);
      for (let i = 1; i < calls.length; i++) {
        assert.ok(
          calls[i]!.time_us >= calls[i - 1]!.time_us + calls[i - 1]!.duration_us,
          'calls do not overlap',
        );
      }
      assert.deepEqual(
        served.map((s) => s.done),
        [50, 100, 150, 200, 250],
        'first come, first served',
      );
      for (const { outcome } of served) {
        assert.equal(outcome.coalesced, false);
        assert.ok(outcome.served_by_seq! > outcome.arrival_seq);
      }
      assert.equal(new Set(served.map((s) => s.outcome.served_by_seq)).size, 5);
      assert.equal(emu.provider.coalescing, false);
    });
  }
});

describe('coalescing', () => {
  test('only a global firmware in rfc or batched coalesces', async () => {
    for (const variant of VARIANTS) {
      const global = await emulate(globalProfile(), { variant });
      const range = await emulate(rangeProfile(), { variant });
      assert.equal(global.provider.coalescing, variant === 'rfc' || variant === 'batched', variant);
      assert.equal(range.provider.coalescing, false, variant);
    }
  });

  for (const variant of VARIANTS) {
    test(`${variant}: a range firmware gets one call per request`, async () => {
      const emu = await emulate(rangeProfile(50), { variant });
      const served = await runSchedule(emu, [0, 0, 0, 0, 20, 20, 70]);
      assert.equal(invalidateCallCount(emu.firmware), 7);
      assert.equal(emu.provider.counters.coalesced, 0);
      for (const { outcome } of served) {
        assert.equal(outcome.errno, null);
        assert.equal(outcome.coalesced, false);
        assert.equal(outcome.attempts, 1);
        assert.ok(outcome.served_by_seq! > outcome.arrival_seq);
      }
      assert.equal(new Set(served.map((s) => s.outcome.served_by_seq)).size, 7);
    });
  }

  test('batched: a burst on an idle provider shares one call', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'batched' });
    const served = await runSchedule(emu, [0, 0, 0, 0, 0]);
    const calls = firmwareCalls(emu.log);
    assert.equal(calls.length, 1);
    for (const { outcome, done } of served) {
      assert.equal(outcome.errno, null);
      assert.equal(outcome.served_by_seq, calls[0]!.seq);
      assert.ok(outcome.served_by_seq! > outcome.arrival_seq, 'the call started after every request arrived');
      assert.equal(done, 50);
    }
    assert.deepEqual(
      served.map((s) => s.outcome.coalesced),
      [false, true, true, true, true],
    );
    assert.deepEqual(
      served.map((s) => s.outcome.attempts),
      [1, 0, 0, 0, 0],
    );
    assert.equal(emu.provider.counters.coalesced, 4);
    assert.equal(emu.provider.counters.completed, 5);
    assert.equal(emu.log.filter((e) => e.type === 'coalesced').length, 4);
  });

  test('batched: a burst that arrives while a call runs waits for the next call, which it shares (2 calls)', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'batched' });
    const served = await runSchedule(emu, [0, 20, 20, 20, 20, 20, 20]);
    const calls = firmwareCalls(emu.log);
    assert.equal(calls.length, 2, 'the running call plus one');
    const [running, next] = calls;
    assert.equal(running!.time_us, 0);
    assert.equal(next!.time_us, 50, 'the next call starts when the running one ends');
    assert.equal(served[0]!.outcome.served_by_seq, running!.seq);
    for (const { outcome, done } of served.slice(1)) {
      assert.equal(outcome.served_by_seq, next!.seq, 'never served by the call that was already running');
      assert.ok(outcome.served_by_seq! > outcome.arrival_seq);
      assert.equal(done, 100);
    }
  });

  for (const variant of ['v2', 'v1'] as const) {
    test(`${variant}: the same burst makes one call per request`, async () => {
      const emu = await emulate(globalProfile(50), { variant });
      await runSchedule(emu, [0, 20, 20, 20, 20, 20, 20]);
      assert.equal(firmwareCalls(emu.log).length, 7);
      assert.equal(emu.clock.now(), 350);
    });
  }

  test('batched: requests that arrive during the retry sleeps wait for the next call', async () => {
    const emu = await emulate(globalProfile(50), {
      variant: 'batched',
      firmware: scripted([Status.BUSY, Status.BUSY]),
    });
    const served = await runSchedule(emu, [0, 0, 50, 150]);
    const calls = firmwareCalls(emu.log);
    assert.deepEqual(
      calls.map((c) => [c.time_us, c.status]),
      [
        [0, 'BUSY'],
        [100, 'BUSY'],
        [200, 'SUCCESS'],
        [250, 'SUCCESS'],
      ],
    );
    assert.deepEqual(
      served.map((s) => s.outcome.served_by_seq),
      [calls[2]!.seq, calls[2]!.seq, calls[3]!.seq, calls[3]!.seq],
    );
    assert.deepEqual(
      served.map((s) => s.done),
      [250, 250, 300, 300],
    );
    assert.equal(served[0]!.outcome.attempts, 3);
    assert.equal(served[0]!.outcome.sleeps, 2);
    for (const { outcome } of served) assert.ok(outcome.served_by_seq! > outcome.arrival_seq);
  });

  test('batched: a failure is not shared: each request of the batch gets its own attempts', async () => {
    const emu = await emulate(profileWith({}, 'stuck'), { variant: 'batched' });
    const served = await runSchedule(emu, [0, 0, 0]);
    assert.deepEqual(
      served.map((s) => s.outcome.errno),
      ['EBUSY', 'EBUSY', 'EBUSY'],
    );
    assert.deepEqual(
      served.map((s) => s.outcome.attempts),
      [5, 5, 5],
    );
    assert.equal(invalidateCallCount(emu.firmware), 15);
    assert.equal(emu.provider.counters.failed, 3);
    assert.equal(emu.provider.counters.coalesced, 0);
  });

  test('batched: a request with bad arguments fails alone, as in v2; the valid ones still succeed', async () => {
    // The misaligned request leads the batch (its arguments reach firmware); the overflowing one is
    // refused before it could ride on the valid request's call.
    const aligned = profileWith({ checks: { align_bytes: 64n } }, globalProfile(50));
    const ranges = [
      { start: RANGE_START + 1n, size: RANGE_SIZE },
      { start: RANGE_START, size: RANGE_SIZE },
      { start: U64_MAX, size: 2n },
    ];
    const results: Record<string, Array<string | null>> = {};
    for (const variant of ['v2', 'batched'] as const) {
      const emu = await emulate(aligned, { variant });
      const outcomes = await emu.clock.run(
        Promise.all(ranges.map((r) => emu.provider.wbinv(r.start, r.size))),
      );
      results[variant] = outcomes.map((o) => o.errno);
    }
    assert.deepEqual(results.v2, ['EINVAL', null, 'EINVAL']);
    assert.deepEqual(results.batched, results.v2);
  });

  test('rfc: the review race — a request that arrives during a call is "served" by it', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'rfc' });
    const [a, b] = await runSchedule(emu, [0, 10]);
    const calls = firmwareCalls(emu.log);
    assert.equal(calls.length, 1, 'B made no call of its own');
    assert.equal(calls[0]!.time_us, 0);
    assert.equal(a!.outcome.served_by_seq, calls[0]!.seq);
    assert.equal(b!.outcome.errno, null);
    assert.equal(b!.outcome.coalesced, true);
    assert.equal(b!.outcome.served_by_seq, calls[0]!.seq);
    assert.ok(
      b!.outcome.served_by_seq! < b!.outcome.arrival_seq,
      'a violation: the call started before B arrived',
    );
    assert.equal(b!.done, 50);
  });

  test('rfc: a request that arrives after the call ended makes its own call', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'rfc' });
    const [, b] = await runSchedule(emu, [0, 60]);
    assert.equal(b!.outcome.coalesced, false);
    assert.equal(firmwareCalls(emu.log).length, 2);
  });

  test('rfc: the generation moves only on success', async () => {
    const emu = await emulate(globalProfile(50), {
      variant: 'rfc',
      firmware: scripted([Status.BUSY, Status.INVALID_PARAMETER]),
    });
    const [a, b] = await runSchedule(emu, [0, 10]);
    assert.equal(a!.outcome.errno, 'EINVAL');
    assert.equal(b!.outcome.errno, null);
    assert.equal(b!.outcome.coalesced, false);
    assert.ok(b!.outcome.served_by_seq! > b!.outcome.arrival_seq);
  });

  test('rfc: NOT_REQUIRED is EOPNOTSUPP, and does not move the generation', async () => {
    const emu = await emulate(globalProfile(50), {
      variant: 'rfc',
      firmware: scripted([Status.NOT_REQUIRED]),
    });
    const outcome = await wbinv(emu);
    assert.equal(outcome.errno, 'EOPNOTSUPP');
    const next = await wbinv(emu);
    assert.equal(next.coalesced, false);
  });
});

describe('observability', () => {
  test('every request, call, sleep, coalescing and completion is an event with its sequence number', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'batched', firmware: scripted([Status.BUSY]) });
    emu.log.length = 0;
    const served = await runSchedule(emu, [0, 0]);
    const types = emu.log.map((e) => e.type);
    assert.deepEqual(types.filter((t) => t === 'request').length, 2);
    assert.deepEqual(types.filter((t) => t === 'complete').length, 2);
    assert.deepEqual(types.filter((t) => t === 'sleep').length, 1);
    assert.deepEqual(types.filter((t) => t === 'coalesced').length, 1);
    const requests = emu.log.filter((e) => e.type === 'request');
    assert.deepEqual(
      requests.map((e) => e.seq),
      served.map((s) => s.outcome.arrival_seq),
    );
    const calls = firmwareCalls(emu.log);
    assert.deepEqual(
      calls.map((c) => [c.attempt, c.status, c.start, c.size, c.flags]),
      [
        [1, 'BUSY', '0x4080000000', '4096', 0],
        [2, 'SUCCESS', '0x4080000000', '4096', 0],
      ],
    );
    const complete = emu.log.filter((e) => e.type === 'complete');
    assert.ok(complete.every((e) => e.errno === null && e.latency_us === 100 + 50));
  });

  test('counters', async () => {
    const emu = await emulate(globalProfile(0), {
      variant: 'v2',
      firmware: scripted([Status.BUSY, Status.BUSY]),
    });
    await wbinv(emu);
    await wbinv(emu, RANGE_START, 0n);
    await wbinv(emu, U64_MAX, 2n);
    assert.deepEqual(emu.provider.counters, {
      requests: 3,
      completed: 1,
      failed: 2,
      retries: 2,
      sleeps: 2,
      slept_us: 200,
      coalesced: 0,
    });
  });

  test('without a listener the provider behaves the same', async () => {
    const run = async (record: boolean, variant: ProviderVariant) => {
      const emu = await emulate(globalProfile(50), { variant, record });
      const served = await runSchedule(emu, [0, 0, 20, 20, 120]);
      return { served, calls: emu.firmware.callsByFunction.get(FunctionId.CLEAN_INV_MEMREGION) };
    };
    for (const variant of VARIANTS)
      assert.deepEqual(await run(false, variant), await run(true, variant), variant);
  });
});
