import type { Errno } from '../../errno.js';

/** struct cc_inval_params (include/linux/cache_coherency.h). */
export interface CcInvalParams {
  readonly addr: bigint;
  readonly size: bigint;
}

/** struct cache_coherency_ops: `wbinv` starts the invalidation, the optional `done` waits for it. */
export interface CacheCoherencyOps {
  wbinv(params: CcInvalParams): Promise<Errno | null>;
  done?(): Promise<Errno | null>;
}

/** struct cache_coherency_ops_inst: a registered provider instance (named here for reports). */
export interface CacheCoherencyOpsInst {
  readonly name: string;
  readonly ops: CacheCoherencyOps;
}

/**
 * The kernel's generic framework, lib/cache_maint.c. The instance list is private; the read/write rwsem
 * around it is left out (every walk here runs on one thread and registration happens at init).
 */
export class CacheMaint {
  /** cache_ops_instance_list */
  private readonly list: CacheCoherencyOpsInst[] = [];

  /** lib/cache_maint.c cache_coherency_ops_instance_register(): list_add(), i.e. at the head. */
  register(cci: CacheCoherencyOpsInst): number {
    this.list.unshift(cci);
    return 0;
  }

  /** lib/cache_maint.c cache_coherency_ops_instance_unregister(): list_del(). */
  unregister(cci: CacheCoherencyOpsInst): void {
    const i = this.list.indexOf(cci);
    if (i >= 0) this.list.splice(i, 1);
  }

  /** lib/cache_maint.c cpu_cache_has_invalidate_memregion(): !list_empty(). */
  cpuCacheHasInvalidateMemregion(): boolean {
    return this.list.length > 0;
  }

  /** The registered instances, newest first (the walk order); for reports. */
  get instances(): readonly CacheCoherencyOpsInst[] {
    return this.list;
  }

  /**
   * lib/cache_maint.c cpu_cache_invalidate_memregion() → cache_invalidate_memregion(): `wbinv` on every
   * instance, returning at the first error (later instances are not called, no `done` runs), then `done`
   * on every instance, again returning at the first error. With no instance: 0, having done nothing.
   */
  async cpuCacheInvalidateMemregion(start: bigint, len: bigint): Promise<Errno | null> {
    const params: CcInvalParams = { addr: start, size: len };
    for (const cci of this.list) {
      const ret = await cacheInvalOne(cci, params);
      if (ret) return ret;
    }
    for (const cci of this.list) {
      const ret = await cacheInvalDoneOne(cci);
      if (ret) return ret;
    }
    return null;
  }
}

/** lib/cache_maint.c cache_inval_one() (its `!cci->ops` check cannot fail here: ops is required). */
const cacheInvalOne = (cci: CacheCoherencyOpsInst, params: CcInvalParams) => cci.ops.wbinv(params);

/** lib/cache_maint.c cache_inval_done_one(): no `done` counts as done. */
const cacheInvalDoneOne = (cci: CacheCoherencyOpsInst): Promise<Errno | null> | null =>
  cci.ops.done ? cci.ops.done() : null;
