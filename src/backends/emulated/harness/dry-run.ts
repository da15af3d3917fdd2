import type { Errno } from '../../errno.js';
import { FLAG_DRYRUN, FunctionId, type SmcccInvoke, s32 } from '../kernel/arm-smccc.js';
import { type Posting, smcccCacheStatusToErrno } from '../kernel/arm-smccc-cache.js';
import type { CacheCoherencyOps, CcInvalParams } from '../kernel/cache-maint.js';
import type { Mutex } from '../kernel/mutex.js';

/**
 * `invalidate --dry-run`, which no kernel posting has: one CLEAN_INV_MEMREGION call with the DRYRUN flag
 * (the firmware checks the arguments and does nothing), under the provider's lock, its status mapped as
 * the posting maps it. Size 0 is refused before any call, as the provider refuses it.
 */
export function dryRunOps(invoke: SmcccInvoke, lock: Mutex, posting: Posting): CacheCoherencyOps {
  return {
    async wbinv(params: CcInvalParams): Promise<Errno | null> {
      if (!params.size) return 'EINVAL';
      const wait = lock.lock();
      if (wait) await wait;
      try {
        const res = await invoke(FunctionId.CLEAN_INV_MEMREGION, params.addr, params.size, FLAG_DRYRUN);
        return smcccCacheStatusToErrno(s32(res.x0), posting);
      } finally {
        lock.unlock();
      }
    },
  };
}
