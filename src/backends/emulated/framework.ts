import type { Errno } from '../../core/smccc.js';
import type { InvalidationOutcome } from '../types.js';

/** A registered cache-maintenance instance (include/linux/cache_coherency.h): `wbinv`, optional `done`. */
export interface CacheInstance {
  readonly name: string;
  wbinv(start: bigint, size: bigint): Promise<InvalidationOutcome>;
  done?(): Promise<Errno | null>;
}

export interface MemregionResult {
  /** The first error, or null. */
  errno: Errno | null;
  /** What each instance's `wbinv` did, in registration order. */
  outcomes: InvalidationOutcome[];
}

/**
 * The kernel's generic framework (lib/cache_maint.c): `cpu_cache_invalidate_memregion()` calls `wbinv`
 * on every instance, then `done` on every instance that has one, and returns the first error. With no
 * instance it does nothing and succeeds, which is why callers check `hasInvalidate()` first.
 */
export class CacheCoherencyFramework {
  private readonly instances: CacheInstance[] = [];

  register(instance: CacheInstance): void {
    this.instances.push(instance);
  }

  hasInvalidate(): boolean {
    return this.instances.length > 0;
  }

  get registered(): readonly CacheInstance[] {
    return this.instances;
  }

  async invalidateMemregion(start: bigint, size: bigint): Promise<MemregionResult> {
    const outcomes: InvalidationOutcome[] = [];
    let errno: Errno | null = null;
    for (const instance of this.instances) {
      const result = await instance.wbinv(start, size);
      outcomes.push(result);
      errno ??= result.errno;
    }
    for (const instance of this.instances) {
      if (!instance.done) continue;
      const doneErrno = await instance.done();
      errno ??= doneErrno;
    }
    return { errno, outcomes };
  }
}
