import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheCoherencyFramework, type CacheInstance } from '../../src/backends/emulated/framework.js';
import { EmulatedBackend, REGISTERED_MESSAGE } from '../../src/backends/emulated/index.js';
import { TRACE_SOCKET_ENV } from '../../src/backends/emulated/trace-relay.js';
import type { BackendOptions, InvalidationOutcome, ProviderVariant } from '../../src/backends/types.js';
import { ExitCode, MemregionError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/log.js';
import type { Errno } from '../../src/core/smccc.js';
import { profileWith } from '../helpers/emulation.js';

const ok = (seq = 0): InvalidationOutcome => ({
  errno: null,
  attempts: 1,
  sleeps: 0,
  slept_us: 0,
  coalesced: false,
  arrival_seq: seq,
  served_by_seq: seq + 1,
});

/** A fake instance that records its calls into a shared journal. */
function instance(
  name: string,
  journal: string[],
  wbinvErrno: Errno | null = null,
  done?: Errno | null,
): CacheInstance {
  const fake: CacheInstance = {
    name,
    wbinv: async (start, size) => {
      journal.push(`${name}.wbinv(${start},${size})`);
      await Promise.resolve();
      return { ...ok(), errno: wbinvErrno };
    },
  };
  if (done !== undefined) {
    fake.done = async () => {
      journal.push(`${name}.done`);
      return done;
    };
  }
  return fake;
}

describe('cache coherency framework (lib/cache_maint.c)', () => {
  test('no instance: has_invalidate is false and an invalidation succeeds doing nothing', async () => {
    const framework = new CacheCoherencyFramework();
    assert.equal(framework.hasInvalidate(), false);
    for (const [start, size] of [
      [0x1000n, 0x1000n],
      [0n, 0n],
    ] as const) {
      const result = await framework.invalidateMemregion(start, size);
      assert.equal(result.errno, null);
      assert.equal(result.attempts, 0, 'nothing was done');
      assert.equal(result.served_by_seq, null);
    }
    assert.equal(framework.registered.length, 0);
  });

  test('one instance without done: its wbinv outcome', async () => {
    const journal: string[] = [];
    const framework = new CacheCoherencyFramework();
    framework.register(instance('a', journal, 'EBUSY'));
    const result = await framework.invalidateMemregion(5n, 6n);
    assert.equal(result.errno, 'EBUSY');
    assert.deepEqual(journal, ['a.wbinv(5,6)']);
  });

  test('every wbinv first, in registration order, then every done', async () => {
    const journal: string[] = [];
    const framework = new CacheCoherencyFramework();
    framework.register(instance('a', journal, null, null));
    framework.register(instance('b', journal));
    framework.register(instance('c', journal, null, null));
    assert.equal(framework.hasInvalidate(), true);
    const result = await framework.invalidateMemregion(0x40n, 0x80n);
    assert.equal(result.errno, null);
    assert.deepEqual(journal, ['a.wbinv(64,128)', 'b.wbinv(64,128)', 'c.wbinv(64,128)', 'a.done', 'c.done']);
  });

  test('a single instance with done: wbinv, then done, whose error counts', async () => {
    const journal: string[] = [];
    const framework = new CacheCoherencyFramework();
    framework.register(instance('a', journal, null, 'EIO'));
    assert.equal((await framework.invalidateMemregion(1n, 2n)).errno, 'EIO');
    assert.deepEqual(journal, ['a.wbinv(1,2)', 'a.done']);
  });

  test('registering a second instance after the first: both are called', async () => {
    const journal: string[] = [];
    const framework = new CacheCoherencyFramework();
    framework.register(instance('a', journal));
    await framework.invalidateMemregion(1n, 2n);
    framework.register(instance('b', journal, 'EIO'));
    assert.equal((await framework.invalidateMemregion(1n, 2n)).errno, 'EIO');
    assert.deepEqual(journal, ['a.wbinv(1,2)', 'a.wbinv(1,2)', 'b.wbinv(1,2)']);
  });

  test('the first wbinv error wins; later instances are still called, done too', async () => {
    const journal: string[] = [];
    const framework = new CacheCoherencyFramework();
    framework.register(instance('a', journal, null, 'EIO'));
    framework.register(instance('b', journal, 'EBUSY', null));
    framework.register(instance('c', journal, 'EINVAL', null));
    const result = await framework.invalidateMemregion(1n, 2n);
    assert.equal(result.errno, 'EBUSY');
    assert.deepEqual(journal, ['a.wbinv(1,2)', 'b.wbinv(1,2)', 'c.wbinv(1,2)', 'a.done', 'b.done', 'c.done']);
  });

  test('a done error counts when every wbinv succeeded; the first done error wins', async () => {
    const journal: string[] = [];
    const framework = new CacheCoherencyFramework();
    framework.register(instance('a', journal, null, null));
    framework.register(instance('b', journal, null, 'EIO'));
    framework.register(instance('c', journal, null, 'EBUSY'));
    assert.equal((await framework.invalidateMemregion(1n, 2n)).errno, 'EIO');
    assert.deepEqual(journal.slice(3), ['a.done', 'b.done', 'c.done']);
  });
});

describe('EmulatedBackend: the provider registered with the framework', () => {
  let scratch: string;
  let savedSocket: string | undefined;
  before(() => {
    // Keep these backends away from any trace session another test may be running.
    scratch = mkdtempSync(path.join(tmpdir(), 'memregion-framework-test-'));
    savedSocket = process.env[TRACE_SOCKET_ENV];
    process.env[TRACE_SOCKET_ENV] = path.join(scratch, 'none.sock');
  });
  after(() => {
    if (savedSocket === undefined) delete process.env[TRACE_SOCKET_ENV];
    else process.env[TRACE_SOCKET_ENV] = savedSocket;
    rmSync(scratch, { recursive: true, force: true });
  });

  const lines: string[] = [];
  const options = (provider: ProviderVariant = 'v2'): BackendOptions => ({
    backend: 'emulated',
    root: '/',
    seed: 1,
    provider,
    virtualTime: true,
    log: createLogger('verbose', (line) => lines.push(line)),
  });

  test('a supported firmware registers one instance and logs the kernel line', async () => {
    lines.length = 0;
    const backend = await EmulatedBackend.create(options(), profileWith());
    assert.equal(backend.framework.hasInvalidate(), true);
    assert.deepEqual(
      backend.framework.registered.map((i) => i.name),
      ['arm_smccc_cache'],
    );
    assert.ok(lines.some((line) => line.includes(REGISTERED_MESSAGE)));
    const report = await backend.invalidateRange(0x40_8000_0000n, 0x1000n, { dryRun: false });
    assert.deepEqual([report.ok, report.errno, report.attempts, report.dry_run], [true, null, 1, false]);
    assert.equal(report.elapsed_us, 50);
    const dry = await backend.invalidateRange(0x40_8000_0000n, 0x1000n, { dryRun: true });
    assert.deepEqual([dry.ok, dry.dry_run], [true, true]);
    assert.equal(backend.firmware.invalidateCalls.get('SUCCESS'), 2);
  });

  for (const name of ['unsupported', 'smccc-1.0']) {
    test(`${name}: no instance, has_invalidate false, invalidation refused (exit 69)`, async () => {
      const backend = await EmulatedBackend.create(options(), profileWith({}, name));
      assert.equal(backend.provider, null);
      assert.equal(backend.framework.hasInvalidate(), false);
      await assert.rejects(backend.invalidateRange(0x1000n, 0x1000n, { dryRun: false }), (error: unknown) => {
        assert.ok(error instanceof MemregionError);
        assert.equal(error.exitCode, ExitCode.UNAVAILABLE);
        return true;
      });
      const probe = await backend.probe();
      assert.equal(probe.supported, false);
      assert.ok(probe.reasons.some((r) => /no software fallback/.test(r)));
    });
  }

  test('the range is validated before any firmware call (exit 65)', async () => {
    const backend = await EmulatedBackend.create(options(), profileWith());
    for (const [start, size] of [
      [0x1000n, 0n],
      [0xffff_ffff_ffff_ffffn, 2n],
    ] as const) {
      await assert.rejects(backend.invalidateRange(start, size, { dryRun: false }), (error: unknown) => {
        assert.ok(error instanceof MemregionError);
        assert.equal(error.exitCode, ExitCode.DATA_ERR);
        return true;
      });
    }
    assert.equal(backend.firmware.invalidateCalls.size, 0);
  });

  test('firmware INVALID_PARAMETER and exhausted retries reach the report as errno', async () => {
    const range = await EmulatedBackend.create(options(), profileWith({}, 'range'));
    const misaligned = await range.invalidateRange(0x1001n, 64n, { dryRun: false });
    assert.deepEqual([misaligned.ok, misaligned.errno, misaligned.attempts], [false, 'EINVAL', 1]);
    const stuck = await EmulatedBackend.create(options('v1'), profileWith({}, 'stuck'));
    const busy = await stuck.invalidateRange(0x1000n, 64n, { dryRun: false });
    assert.deepEqual([busy.errno, busy.attempts, busy.retries, busy.sleeps], ['EBUSY', 5, 4, 4]);
    assert.equal(busy.elapsed_us, 4 * 100);
  });
});
