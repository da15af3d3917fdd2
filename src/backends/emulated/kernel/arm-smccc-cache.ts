/**
 * drivers/cache/arm_smccc_cache.c, the SMCCC cache clean+invalidate provider, as posted: `v2` (the latest
 * posting, "Add SMCCC cache clean/invalidate provider"), with `v1` and the `rfc` ("arm64: add SMCCC cache
 * invalidation backend for memregion users") as the small deltas they are. Nothing here emits events or
 * takes shortcuts: the harness observes it by wrapping the firmware, the sleep and the lock it is given.
 * The code sleeps where the C sleeps, at a `yield` (see core/coroutine.ts: the same code runs as an async
 * function would, or as a coroutine the simulator wakes without promises).
 */
import { type Awaitable, drivePromise, mustWait, type Steps } from '../../../core/coroutine.js';
import type { Errno } from '../../errno.js';
import { ARM_SMCCC_VERSION_1_1, FunctionId, lower32, type SmcResult, Status, s32 } from './arm-smccc.js';
import type { CacheCoherencyOps, CacheMaint, CcInvalParams } from './cache-maint.js';
import type { Mutex } from './mutex.js';
import { armSmccc11GetConduit, armSmcccGetVersion, type SmcccState } from './smccc.js';

export type Posting = 'v2' | 'v1' | 'rfc';

export const SMCCC_CACHE_MAX_RETRIES = 5;
export const SMCCC_CACHE_DEFAULT_DELAY_US = 1000;
export const SMCCC_CACHE_MAX_DELAY_US = 20_000;
/** DEN0028 v1.7 ATTRIBUTES x1 bit 0: the operation is global (rfc: SMCCC_CACHE_ATTR_GLOBAL_OP). */
export const SMCCC_CACHE_ATTR_GLOBAL_OP = 1n;

export const REGISTERED_MESSAGE = 'SMCCC cache clean+invalidate provider registered';

/** What the provider takes from the rest of the kernel. */
export interface KernelServices {
  /** arm_smccc_1_1_invoke() */
  invoke(fid: number, x1?: bigint, x2?: bigint, x3?: bigint): Awaitable<SmcResult>;
  /** The SMCCC version and conduit found at boot (drivers/firmware/smccc/smccc.c). */
  smccc: SmcccState;
  /** fsleep() (v2, v1) / usleep_range(delay, delay + 100) (rfc), include/linux/delay.h. */
  fsleep(us: number): Awaitable<void>;
  /** mutex_init() */
  mutexInit(): Mutex;
  /** pr_info() */
  prInfo(message: string): void;
}

/**
 * smccc_cache_status_to_errno() (v2, v1); the rfc maps NOT_REQUIRED to EOPNOTSUPP as well, v1 and v2 let
 * it fall to the default, EIO.
 */
export function smcccCacheStatusToErrno(status: number, posting: Posting): Errno | null {
  switch (status) {
    case Status.SUCCESS:
      return null;
    case Status.NOT_SUPPORTED:
      return 'EOPNOTSUPP';
    case Status.NOT_REQUIRED:
      return posting === 'rfc' ? 'EOPNOTSUPP' : 'EIO';
    case Status.INVALID_PARAMETER:
      return 'EINVAL';
    case Status.RATE_LIMITED:
      return 'EAGAIN';
    case Status.BUSY:
      return 'EBUSY';
    default:
      return 'EIO';
  }
}

/**
 * smccc_cache_delay_us(): max(DIV_ROUND_UP(USEC_PER_SEC, rate_limit), latency_us), a term that is 0 left
 * out, SMCCC_CACHE_DEFAULT_DELAY_US when both are, never more than SMCCC_CACHE_MAX_DELAY_US.
 */
export function smcccCacheDelayUs(rateLimit: number, latencyUs: number): number {
  let delayUs = 0;
  if (rateLimit) delayUs = Math.ceil(1_000_000 / rateLimit);
  if (latencyUs) delayUs = Math.max(delayUs, latencyUs);
  if (!delayUs) delayUs = SMCCC_CACHE_DEFAULT_DELAY_US;
  return Math.min(delayUs, SMCCC_CACHE_MAX_DELAY_US);
}

/** struct smccc_cache (rfc: struct arm64_smccc_cache, with global_op and global_flush_gen). */
export class SmcccCache implements CacheCoherencyOps {
  readonly posting: Posting;
  /** u32, lower_32_bits(ATTRIBUTES x2) */
  readonly latency_us: number;
  /** u32, lower_32_bits(ATTRIBUTES x3) */
  readonly rate_limit: number;
  /** rfc only: !!(ATTRIBUTES x1 & SMCCC_CACHE_ATTR_GLOBAL_OP); v1 and v2 do not keep it. */
  readonly global_op: boolean;
  /** rfc only */
  global_flush_gen = 0;
  private readonly lock: Mutex;
  private readonly services: KernelServices;

  constructor(
    posting: Posting,
    services: KernelServices,
    attributes: { x1: bigint; x2: bigint; x3: bigint },
  ) {
    this.posting = posting;
    this.services = services;
    this.lock = services.mutexInit();
    this.latency_us = lower32(attributes.x2);
    this.rate_limit = lower32(attributes.x3);
    this.global_op = posting === 'rfc' && (attributes.x1 & SMCCC_CACHE_ATTR_GLOBAL_OP) !== 0n;
  }

  /**
   * smccc_cache_wbinv() (rfc: arm64_smccc_cache_wbinv()). Size 0 is refused before the lock; the lock is
   * held for the whole retry sequence; up to SMCCC_CACHE_MAX_RETRIES calls, only EBUSY and EAGAIN retried,
   * each followed by a sleep (v1: none after the last); then EBUSY whatever the last answer was.
   * rfc: with a global operation, a request that finds the generation moved while it waited for the lock
   * returns success without a call (the under-flush race found in review), and a success bumps it.
   */
  wbinv(invp: CcInvalParams): Promise<Errno | null> {
    return drivePromise(this.wbinvSteps(invp));
  }

  /**
   * smccc_cache_wbinv() itself, for callers that drive it (see wbinv()): wbinvEnter(), guard(mutex), then
   * wbinvLocked(). The C function is written in those three parts so that a driver can keep a request
   * that waits for the lock without a suspended frame of its own (the simulator with 100,000 waiters,
   * harness/instrumentation.ts ProviderCall); this generator is the whole function, as every other caller
   * runs it.
   */
  *wbinvSteps(invp: CcInvalParams): Steps<Errno | null> {
    const gen = this.wbinvEnter(invp);
    if (typeof gen === 'string') return gen;
    const wait = this.lock.lock();
    if (wait) yield wait;
    return yield* this.wbinvLocked(invp, gen);
  }

  /**
   * smccc_cache_wbinv() before guard(mutex): size 0 is EINVAL; else the rfc's `gen`, the generation read
   * before waiting for the lock (0 without a global operation, and in v1 and v2, which have none).
   */
  wbinvEnter(invp: CcInvalParams): Errno | number {
    if (!invp.size) return 'EINVAL';
    return this.global_op ? this.global_flush_gen : 0;
  }

  /** smccc_cache_wbinv() from guard(mutex) on: entered holding the lock, and releases it on the way out. */
  *wbinvLocked(invp: CcInvalParams, gen: number): Steps<Errno | null> {
    try {
      // Of fields fixed at init: the same here as before the lock, where the C computes it.
      const delayUs = smcccCacheDelayUs(this.rate_limit, this.latency_us);
      if (this.global_op && gen !== this.global_flush_gen) return null;
      for (let i = 0; i < SMCCC_CACHE_MAX_RETRIES; i++) {
        let answer: unknown = this.services.invoke(FunctionId.CLEAN_INV_MEMREGION, invp.addr, invp.size, 0n);
        if (mustWait(answer)) answer = yield answer;
        const res = answer as SmcResult;
        const ret = smcccCacheStatusToErrno(s32(res.x0), this.posting);
        if (!ret) {
          if (this.global_op) this.global_flush_gen += 1;
          return null;
        }
        if (ret !== 'EBUSY' && ret !== 'EAGAIN') return ret;
        if (this.posting === 'v1' && i + 1 === SMCCC_CACHE_MAX_RETRIES) break;
        yield this.services.fsleep(delayUs);
      }
      return 'EBUSY';
    } finally {
      this.lock.unlock();
    }
  }
}

/** Why smccc_cache_init() returned -ENODEV, in the order it checks (for reports; the kernel is silent). */
export type InitFailure =
  | { at: 'version'; version: number }
  | { at: 'conduit' }
  | { at: 'features_clean_inv'; x0: bigint }
  | { at: 'features_attributes'; x0: bigint }
  | { at: 'attributes'; x0: bigint };

export type InitResult =
  | {
      ret: null;
      cache: SmcccCache;
      attributes: { x0: bigint; x1: bigint; x2: bigint; x3: bigint; x4: bigint };
    }
  | { ret: Errno; cache: null; failure: InitFailure };

/**
 * smccc_cache_init() (rfc: arm64_smccc_cache_init()), the arch_initcall: SMCCC >= 1.1 (checked first), a
 * conduit, ARCH_FEATURES(CLEAN_INV_MEMREGION) then ARCH_FEATURES(ATTRIBUTES), each `(s32)a0 < 0` → out at
 * once, ATTRIBUTES status `(s32)a0 != 0` → out; then one instance registered with the framework.
 */
export function smcccCacheInit(
  posting: Posting,
  services: KernelServices,
  framework: CacheMaint,
): Promise<InitResult> {
  return drivePromise(smcccCacheInitSteps(posting, services, framework));
}

function* smcccCacheInitSteps(
  posting: Posting,
  services: KernelServices,
  framework: CacheMaint,
): Steps<InitResult> {
  const fail = (failure: InitFailure): InitResult => ({ ret: 'ENODEV', cache: null, failure });
  const version = armSmcccGetVersion(services.smccc);
  if (version < ARM_SMCCC_VERSION_1_1) return fail({ at: 'version', version });
  if (armSmccc11GetConduit(services.smccc) === 'none') return fail({ at: 'conduit' });
  let res = (yield services.invoke(
    FunctionId.SMCCC_ARCH_FEATURES,
    BigInt(FunctionId.CLEAN_INV_MEMREGION),
  )) as SmcResult;
  if (s32(res.x0) < 0) return fail({ at: 'features_clean_inv', x0: res.x0 });
  res = (yield services.invoke(
    FunctionId.SMCCC_ARCH_FEATURES,
    BigInt(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES),
  )) as SmcResult;
  if (s32(res.x0) < 0) return fail({ at: 'features_attributes', x0: res.x0 });
  res = (yield services.invoke(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES)) as SmcResult;
  if (s32(res.x0)) return fail({ at: 'attributes', x0: res.x0 });
  const cache = new SmcccCache(posting, services, res);
  const ret = framework.register({ name: 'arm_smccc_cache', ops: cache });
  if (ret) return fail({ at: 'attributes', x0: res.x0 });
  services.prInfo(REGISTERED_MESSAGE);
  return { ret: null, cache, attributes: res };
}
