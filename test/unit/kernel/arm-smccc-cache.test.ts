/**
 * drivers/cache/arm_smccc_cache.c, transcribed: the kernel module driven with fake kernel services (a
 * scripted firmware, a sleep that records, the kernel's mutex), no harness in between.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ARM_SMCCC_VERSION_1_1,
  FunctionId,
  type SmcResult,
} from '../../../src/backends/emulated/kernel/arm-smccc.js';
import {
  type KernelServices,
  type Posting,
  REGISTERED_MESSAGE,
  smcccCacheInit,
} from '../../../src/backends/emulated/kernel/arm-smccc-cache.js';
import { CacheMaint } from '../../../src/backends/emulated/kernel/cache-maint.js';
import { Mutex } from '../../../src/backends/emulated/kernel/mutex.js';

const reg = (x0: number | bigint, x1 = 0n, x2 = 0n, x3 = 0n): SmcResult => ({
  x0: BigInt.asUintN(64, BigInt(x0)),
  x1,
  x2,
  x3,
  x4: 0n,
});

/** Services whose CLEAN_INV_MEMREGION answers `statuses` in order (then SUCCESS); ATTRIBUTES as given. */
function services(statuses: number[], attributes = reg(0, 1n, 100n, 0n)) {
  const journal: string[] = [];
  const log: string[] = [];
  const s: KernelServices = {
    smccc: { version: ARM_SMCCC_VERSION_1_1 + 6, probedConduit: 'smc', conduit: 'smc' },
    invoke: async (fid, x1 = 0n, x2 = 0n, x3 = 0n) => {
      if (fid === FunctionId.SMCCC_ARCH_FEATURES) return reg(0);
      if (fid === FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES) return attributes;
      journal.push(`call(${x1},${x2},${x3})`);
      return reg(statuses.shift() ?? 0);
    },
    fsleep: async (us) => {
      journal.push(`sleep(${us})`);
    },
    mutexInit: () => new Mutex(),
    prInfo: (line) => log.push(line),
  };
  return { s, journal, log };
}

async function provider(posting: Posting, statuses: number[], attributes?: SmcResult) {
  const { s, journal, log } = services(statuses, attributes);
  const framework = new CacheMaint();
  const init = await smcccCacheInit(posting, s, framework);
  assert.equal(init.ret, null);
  return { cache: init.cache!, framework, journal, log };
}

describe('drivers/cache/arm_smccc_cache.c', () => {
  test('smcccCacheInit: registers one instance and logs the line', async () => {
    const { framework, log } = await provider('v2', []);
    assert.deepEqual(
      framework.instances.map((i) => i.name),
      ['arm_smccc_cache'],
    );
    assert.deepEqual(log, [REGISTERED_MESSAGE]);
  });

  test('smccc_cache_wbinv: size 0 is EINVAL without a firmware call', async () => {
    const { cache, journal } = await provider('v2', []);
    assert.equal(await cache.wbinv({ addr: 0x1000n, size: 0n }), 'EINVAL');
    assert.deepEqual(journal, []);
  });

  test('smccc_cache_wbinv: address and size go to firmware as they are, flags 0', async () => {
    const { cache, journal } = await provider('v2', []);
    assert.equal(await cache.wbinv({ addr: 0x1001n, size: 3n }), null);
    assert.deepEqual(journal, ['call(4097,3,0)']);
  });

  test('smccc_cache_wbinv (v2): a sleep after every failed attempt, then EBUSY even after RATE_LIMITED', async () => {
    const { cache, journal } = await provider('v2', [-5, -5, -5, -5, -4]);
    assert.equal(await cache.wbinv({ addr: 0n, size: 64n }), 'EBUSY');
    assert.equal(journal.filter((j) => j.startsWith('call')).length, 5);
    assert.equal(journal.filter((j) => j === 'sleep(100)').length, 5);
  });

  test('smccc_cache_wbinv (v1): no sleep after the last attempt', async () => {
    const { cache, journal } = await provider('v1', [-5, -5, -5, -5, -5]);
    assert.equal(await cache.wbinv({ addr: 0n, size: 64n }), 'EBUSY');
    assert.equal(journal.at(-1), 'call(0,64,0)');
    assert.equal(journal.filter((j) => j.startsWith('sleep')).length, 4);
  });

  test('smccc_cache_wbinv: a non-transient error returns at once (NOT_REQUIRED: EIO in v2, EOPNOTSUPP in the rfc)', async () => {
    assert.equal(await (await provider('v2', [-2])).cache.wbinv({ addr: 0n, size: 1n }), 'EIO');
    assert.equal(await (await provider('rfc', [-2])).cache.wbinv({ addr: 0n, size: 1n }), 'EOPNOTSUPP');
    assert.equal(await (await provider('v2', [-3])).cache.wbinv({ addr: 0n, size: 1n }), 'EINVAL');
  });

  test('smccc_cache_wbinv: the status is (s32)a0, so 2^32 is SUCCESS', async () => {
    const { cache } = await provider('v2', [2 ** 32]);
    assert.equal(await cache.wbinv({ addr: 0n, size: 1n }), null);
  });

  test('arm64_smccc_cache_wbinv (rfc): a request that waited while the generation moved returns 0 without a call', async () => {
    const { cache, journal } = await provider('rfc', []);
    const first = cache.wbinv({ addr: 0n, size: 1n });
    const second = cache.wbinv({ addr: 0n, size: 1n }); // samples the generation before the first call ends
    assert.deepEqual(await Promise.all([first, second]), [null, null]);
    assert.equal(journal.length, 1, 'one firmware call served both');
    assert.equal(cache.global_flush_gen, 1);
  });

  test('smccc_cache_wbinv (v2): no coalescing, v2 keeps no global bit', async () => {
    const { cache, journal } = await provider('v2', []);
    await Promise.all([cache.wbinv({ addr: 0n, size: 1n }), cache.wbinv({ addr: 0n, size: 1n })]);
    assert.equal(journal.length, 2);
    assert.equal(cache.global_op, false);
  });
});

describe('smccc_cache_wbinv as the code that sleeps where the C sleeps', () => {
  test('an answer given at once is not yielded; a promise of one is', async () => {
    const { cache } = await provider('v2', []);
    const answered = reg(0);
    const services = (cache as unknown as { services: KernelServices }).services;
    const promised = services.invoke;
    services.invoke = () => answered;
    const atOnce = cache.wbinvSteps({ addr: 0x1000n, size: 0x1000n });
    assert.deepEqual(atOnce.next(), { done: true, value: null });
    services.invoke = promised;
    const later = cache.wbinvSteps({ addr: 0x1000n, size: 0x1000n });
    const first = later.next();
    assert.equal(first.done, false);
    assert.ok(first.value instanceof Promise);
    assert.deepEqual(later.next(await first.value), { done: true, value: null });
  });
});

describe('smccc_cache_wbinv in the parts wbinvSteps is made of', () => {
  test('wbinvEnter: size 0 is EINVAL before the lock; else the rfc generation read before waiting', async () => {
    const { cache } = await provider('rfc', []);
    assert.equal(cache.wbinvEnter({ addr: 0n, size: 0n }), 'EINVAL');
    assert.equal(cache.wbinvEnter({ addr: 0n, size: 1n }), 0);
    cache.global_flush_gen = 7;
    assert.equal(cache.wbinvEnter({ addr: 0n, size: 1n }), 7);
    const { cache: v2 } = await provider('v2', []);
    v2.global_flush_gen = 7;
    assert.equal(v2.wbinvEnter({ addr: 0n, size: 1n }), 0, 'v2 keeps no generation');
  });

  test('wbinvLocked: a generation that moved while waiting is the rfc skip, and the lock is released', async () => {
    const { cache, journal } = await provider('rfc', []);
    const invp = { addr: 0x1000n, size: 0x1000n };
    const gen = cache.wbinvEnter(invp) as number;
    cache.global_flush_gen += 1;
    const lock = (cache as unknown as { lock: Mutex }).lock;
    assert.ok(lock.tryLock(), 'the caller holds the lock on entry');
    assert.deepEqual(cache.wbinvLocked(invp, gen).next(), { done: true, value: null });
    assert.deepEqual(journal, [], 'no firmware call');
    assert.ok(lock.tryLock(), 'released on the way out');
  });
});
