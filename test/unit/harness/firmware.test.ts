import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EmulatedFirmware } from '../../../src/backends/emulated/harness/firmware.js';
import {
  encodeVersion,
  FLAG_DRYRUN,
  FunctionId,
  Status,
  s32,
  statusName,
} from '../../../src/backends/emulated/kernel/arm-smccc.js';
import type { Profile } from '../../../src/backends/emulated/profiles.js';
import { VirtualClock } from '../../../src/core/clock.js';
import { Random } from '../../../src/core/random.js';
import { U64_MAX } from '../../../src/core/u64.js';
import { profileWith } from '../../helpers/emulation.js';

const GIB = 1n << 30n;

function firmwareFor(profile: Profile, seed = 1) {
  const clock = new VirtualClock();
  const firmware = new EmulatedFirmware(profile, clock, new Random(seed));
  const invalidate = (base: bigint, length: bigint, flags = 0n) =>
    clock.run(firmware.call(FunctionId.CLEAN_INV_MEMREGION, base, length, flags)).then((r) => s32(r.x0));
  /** Statuses of `n` successive calls, one after the other. */
  const sequence = async (n: number, base = 0n, length = 4096n) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await invalidate(base, length));
    return out;
  };
  return { clock, firmware, invalidate, sequence };
}

describe('SMCCC_VERSION and ARCH_FEATURES', () => {
  test('a 1.7 firmware reports its version and both functions', async () => {
    const { firmware } = firmwareFor(profileWith());
    assert.equal(s32((await firmware.call(FunctionId.SMCCC_VERSION)).x0), encodeVersion(1, 7));
    for (const fid of [
      FunctionId.SMCCC_VERSION,
      FunctionId.SMCCC_ARCH_FEATURES,
      FunctionId.CLEAN_INV_MEMREGION,
      FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES,
    ]) {
      assert.equal(
        s32((await firmware.call(FunctionId.SMCCC_ARCH_FEATURES, BigInt(fid))).x0),
        Status.SUCCESS,
        fid.toString(16),
      );
    }
    assert.equal(
      s32((await firmware.call(FunctionId.SMCCC_ARCH_FEATURES, 0xc4000099n)).x0),
      Status.NOT_SUPPORTED,
    );
  });

  test('ARCH_FEATURES follows `implements`', async () => {
    const { firmware } = firmwareFor(
      profileWith({ implements: { clean_inv_memregion: false, attributes: true } }),
    );
    const features = async (fid: number) =>
      s32((await firmware.call(FunctionId.SMCCC_ARCH_FEATURES, BigInt(fid))).x0);
    assert.equal(await features(FunctionId.CLEAN_INV_MEMREGION), Status.NOT_SUPPORTED);
    assert.equal(await features(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES), Status.SUCCESS);
  });

  test('an SMCCC 1.0 firmware implements neither SMCCC_VERSION nor ARCH_FEATURES', async () => {
    for (const profile of [profileWith({}, 'smccc-1.0'), profileWith({ smccc_version: null })]) {
      const { firmware } = firmwareFor(profile);
      assert.equal(s32((await firmware.call(FunctionId.SMCCC_VERSION)).x0), Status.NOT_SUPPORTED);
      assert.equal(
        s32((await firmware.call(FunctionId.SMCCC_ARCH_FEATURES, BigInt(FunctionId.CLEAN_INV_MEMREGION))).x0),
        Status.NOT_SUPPORTED,
      );
    }
  });

  test('an SMCCC 2.0 firmware encodes its version', async () => {
    const { firmware } = firmwareFor(profileWith({ smccc_version: { major: 2, minor: 0 } }));
    assert.equal(s32((await firmware.call(FunctionId.SMCCC_VERSION)).x0), 0x20000);
  });

  test('an unknown function answers NOT_SUPPORTED; no conduit means no call at all', async () => {
    const { firmware } = firmwareFor(profileWith());
    assert.equal(s32((await firmware.call(0x84000000)).x0), Status.NOT_SUPPORTED);
    const none = firmwareFor(profileWith({ conduit: 'none' })).firmware;
    assert.equal(none.conduit, 'none');
    assert.throws(() => none.call(FunctionId.SMCCC_VERSION), /no conduit/);
  });

  test('every call is counted by function', async () => {
    const { firmware, invalidate } = firmwareFor(profileWith());
    await firmware.call(FunctionId.SMCCC_VERSION);
    await invalidate(0n, 64n);
    await invalidate(0n, 64n);
    assert.equal(firmware.callsByFunction.get(FunctionId.SMCCC_VERSION), 1);
    assert.equal(firmware.callsByFunction.get(FunctionId.CLEAN_INV_MEMREGION), 2);
    assert.equal(firmware.invalidateCalls.get('SUCCESS'), 2);
  });
});

describe('CLEAN_INV_MEMREGION_ATTRIBUTES', () => {
  test('registers x1..x4 as the profile says', async () => {
    const { firmware } = firmwareFor(
      profileWith({
        attributes: { global: true, latency_us: 0xffff_ffff, rate_limit: 123, breakeven_bytes: U64_MAX },
      }),
    );
    const regs = await firmware.call(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES);
    assert.deepEqual({ ...regs }, { x0: 0n, x1: 1n, x2: 0xffff_ffffn, x3: 123n, x4: U64_MAX });
  });

  test('range firmware: x1 bit 0 clear; attributes_status is returned as x0', async () => {
    const { firmware } = firmwareFor(profileWith({ attributes_status: Status.BUSY }, 'range'));
    const regs = await firmware.call(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES);
    assert.equal(s32(regs.x0), Status.BUSY);
    assert.equal(regs.x1, 0n);
  });

  test('not implemented: NOT_SUPPORTED', async () => {
    const { firmware } = firmwareFor(profileWith({}, 'unsupported'));
    assert.equal(
      s32((await firmware.call(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES)).x0),
      Status.NOT_SUPPORTED,
    );
  });
});

describe('CLEAN_INV_MEMREGION argument checks', () => {
  test('length 0 is INVALID_PARAMETER', async () => {
    const { invalidate } = firmwareFor(profileWith());
    assert.equal(await invalidate(0x1000n, 0n), Status.INVALID_PARAMETER);
  });

  test('base + length may reach 2^64 but not pass it', async () => {
    const { invalidate } = firmwareFor(profileWith());
    assert.equal(await invalidate(U64_MAX, 1n), Status.SUCCESS);
    assert.equal(await invalidate(0n, U64_MAX), Status.SUCCESS);
    assert.equal(await invalidate(1n, U64_MAX), Status.SUCCESS);
    assert.equal(await invalidate(U64_MAX, 2n), Status.INVALID_PARAMETER);
    assert.equal(await invalidate(2n, U64_MAX), Status.INVALID_PARAMETER);
    assert.equal(await invalidate(U64_MAX, U64_MAX), Status.INVALID_PARAMETER);
  });

  test('alignment: base and length must be multiples of align_bytes', async () => {
    const { invalidate } = firmwareFor(profileWith({}, 'range'));
    assert.equal(await invalidate(0x1000n, 64n), Status.SUCCESS);
    assert.equal(await invalidate(0x1001n, 64n), Status.INVALID_PARAMETER);
    assert.equal(await invalidate(0x1000n, 65n), Status.INVALID_PARAMETER);
    assert.equal(await invalidate(0x1040n, 128n), Status.SUCCESS);
  });

  test('flags other than DRYRUN are INVALID_PARAMETER', async () => {
    const { invalidate } = firmwareFor(profileWith());
    assert.equal(await invalidate(0n, 64n, 2n), Status.INVALID_PARAMETER);
    assert.equal(await invalidate(0n, 64n, 3n), Status.INVALID_PARAMETER);
    assert.equal(await invalidate(0n, 64n, 1n << 63n), Status.INVALID_PARAMETER);
  });

  test('DRYRUN checks the arguments, takes no time and injects no fault', async () => {
    const stuck = firmwareFor(profileWith({}, 'stuck'));
    assert.equal(await stuck.invalidate(0n, 64n, FLAG_DRYRUN), Status.SUCCESS);
    assert.equal(await stuck.invalidate(0n, 64n), Status.BUSY);
    const range = firmwareFor(profileWith({}, 'range'));
    assert.equal(await range.invalidate(0x1001n, 64n, FLAG_DRYRUN), Status.INVALID_PARAMETER);
    assert.equal(await range.invalidate(0n, 0n, FLAG_DRYRUN), Status.INVALID_PARAMETER);
    assert.equal(await range.invalidate(0n, GIB, FLAG_DRYRUN), Status.SUCCESS);
    assert.equal(range.clock.now(), 0);
  });

  test('without the function: NOT_SUPPORTED, even for bad arguments', async () => {
    const { invalidate } = firmwareFor(profileWith({}, 'unsupported'));
    assert.equal(await invalidate(0n, 64n), Status.NOT_SUPPORTED);
    assert.equal(await invalidate(0n, 0n), Status.NOT_SUPPORTED);
  });
});

describe('CLEAN_INV_MEMREGION timing', () => {
  test('global: call_us whatever the size', async () => {
    const { clock, invalidate } = firmwareFor(profileWith({ timing: { call_us: 50, per_gib_us: 4000 } }));
    await invalidate(0n, 64n);
    assert.equal(clock.now(), 50);
    await invalidate(0n, 16n * GIB);
    assert.equal(clock.now(), 100);
  });

  test('range: call_us plus per_gib_us per GiB', async () => {
    const { clock, firmware, invalidate } = firmwareFor(profileWith({}, 'range'));
    assert.equal(firmware.durationUs(GIB), 5 + 4000);
    assert.equal(firmware.durationUs(GIB / 2n), 5 + 2000);
    await invalidate(0n, GIB);
    assert.equal(clock.now(), 4005);
    await invalidate(0n, 2n * GIB);
    assert.equal(clock.now(), 4005 + 8005);
  });

  test('a failed call answers at once', async () => {
    const { clock, invalidate } = firmwareFor(profileWith({}, 'stuck'));
    await invalidate(0n, 64n);
    assert.equal(clock.now(), 0);
  });
});

describe('faults', () => {
  test('`always` answers that status to every call', async () => {
    for (const status of [Status.BUSY, Status.INVALID_PARAMETER, Status.NOT_REQUIRED, Status.RATE_LIMITED]) {
      const { sequence, firmware } = firmwareFor(profileWith({ faults: { always: status } }));
      assert.deepEqual(await sequence(3), [status, status, status]);
      assert.equal(firmware.invalidateCalls.get(statusName(status)), 3);
    }
  });

  test('`always: success` is a real call: it takes its time and the firmware still enforces its rate limit', async () => {
    const { clock, sequence } = firmwareFor(
      profileWith({
        faults: { always: Status.SUCCESS },
        attributes: { rate_limit: 2 },
        timing: { call_us: 50 },
      }),
    );
    assert.deepEqual(await sequence(3), [Status.SUCCESS, Status.SUCCESS, Status.RATE_LIMITED]);
    assert.equal(clock.now(), 100, 'two calls of 50 µs; the refused one answers at once');
  });

  test('`always` takes any 64-bit x0; the status is what (s32) makes of it', async () => {
    const { sequence } = firmwareFor(profileWith({ faults: { always: 0xffff_ffff_ffff_fffbn } }));
    assert.deepEqual(await sequence(2), [Status.BUSY, Status.BUSY]);
  });

  test('`sequence` answers the first calls in order, then the other settings apply', async () => {
    const { sequence } = firmwareFor(
      profileWith({ faults: { sequence: [-5n, -5n, 0n, -3n], always: BigInt(Status.RATE_LIMITED) } }),
    );
    assert.deepEqual(await sequence(6), [
      Status.BUSY,
      Status.BUSY,
      Status.SUCCESS,
      Status.INVALID_PARAMETER,
      Status.RATE_LIMITED,
      Status.RATE_LIMITED,
    ]);
  });

  test('`attributes.raw`: ATTRIBUTES returns the registers as given', async () => {
    const raw = { x1: 0xffn, x2: (1n << 32n) + 7n, x3: 3n, x4: 9n };
    const { firmware } = firmwareFor(profileWith({ attributes: { raw } }));
    const regs = await firmware.call(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES);
    assert.deepEqual({ ...regs }, { x0: 0n, ...raw });
  });

  test('busy_probability 1 / rate_limited_probability 1', async () => {
    assert.deepEqual(
      await firmwareFor(profileWith({ faults: { busy_probability: 1 } })).sequence(3),
      [-5, -5, -5],
    );
    assert.deepEqual(
      await firmwareFor(profileWith({ faults: { rate_limited_probability: 1 } })).sequence(3),
      [-4, -4, -4],
    );
  });

  test('a BUSY burst is busy_burst BUSY answers in a row', async () => {
    const { sequence } = firmwareFor(profileWith({ faults: { busy_probability: 0.25, busy_burst: 3 } }), 7);
    const statuses = await sequence(400);
    const runs: number[] = [];
    let run = 0;
    for (const status of [...statuses, Status.SUCCESS]) {
      if (status === Status.BUSY) run += 1;
      else if (run > 0) {
        runs.push(run);
        run = 0;
      }
    }
    assert.ok(runs.length >= 10, `bursts seen: ${runs.length}`);
    for (const length of runs) assert.equal(length % 3, 0, `a run of ${length} BUSY answers`);
    assert.ok(statuses.every((s) => s === Status.BUSY || s === Status.SUCCESS));
  });

  test('busy_burst 0: single BUSY answers', async () => {
    const { sequence } = firmwareFor(profileWith({ faults: { busy_probability: 0.5, busy_burst: 0 } }), 3);
    const statuses = await sequence(200);
    assert.ok(statuses.includes(Status.BUSY));
    assert.ok(statuses.includes(Status.SUCCESS));
  });

  test('the firmware enforces its rate limit per second of the clock', async () => {
    const { clock, sequence } = firmwareFor(
      profileWith({ attributes: { rate_limit: 3, latency_us: 0 }, timing: { call_us: 10, per_gib_us: 0 } }),
    );
    assert.deepEqual(await sequence(5), [0, 0, 0, -4, -4]);
    await clock.run(clock.sleep(1_000_000 - clock.now()));
    assert.deepEqual(await sequence(4), [0, 0, 0, -4], 'a new second, a new allowance');
  });

  test('RATE_LIMITED answers do not use up the allowance', async () => {
    const { clock, sequence } = firmwareFor(
      profileWith({ attributes: { rate_limit: 2, latency_us: 0 }, timing: { call_us: 0, per_gib_us: 0 } }),
    );
    assert.deepEqual(await sequence(6), [0, 0, -4, -4, -4, -4]);
    await clock.run(clock.sleep(1_000_000));
    assert.deepEqual(await sequence(3), [0, 0, -4]);
  });

  test('enforce_rate_limit false: the limit is only advertised', async () => {
    const { sequence } = firmwareFor(
      profileWith({
        attributes: { rate_limit: 1 },
        faults: { enforce_rate_limit: false },
        timing: { call_us: 0 },
      }),
    );
    assert.deepEqual(await sequence(4), [0, 0, 0, 0]);
  });

  test('the rate-limited profile answers RATE_LIMITED after 1000 calls in a second', async () => {
    const { sequence, firmware } = firmwareFor(profileWith({}, 'rate-limited'));
    const statuses = await sequence(1001);
    assert.equal(statuses.filter((s) => s === Status.SUCCESS).length, 1000);
    assert.equal(statuses[1000], Status.RATE_LIMITED);
    assert.equal(firmware.invalidateCalls.get('RATE_LIMITED'), 1);
  });
});

describe('seeded determinism', () => {
  const busyStatuses = async (seed: number) => firmwareFor(profileWith({}, 'busy'), seed).sequence(200);

  test('the same seed gives the same sequence of statuses', async () => {
    const a = await busyStatuses(42);
    const b = await busyStatuses(42);
    assert.deepEqual(a, b);
    assert.ok(a.includes(Status.BUSY) && a.includes(Status.SUCCESS));
  });

  test('different seeds give different sequences', async () => {
    const sequences = await Promise.all([1, 2, 3, 42].map(busyStatuses));
    const distinct = new Set(sequences.map((s) => s.join(',')));
    assert.equal(distinct.size, 4);
  });

  test('a fault-free profile draws nothing from the generator', async () => {
    const clock = new VirtualClock();
    const random = new Random(9);
    const firmware = new EmulatedFirmware(profileWith(), clock, random);
    for (let i = 0; i < 10; i++) await clock.run(firmware.call(FunctionId.CLEAN_INV_MEMREGION, 0n, 64n));
    assert.equal(random.nextU32(), new Random(9).nextU32());
  });
});
