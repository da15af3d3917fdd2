import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventBus, type ProviderEvent } from '../../../src/backends/emulated/harness/events.js';
import { EmulatedFirmware, type SmcResult } from '../../../src/backends/emulated/harness/firmware.js';
import { bootProviderStack } from '../../../src/backends/emulated/harness/stack.js';
import { encodeVersion, FunctionId, Status } from '../../../src/backends/emulated/kernel/arm-smccc.js';
import { BUILT_IN_PROFILE_NAMES, type Profile } from '../../../src/backends/emulated/profiles.js';
import { VirtualClock } from '../../../src/core/clock.js';
import { Random } from '../../../src/core/random.js';
import { U64_MAX } from '../../../src/core/u64.js';
import { profileWith, result, ScriptedFirmware } from '../../helpers/emulation.js';

type Answer = (fid: number, x1: bigint) => SmcResult | undefined;

async function run(profile: Profile, answer?: Answer) {
  const clock = new VirtualClock();
  const events = new EventBus();
  const log: ProviderEvent[] = [];
  events.on((event) => log.push(event));
  const firmware = answer
    ? new ScriptedFirmware(profile, clock, new Random(1), { answer })
    : new EmulatedFirmware(profile, clock, new Random(1));
  const stack = await clock.run(bootProviderStack(firmware, clock, events, 'v2'));
  return { discovery: stack.discovery, provider: stack.provider, firmware, log };
}

const stepsOf = (d: { steps: Array<{ step: string; ok: boolean }> }) =>
  d.steps.map((s) => `${s.step}:${s.ok}`);
const calls = (firmware: EmulatedFirmware, fid: number) => firmware.callsByFunction.get(fid) ?? 0;

describe('discovery: success', () => {
  test('a 1.7 global firmware registers with its attributes', async () => {
    const { discovery, log } = await run(profileWith({ attributes: { latency_us: 250, rate_limit: 40 } }));
    assert.equal(discovery.registered, true);
    assert.deepEqual(discovery.reasons, []);
    assert.deepEqual(discovery.version, { major: 1, minor: 7, assumed: false });
    assert.equal(discovery.conduit, 'smc');
    assert.deepEqual(discovery.functions, { clean_inv_memregion: true, attributes: true });
    assert.deepEqual(discovery.attributes, {
      global: true,
      latency_us: 250,
      rate_limit: 40,
      breakeven_bytes: 1n << 30n,
    });
    assert.equal(discovery.attributes_status, 'SUCCESS');
    assert.deepEqual(stepsOf(discovery), [
      'version:true',
      'conduit:true',
      'features:true',
      'attributes:true',
    ]);
    assert.deepEqual(
      log.map((e) => (e.type === 'discovery' ? `${e.step}:${e.ok}` : e.type)),
      ['version:true', 'conduit:true', 'features:true', 'attributes:true'],
      'every step is an event',
    );
  });

  test('HVC conduit, SMCCC 1.1 (the minimum) and 2.0 register', async () => {
    for (const overrides of [
      { conduit: 'hvc' as const },
      { smccc_version: { major: 1, minor: 1 } },
      { smccc_version: { major: 2, minor: 0 } },
    ]) {
      const { discovery } = await run(profileWith(overrides));
      assert.equal(discovery.registered, true, JSON.stringify(overrides));
    }
  });

  test('the built-in profiles: only unsupported and smccc-1.0 fail', async () => {
    for (const name of BUILT_IN_PROFILE_NAMES) {
      const { discovery } = await run(profileWith({}, name));
      assert.equal(discovery.registered, !['unsupported', 'smccc-1.0'].includes(name), name);
      assert.equal(discovery.reasons.length === 0, discovery.registered, name);
    }
  });
});

describe('discovery: one test per failing condition (no provider, no fallback)', () => {
  test('smccc_cache_init: no conduit reads as SMCCC 1.0, so the version check fails first; nothing is called', async () => {
    const { discovery, firmware } = await run(profileWith({ conduit: 'none' }));
    assert.equal(discovery.registered, false);
    assert.equal(discovery.attributes, null);
    assert.deepEqual(stepsOf(discovery), ['version:false']);
    assert.deepEqual(discovery.version, { major: 1, minor: 0, assumed: true });
    assert.match(discovery.reasons.join(), /no SMCCC conduit.*reads SMCCC 1\.0/);
    assert.equal(firmware.callsByFunction.size, 0);
  });

  test('SMCCC_VERSION not implemented (SMCCC 1.0 assumed)', async () => {
    const { discovery, firmware } = await run(profileWith({}, 'smccc-1.0'));
    assert.equal(discovery.registered, false);
    assert.deepEqual(discovery.version, { major: 1, minor: 0, assumed: true });
    assert.deepEqual(stepsOf(discovery), ['version:false']);
    assert.match(discovery.reasons[0]!, /SMCCC 1\.0.*1\.1 or later/);
    assert.equal(calls(firmware, FunctionId.SMCCC_ARCH_FEATURES), 0, 'ARCH_FEATURES is not asked');
  });

  test('psci_init_smccc: an SMCCC_VERSION answer below 1.1 leaves the 1.0 default', async () => {
    const answer: Answer = (fid) =>
      fid === FunctionId.SMCCC_VERSION ? result(encodeVersion(1, 0)) : undefined;
    const { discovery, firmware } = await run(profileWith(), answer);
    assert.equal(discovery.registered, false);
    assert.deepEqual(discovery.version, { major: 1, minor: 0, assumed: true });
    assert.deepEqual(stepsOf(discovery), ['version:false']);
    assert.match(discovery.reasons[0]!, /SMCCC 1\.0/);
    assert.equal(calls(firmware, FunctionId.SMCCC_ARCH_FEATURES), 0);
  });

  test('SMCCC_VERSION reports 0.9', async () => {
    const answer: Answer = (fid) =>
      fid === FunctionId.SMCCC_VERSION ? result(encodeVersion(0, 9)) : undefined;
    const { discovery } = await run(profileWith(), answer);
    assert.equal(discovery.registered, false);
    assert.deepEqual(discovery.version, { major: 1, minor: 0, assumed: true });
  });

  test('CLEAN_INV_MEMREGION not implemented', async () => {
    const { discovery, firmware } = await run(profileWith({ implements: { clean_inv_memregion: false } }));
    assert.equal(discovery.registered, false);
    assert.deepEqual(discovery.functions, { clean_inv_memregion: false, attributes: null });
    assert.deepEqual(stepsOf(discovery), ['version:true', 'conduit:true', 'features:false']);
    assert.equal(discovery.reasons.length, 1);
    assert.match(
      discovery.reasons[0]!,
      /does not implement CLEAN_INV_MEMREGION \(ARCH_FEATURES returned NOT_SUPPORTED\)/,
    );
    assert.equal(calls(firmware, FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES), 0, 'ATTRIBUTES is not called');
    assert.equal(
      calls(firmware, FunctionId.SMCCC_ARCH_FEATURES),
      1,
      'ARCH_FEATURES(ATTRIBUTES) is never asked',
    );
  });

  test('ATTRIBUTES not implemented', async () => {
    const { discovery, firmware } = await run(profileWith({ implements: { attributes: false } }));
    assert.equal(discovery.registered, false);
    assert.deepEqual(discovery.functions, { clean_inv_memregion: true, attributes: false });
    assert.equal(discovery.reasons.length, 1);
    assert.match(discovery.reasons[0]!, /CLEAN_INV_MEMREGION_ATTRIBUTES/);
    assert.equal(calls(firmware, FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES), 0);
  });

  test('smccc_cache_init: neither function: out at the first ARCH_FEATURES, one reason', async () => {
    const { discovery } = await run(profileWith({}, 'unsupported'));
    assert.equal(discovery.registered, false);
    assert.equal(discovery.reasons.length, 1);
    assert.deepEqual(discovery.functions, { clean_inv_memregion: false, attributes: null });
  });

  test('smccc_cache_init: statuses are (s32)a0: ATTRIBUTES x0 = 2^32 is SUCCESS, ARCH_FEATURES 2^32-1 is -1', async () => {
    const registered = await run(profileWith({ attributes_status: 1n << 32n }));
    assert.equal(registered.discovery.registered, true);
    const absent = await run(profileWith({ implements: { clean_inv_memregion: 0xffff_ffffn } }));
    assert.equal(absent.discovery.registered, false);
    const present = await run(profileWith({ implements: { clean_inv_memregion: 0x1_0000_0000n } }));
    assert.equal(present.discovery.registered, true);
  });

  test('ARCH_FEATURES answering any negative value counts as not implemented', async () => {
    const answer: Answer = (fid, x1) =>
      fid === FunctionId.SMCCC_ARCH_FEATURES && Number(x1) === FunctionId.CLEAN_INV_MEMREGION
        ? result(-77)
        : undefined;
    const { discovery } = await run(profileWith(), answer);
    assert.equal(discovery.registered, false);
    assert.match(discovery.reasons[0]!, /UNKNOWN\(-77\)/);
  });

  test('ARCH_FEATURES answering a positive value counts as implemented', async () => {
    const answer: Answer = (fid) => (fid === FunctionId.SMCCC_ARCH_FEATURES ? result(1) : undefined);
    const { discovery } = await run(profileWith(), answer);
    assert.equal(discovery.registered, true);
  });

  for (const [name, status] of [
    ['NOT_SUPPORTED', Status.NOT_SUPPORTED],
    ['BUSY', Status.BUSY],
    ['INVALID_PARAMETER', Status.INVALID_PARAMETER],
    ['UNKNOWN(1)', 1],
  ] as const) {
    test(`ATTRIBUTES returns ${name} instead of SUCCESS`, async () => {
      const { discovery } = await run(profileWith({ attributes_status: status }));
      assert.equal(discovery.registered, false);
      assert.equal(discovery.attributes, null);
      assert.equal(discovery.attributes_status, name);
      assert.deepEqual(stepsOf(discovery), [
        'version:true',
        'conduit:true',
        'features:true',
        'attributes:false',
      ]);
      assert.match(
        discovery.reasons[0]!,
        new RegExp(`returned ${name.replace(/[()]/g, '\\$&')} instead of SUCCESS`),
      );
    });
  }
});

describe('discovery: attribute registers', () => {
  const attrs =
    (x1: bigint, x2: bigint, x3: bigint, x4: bigint): Answer =>
    (fid) =>
      fid === FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES ? result(0, x1, x2, x3, x4) : undefined;

  test('x2 (latency) and x3 (rate limit) are cut to their low 32 bits; x4 is kept whole', async () => {
    const { discovery } = await run(profileWith(), attrs(1n, (5n << 32n) | 7n, (1n << 40n) | 100n, U64_MAX));
    assert.deepEqual(discovery.attributes, {
      global: true,
      latency_us: 7,
      rate_limit: 100,
      breakeven_bytes: U64_MAX,
    });
  });

  test('a latency of exactly 2^32 reads as 0, so the retry delay falls back to the rate term or 1000 µs', async () => {
    const { discovery, provider } = await run(profileWith(), attrs(1n, 1n << 32n, 1n << 32n, 0n));
    assert.equal(discovery.attributes!.latency_us, 0);
    assert.equal(discovery.attributes!.rate_limit, 0);
    assert.equal(provider!.delayUs, 1000);
  });

  test('the largest u32 values survive', async () => {
    const { discovery } = await run(profileWith(), attrs(1n, 0xffff_ffffn, 0xffff_ffffn, 0n));
    assert.equal(discovery.attributes!.latency_us, 0xffff_ffff);
    assert.equal(discovery.attributes!.rate_limit, 0xffff_ffff);
  });

  test('only x1 bit 0 says global', async () => {
    for (const [x1, global] of [
      [0n, false],
      [1n, true],
      [2n, false],
      [3n, true],
      [U64_MAX - 1n, false],
      [U64_MAX, true],
    ] as const) {
      const { discovery } = await run(profileWith(), attrs(x1, 0n, 0n, 0n));
      assert.equal(discovery.attributes!.global, global, `x1 = ${x1}`);
    }
  });
});
