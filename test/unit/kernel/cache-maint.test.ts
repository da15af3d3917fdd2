/**
 * lib/cache_maint.c, transcribed: one test per behaviour, named after the upstream function.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CacheCoherencyOpsInst, CacheMaint } from '../../../src/backends/emulated/kernel/cache-maint.js';
import type { Errno } from '../../../src/backends/errno.js';

/** An instance that records its calls into a shared journal. */
function instance(name: string, journal: string[], wbinv: Errno | null = null, done?: Errno | null) {
  const cci: CacheCoherencyOpsInst = {
    name,
    ops: {
      wbinv: async ({ addr, size }) => {
        journal.push(`${name}.wbinv(${addr},${size})`);
        await Promise.resolve();
        return wbinv;
      },
      ...(done === undefined
        ? {}
        : {
            done: async () => {
              journal.push(`${name}.done`);
              return done;
            },
          }),
    },
  };
  return cci;
}

/** Registers a, b, c in that order: the list walks them c, b, a (list_add inserts at the head). */
function framework(...instances: CacheCoherencyOpsInst[]) {
  const f = new CacheMaint();
  for (const cci of instances) f.register(cci);
  return f;
}

describe('lib/cache_maint.c', () => {
  test('cpu_cache_has_invalidate_memregion: false with no instance, true after one registers', () => {
    const f = new CacheMaint();
    assert.equal(f.cpuCacheHasInvalidateMemregion(), false);
    f.register(instance('a', []));
    assert.equal(f.cpuCacheHasInvalidateMemregion(), true);
  });

  test('cpu_cache_invalidate_memregion: with no instance, 0 having done nothing', async () => {
    assert.equal(await new CacheMaint().cpuCacheInvalidateMemregion(0x1000n, 0n), null);
  });

  test('cache_coherency_ops_instance_register: list_add puts the newest first', async () => {
    const journal: string[] = [];
    const f = framework(instance('a', journal), instance('b', journal), instance('c', journal));
    await f.cpuCacheInvalidateMemregion(1n, 2n);
    assert.deepEqual(journal, ['c.wbinv(1,2)', 'b.wbinv(1,2)', 'a.wbinv(1,2)']);
  });

  test('cache_invalidate_memregion: every wbinv, then every done, in list order', async () => {
    const journal: string[] = [];
    const f = framework(
      instance('a', journal, null, null),
      instance('b', journal),
      instance('c', journal, null, null),
    );
    assert.equal(await f.cpuCacheInvalidateMemregion(0x40n, 0x80n), null);
    assert.deepEqual(journal, ['c.wbinv(64,128)', 'b.wbinv(64,128)', 'a.wbinv(64,128)', 'c.done', 'a.done']);
  });

  test('cache_invalidate_memregion: the first wbinv error returns at once (no later wbinv, no done)', async () => {
    const journal: string[] = [];
    const f = framework(
      instance('a', journal, null, null),
      instance('b', journal, 'EBUSY', null),
      instance('c', journal, null, null),
    );
    assert.equal(await f.cpuCacheInvalidateMemregion(1n, 2n), 'EBUSY');
    assert.deepEqual(journal, ['c.wbinv(1,2)', 'b.wbinv(1,2)']);
  });

  test('cache_invalidate_memregion: the first done error returns at once', async () => {
    const journal: string[] = [];
    const f = framework(
      instance('a', journal, null, 'EBUSY'),
      instance('b', journal, null, 'EIO'),
      instance('c', journal, null, null),
    );
    assert.equal(await f.cpuCacheInvalidateMemregion(1n, 2n), 'EIO');
    assert.deepEqual(journal.slice(3), ['c.done', 'b.done']);
  });

  test('cache_inval_done_one: an instance without done counts as done', async () => {
    const journal: string[] = [];
    const f = framework(instance('a', journal, null, 'EIO'), instance('b', journal));
    assert.equal(await f.cpuCacheInvalidateMemregion(1n, 2n), 'EIO');
    assert.deepEqual(journal, ['b.wbinv(1,2)', 'a.wbinv(1,2)', 'a.done']);
  });

  test('cache_coherency_ops_instance_unregister: list_del', async () => {
    const journal: string[] = [];
    const a = instance('a', journal);
    const f = framework(a, instance('b', journal));
    f.unregister(a);
    await f.cpuCacheInvalidateMemregion(1n, 2n);
    assert.deepEqual(journal, ['b.wbinv(1,2)']);
  });
});
