import { drivePromise, type Steps } from '../../../core/coroutine.js';
import type { Errno } from '../../errno.js';
import { FLAG_DRYRUN, FunctionId, type SmcResult, s32 } from '../kernel/arm-smccc.js';
import { type KernelServices, type Posting, smcccCacheStatusToErrno } from '../kernel/arm-smccc-cache.js';
import type { CacheCoherencyOps, CcInvalParams } from '../kernel/cache-maint.js';
import type { Mutex } from '../kernel/mutex.js';

/**
 * `invalidate --dry-run`, which no kernel posting has: one CLEAN_INV_MEMREGION call with the DRYRUN flag
 * (the firmware checks the arguments and does nothing), under the provider's lock, its status mapped as
 * the posting maps it. Size 0 is refused before any call, as the provider refuses it.
 */
export function dryRunOps(
  invoke: KernelServices['invoke'],
  lock: Mutex,
  posting: Posting,
): CacheCoherencyOps {
  function* dryRun(params: CcInvalParams): Steps<Errno | null> {
    if (!params.size) return 'EINVAL';
    const wait = lock.lock();
    if (wait) yield wait;
    try {
      const res = (yield invoke(
        FunctionId.CLEAN_INV_MEMREGION,
        params.addr,
        params.size,
        FLAG_DRYRUN,
      )) as SmcResult;
      return smcccCacheStatusToErrno(s32(res.x0), posting);
    } finally {
      lock.unlock();
    }
  }
  return { wbinv: (params) => drivePromise(dryRun(params)) };
}
