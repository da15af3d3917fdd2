import { U64_MAX } from '../../../core/u64.js';
import type { Errno } from '../../errno.js';
import type { CacheCoherencyOps, CcInvalParams } from '../kernel/cache-maint.js';
import { type Instrumentation, newObserved, type Observed } from './instrumentation.js';

interface Waiter {
  request: Observed;
  params: CcInvalParams;
  resolve: (ret: Errno | null) => void;
}

const PAST_U64 = U64_MAX + 1n;

/**
 * `batched`, ours and in no posting: the v2 provider behind a queue, for a global firmware. One firmware
 * call serves exactly the requests that were waiting when it started; a request that arrives while a call
 * runs waits for the next one, which it shares with everyone who arrived meanwhile. Only a success is
 * shared: after a failure the other waiters go on to calls of their own.
 */
export function batchedEntry(v2: CacheCoherencyOps, instrumentation: Instrumentation): CacheCoherencyOps {
  let pending: Waiter[] = [];
  let running = false;

  async function runBatches(): Promise<void> {
    running = true;
    // Let requests issued in the same turn join the first call.
    await Promise.resolve();
    try {
      while (pending.length > 0) {
        // The batch is fixed before its call starts: it holds only requests that arrived earlier.
        const batch = pending;
        pending = [];
        const first = batch[0]!;
        // A global operation covers every waiter's range: the first waiter's goes to firmware.
        const ret = await instrumentation.run(v2, first.params, first.request, false, true);
        first.resolve(ret);
        if (ret !== null) {
          pending = batch.slice(1).concat(pending);
          continue;
        }
        for (let i = 1; i < batch.length; i++) {
          const follower = batch[i]!;
          follower.request.served_by_seq = first.request.served_by_seq;
          instrumentation.noteCoalesced(follower.request);
          follower.resolve(instrumentation.complete(follower.request, null, 0));
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    wbinv(params: CcInvalParams): Promise<Errno | null> {
      const request = newObserved(instrumentation.nextSeq());
      instrumentation.lastEntered = request;
      // Refused here rather than carried on another request's call: size 0 as v2 refuses it, and a range
      // past 2^64, which every firmware refuses. (Alignment only the firmware can judge.)
      instrumentation.announce(request, params, false);
      if (params.size === 0n || params.addr + params.size > PAST_U64) {
        return Promise.resolve(instrumentation.complete(request, 'EINVAL', 0));
      }
      const done = new Promise<Errno | null>((resolve) => pending.push({ request, params, resolve }));
      if (!running) void runBatches();
      return done;
    },
  };
}
