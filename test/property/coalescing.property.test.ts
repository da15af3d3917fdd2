import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ProviderVariant } from '../../src/backends/types.js';
import {
  type Emulation,
  emulate,
  type FirmwareCallEvent,
  firmwareCalls,
  globalProfile,
  profileWith,
  rangeProfile,
  runSchedule,
  type Served,
  VARIANTS,
} from '../helpers/emulation.js';

const RUNS = { numRuns: 150, seed: 0xc0a1 } as const;

/** Arrival times in µs: up to 10 requests, often at the same instant, often during a running call. */
const schedule = fc.array(fc.oneof(fc.constantFrom(0, 10, 20, 50, 100), fc.integer({ min: 0, max: 300 })), {
  minLength: 1,
  maxLength: 10,
});
const callUs = fc.constantFrom(1, 20, 50, 75);

interface Run {
  emu: Emulation;
  served: Served[];
  calls: FirmwareCallEvent[];
  bySeq: Map<number, FirmwareCallEvent>;
}

async function simulate(
  variant: ProviderVariant,
  times: number[],
  call: number,
  range = false,
): Promise<Run> {
  const emu = await emulate(range ? rangeProfile(call) : globalProfile(call), { variant });
  emu.log.length = 0;
  const served = await runSchedule(emu, times);
  const calls = firmwareCalls(emu.log);
  return { emu, served, calls, bySeq: new Map(calls.map((c) => [c.seq, c])) };
}

const end = (call: FirmwareCallEvent) => call.time_us + call.duration_us;
const violations = (served: Served[]) =>
  served.filter((s) => s.outcome.served_by_seq === null || s.outcome.served_by_seq < s.outcome.arrival_seq);

/** For each instant at which requests arrive: those requests (a burst). */
function bursts(served: Served[]): Map<number, Served[]> {
  const out = new Map<number, Served[]>();
  for (const s of served) out.set(s.at, [...(out.get(s.at) ?? []), s]);
  return out;
}

/**
 * Firmware calls that work for a burst at `at`: the one running when it arrives (if any) and every call
 * that starts from that instant until the last request of the burst completes.
 */
function callsForBurst(calls: FirmwareCallEvent[], at: number, members: Served[]): number {
  const until = Math.max(...members.map((m) => m.done));
  const running = calls.filter((c) => c.time_us < at && end(c) > at).length;
  const started = calls.filter((c) => c.time_us >= at && c.time_us < until).length;
  return running + started;
}

describe('batched on a global firmware', () => {
  test('every request is served by a call that started after it arrived', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, callUs, async (times, call) => {
        const { served, bySeq } = await simulate('batched', times, call);
        for (const { at, outcome } of served) {
          assert.equal(outcome.errno, null);
          assert.ok(
            outcome.served_by_seq !== null && outcome.served_by_seq > outcome.arrival_seq,
            'sequence order',
          );
          const serving = bySeq.get(outcome.served_by_seq)!;
          assert.ok(serving, 'served by a real firmware call');
          assert.equal(serving.status, 'SUCCESS');
          assert.ok(serving.time_us >= at, `the serving call started at ${serving.time_us}, before ${at}`);
        }
      }),
      RUNS,
    );
  });

  test('never more than 2 firmware calls per burst, and no request waits longer than two calls', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, callUs, async (times, call) => {
        const { served, calls } = await simulate('batched', times, call);
        for (const [at, members] of bursts(served)) {
          const n = callsForBurst(calls, at, members);
          assert.ok(n <= 2, `burst of ${members.length} at ${at}: ${n} calls`);
        }
        for (const { at, done } of served) assert.ok(done - at <= 2 * call, `waited ${done - at} µs`);
        assert.ok(calls.length <= served.length);
      }),
      RUNS,
    );
  });

  test('a burst of N arriving during a call: exactly 2 calls (batched), N + 1 (v2, v1)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 49 }), async (n, at) => {
        const times = [0, ...Array<number>(n).fill(at)];
        const batched = await simulate('batched', times, 50);
        assert.equal(callsForBurst(batched.calls, at, batched.served.slice(1)), 2);
        assert.equal(batched.calls.length, 2);
        for (const variant of ['v2', 'v1'] as const) {
          const serial = await simulate(variant, times, 50);
          assert.equal(callsForBurst(serial.calls, at, serial.served.slice(1)), n + 1, variant);
        }
      }),
      { ...RUNS, numRuns: 60 },
    );
  });

  test('the guarantee holds with injected BUSY / RATE_LIMITED faults and retries too', async () => {
    const faulty = profileWith({
      faults: { busy_probability: 0.3, busy_burst: 2, rate_limited_probability: 0.1 },
      attributes: { latency_us: 30 },
    });
    await fc.assert(
      fc.asyncProperty(schedule, fc.integer({ min: 0, max: 2 ** 31 }), async (times, seed) => {
        const emu = await emulate(faulty, { variant: 'batched', seed });
        const served = await runSchedule(emu, times);
        for (const { outcome } of served) {
          if (outcome.errno === null) assert.ok(outcome.served_by_seq! > outcome.arrival_seq);
          else assert.equal(outcome.errno, 'EBUSY');
        }
      }),
      RUNS,
    );
  });
});

describe('rfc on a global firmware', () => {
  test('fast-check finds schedules that break the guarantee', async () => {
    const result = await fc.check(
      fc.asyncProperty(schedule, callUs, async (times, call) => {
        const { served } = await simulate('rfc', times, call);
        return violations(served).length === 0;
      }),
      RUNS,
    );
    assert.equal(result.failed, true, 'rfc should under-flush for some schedule');
    const [times, call] = result.counterexample!;
    // The shrunk counterexample: a request that arrives while another's call runs.
    const { served, calls } = await simulate('rfc', times, call);
    const broken = violations(served);
    assert.ok(broken.length > 0);
    for (const b of broken) {
      const serving = calls.find((c) => c.seq === b.outcome.served_by_seq)!;
      assert.ok(
        serving.time_us <= b.at && b.at <= end(serving),
        'the serving call was running when it arrived',
      );
    }
  });

  test('a request that arrives strictly inside a running call is served by that call (a violation)', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, callUs, async (times, call) => {
        const { served, calls } = await simulate('rfc', times, call);
        for (const s of served) {
          assert.equal(s.outcome.errno, null);
          const inside = calls.find((c) => c.time_us < s.at && s.at < end(c));
          if (inside) {
            assert.equal(s.outcome.coalesced, true);
            assert.equal(s.outcome.served_by_seq, inside.seq);
            assert.ok(s.outcome.served_by_seq! < s.outcome.arrival_seq);
          }
        }
      }),
      RUNS,
    );
  });
});

describe('every variant', () => {
  for (const variant of VARIANTS) {
    test(`${variant}: a range firmware makes one call per request`, async () => {
      await fc.assert(
        fc.asyncProperty(schedule, callUs, async (times, call) => {
          const { served, calls } = await simulate(variant, times, call, true);
          assert.equal(calls.length, times.length);
          assert.equal(new Set(served.map((s) => s.outcome.served_by_seq)).size, times.length);
          for (const { outcome } of served) {
            assert.equal(outcome.coalesced, false);
            assert.ok(outcome.served_by_seq! > outcome.arrival_seq);
          }
        }),
        { ...RUNS, numRuns: 80 },
      );
    });
  }

  for (const variant of ['v2', 'v1'] as const) {
    test(`${variant}: a global firmware too (no coalescing), calls one at a time`, async () => {
      await fc.assert(
        fc.asyncProperty(schedule, callUs, async (times, call) => {
          const { served, calls } = await simulate(variant, times, call);
          assert.equal(calls.length, times.length);
          assert.ok(
            served.every((s) => !s.outcome.coalesced && s.outcome.served_by_seq! > s.outcome.arrival_seq),
          );
          const sorted = [...calls].sort((a, b) => a.time_us - b.time_us);
          for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.time_us >= end(sorted[i - 1]!));
          for (const [at, members] of bursts(served)) {
            const until = Math.max(...members.map((m) => m.done));
            const started = calls.filter((c) => c.time_us >= at && c.time_us < until).length;
            assert.ok(started >= members.length, 'each request of a burst gets its own call');
          }
        }),
        { ...RUNS, numRuns: 80 },
      );
    });
  }

  test('watching events changes nothing (the event-free fast paths agree)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...VARIANTS),
        schedule,
        callUs,
        fc.boolean(),
        async (variant, times, call, range) => {
          const profile = range ? rangeProfile(call) : globalProfile(call);
          const quiet = await emulate(profile, { variant, record: false });
          const watched = await emulate(profile, { variant, record: true });
          assert.deepEqual(await runSchedule(quiet, times), await runSchedule(watched, times));
          assert.deepEqual(quiet.provider.counters, watched.provider.counters);
        },
      ),
      RUNS,
    );
  });
});
