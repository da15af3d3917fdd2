import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Profile } from '../../src/backends/emulated/profiles.js';
import type { InvalidationOutcome, ProviderVariant, StressTarget } from '../../src/backends/types.js';
import { VirtualClock } from '../../src/core/clock.js';
import { Random } from '../../src/core/random.js';
import { type StressOptions, StressRun, type StressSnapshot } from '../../src/stress/engine.js';
import type { RangeSpec } from '../../src/stress/ranges.js';
import {
  emulate,
  emulateScripted,
  globalProfile,
  profileWith,
  RANGE_SIZE,
  RANGE_START,
  Status,
} from '../helpers/emulation.js';

const RANGE: RangeSpec = { pattern: 'random', base: 0x40_8000_0000n, size: 4096n, span: 1n << 30n };

/** A successful request, served by its own (first) call. */
const served = (seq: number): InvalidationOutcome => ({
  errno: null,
  attempts: 1,
  sleeps: 0,
  slept_us: 0,
  coalesced: false,
  arrival_seq: seq,
  served_by_seq: seq,
});

/** A target that says it is synchronous and answers each request through `answer`. */
const synchronousTarget = (
  clock: VirtualClock,
  answer: (done: (outcome: InvalidationOutcome) => void) => void,
): StressTarget => ({
  clock,
  coalescing: false,
  synchronous: true,
  invalidate: () => Promise.reject(new Error('not used')),
  submit: (_start, _size, receiver) => answer((outcome) => receiver.onOutcome(outcome)),
  firmwareCalls: () => ({}),
});

const options = (extra: Partial<StressOptions>): StressOptions => ({
  workers: 16,
  ops: 2000,
  durationMs: null,
  range: RANGE,
  verify: true,
  signal: new AbortController().signal,
  ...extra,
});

/**
 * One seeded run over the emulated v2/v1 stack through `submit`, the run stepping the clock itself
 * (`synchronous`) or leaving it to VirtualClock.run, which drains the microtask queue between timers.
 */
async function runOnce(
  profile: Profile,
  variant: ProviderVariant,
  extra: Partial<StressOptions>,
  synchronous: boolean,
  beforeRun?: () => void,
): Promise<{ snapshot: StressSnapshot; intervals: StressSnapshot[] }> {
  const emu = await emulate(profile, { variant, seed: 4, record: false });
  const intervals: StressSnapshot[] = [];
  const target: StressTarget = {
    clock: emu.clock,
    coalescing: false,
    invalidate: (start, size) => emu.provider.invalidate(start, size),
    submit: (start, size, receiver) => emu.provider.submit(start, size, receiver, true),
    synchronous,
    firmwareCalls: () => Object.fromEntries(emu.firmware.invalidateCalls),
  };
  const run = new StressRun(
    target,
    options({ onInterval: (snapshot) => intervals.push(snapshot), intervalMs: 7, ...extra }),
    new Random(9),
  );
  beforeRun?.();
  return { snapshot: await run.run(), intervals };
}

describe('stress stepping the clock itself (a synchronous target)', () => {
  const busy = profileWith({ faults: { busy_probability: 0.3, busy_burst: 2 } });
  const cases: Array<[string, Profile, ProviderVariant, Partial<StressOptions>]> = [
    ['v2, global, an op count', globalProfile(50), 'v2', {}],
    ['v1, busy firmware (retries and sleeps)', busy, 'v1', {}],
    ['v2, a deadline that falls on completions', globalProfile(50), 'v2', { ops: null, durationMs: 40 }],
    ['v2, 300 workers past the turn size', globalProfile(20), 'v2', { workers: 300, ops: 5000 }],
  ];
  for (const [name, profile, variant, extra] of cases) {
    test(`gives the report VirtualClock.run gives: ${name}`, async () => {
      const driven = await runOnce(profile, variant, extra, true);
      const settled = await runOnce(profile, variant, extra, false);
      assert.deepEqual(driven, settled);
      assert.ok(driven.snapshot.completed > 0);
      assert.ok(driven.intervals.length > 0, 'interval snapshots were taken');
    });
  }

  test('the deadline is exact: requests due at its instant are counted, none after', async () => {
    // Calls of 50 µs, one at a time: the 800th ends exactly at 40 ms.
    const { snapshot } = await runOnce(globalProfile(50), 'v2', { ops: null, durationMs: 40 }, true);
    assert.equal(snapshot.elapsed_us, 40_000);
    assert.equal(snapshot.completed, 800);
  });

  test('an abort stops it between turns of the event loop', async () => {
    const controller = new AbortController();
    // An endless run (no op count, no deadline), stopped from the event loop as Ctrl-C would stop it.
    const { snapshot } = await runOnce(
      globalProfile(50),
      'v2',
      { ops: null, durationMs: null, signal: controller.signal },
      true,
      () => setImmediate(() => controller.abort()),
    );
    assert.ok(snapshot.completed > 0);
    assert.ok(snapshot.elapsed_us > 0);
  });

  test("a target's error fails the run with that error", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const target = synchronousTarget(clock, (done) => {
      if (++calls === 50) throw new Error('firmware fell over');
      const outcome = served(calls);
      clock.resumeAfter(10, { resume: () => done(outcome) }, undefined);
    });
    const run = new StressRun(target, options({ workers: 4 }), new Random(1));
    await assert.rejects(run.run(), /firmware fell over/);
  });

  test('a target that says it is synchronous but answers from a promise is caught, not hung', async () => {
    const target = synchronousTarget(new VirtualClock(), (done) => {
      void new Promise((resolve) => setTimeout(resolve, 1)).then(() => done(served(0)));
    });
    const run = new StressRun(target, options({ workers: 2 }), new Random(1));
    await assert.rejects(run.run(), /waiting on something that is not a virtual timer/);
  });
});

describe('the coroutine path and a firmware whose call() is replaced', () => {
  test('v2 through submit still gets the scripted answers, and the stack is not synchronous', async () => {
    const emu = await emulateScripted(globalProfile(50), [Status.BUSY, Status.BUSY], { variant: 'v2' });
    assert.equal(emu.provider.synchronous, false);
    const outcome = await emu.clock.run(emu.provider.invalidate(RANGE_START, RANGE_SIZE));
    assert.equal(outcome.errno, null);
    assert.equal(outcome.attempts, 3, 'two scripted BUSY answers, then a success');
    assert.equal(outcome.sleeps, 2);
    assert.equal(emu.firmware.invalidations.length, 3);
  });

  test('the emulated firmware itself is answered in place, and the stack is synchronous', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'v2', record: false });
    assert.equal(emu.provider.synchronous, true);
    const rfc = await emulate(globalProfile(50), { variant: 'rfc', record: false });
    assert.equal(rfc.provider.synchronous, false, 'the rfc keeps the promise-driven order');
  });
});

describe('provider.invalidate on the coroutine path', () => {
  test('ends at once with a settled promise; a throw in the code rejects it, and the next request is whole', async () => {
    const emu = await emulate(profileWith({ attributes: { latency_us: 0 }, timing: { call_us: 0 } }), {
      variant: 'v2',
      record: false,
    });
    const first = await emu.provider.invalidate(RANGE_START, RANGE_SIZE);
    assert.equal(first.errno, null);
    assert.equal(first.attempts, 1);
    const firmware = emu.firmware as unknown as { callFor: (...args: unknown[]) => unknown };
    const callFor = firmware.callFor;
    firmware.callFor = () => {
      throw new Error('firmware fell over');
    };
    await assert.rejects(emu.provider.invalidate(RANGE_START, RANGE_SIZE), /firmware fell over/);
    firmware.callFor = callFor;
    assert.equal(emu.provider.counters.requests, 2);
    // Had the throw kept the lock, this request would wait for it (on a virtual clock nobody runs).
    const third = await emu.provider.invalidate(RANGE_START, RANGE_SIZE);
    assert.equal(third.errno, null);
    assert.notEqual(third, first, 'each caller keeps a record of its own');
    assert.equal(first.arrival_seq < third.arrival_seq, true);
  });
});
