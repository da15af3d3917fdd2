import type { Errno } from '../../core/smccc.js';
import type { InvalidationOutcome } from '../types.js';

/** A registered cache-maintenance instance (include/linux/cache_coherency.h): `wbinv`, optional `done`. */
export interface CacheInstance {
  readonly name: string;
  wbinv(start: bigint, size: bigint): Promise<InvalidationOutcome>;
  done?(): Promise<Errno | null>;
}

/** The first instance's outcome, with `errno` the first error of every `wbinv` and `done` call. */
export type MemregionResult = InvalidationOutcome;

/**
 * The kernel's generic framework (lib/cache_maint.c): `cpu_cache_invalidate_memregion()` calls `wbinv`
 * on every instance, then `done` on every instance that has one, and returns the first error. With no
 * instance it does nothing and succeeds, which is why callers check `hasInvalidate()` first.
 */
export class CacheCoherencyFramework {
  private readonly instances: CacheInstance[] = [];

  register(instance: CacheInstance): void {
    this.instances.push(instance);
    this.only = this.instances.length === 1 && !instance.done ? instance : null;
  }

  /** The one instance when there is exactly one and it has no `done`: the common case, kept cheap. */
  private only: CacheInstance | null = null;

  hasInvalidate(): boolean {
    return this.instances.length > 0;
  }

  get registered(): readonly CacheInstance[] {
    return this.instances;
  }

  invalidateMemregion(start: bigint, size: bigint): Promise<MemregionResult> {
    if (this.only) return this.only.wbinv(start, size);
    return this.everyInstance(start, size);
  }

  private async everyInstance(start: bigint, size: bigint): Promise<MemregionResult> {
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
    const first = outcomes[0] ?? NOTHING_DONE;
    return { ...first, errno };
  }
}

/** What an invalidation with no instance registered does: nothing, successfully. */
export const NOTHING_DONE: InvalidationOutcome = Object.freeze({
  errno: null,
  attempts: 0,
  sleeps: 0,
  slept_us: 0,
  coalesced: false,
  arrival_seq: -1,
  served_by_seq: null,
});
