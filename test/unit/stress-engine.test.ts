import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Profile } from '../../src/backends/emulated/profiles.js';
import type { ProviderVariant, StressTarget } from '../../src/backends/types.js';
import { ExitCode, MemregionError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { U64_MAX } from '../../src/core/u64.js';
import { type StressOptions, StressRun, type StressSnapshot } from '../../src/stress/engine.js';
import { type RangeSpec, rangePicker, validateRangeSpec } from '../../src/stress/ranges.js';
import { type Emulation, emulate, globalProfile, profileWith, rangeProfile } from '../helpers/emulation.js';

const RANGE: RangeSpec = { pattern: 'random', base: 0x40_8000_0000n, size: 4096n, span: 1n << 30n };

function targetOf(emu: Emulation): StressTarget {
  return {
    clock: emu.clock,
    coalescing: emu.provider.coalescing,
    invalidate: (start, size) => emu.provider.wbinv(start, size),
    firmwareCalls: () => Object.fromEntries(emu.firmware.invalidateCalls),
  };
}

async function stress(
  profile: Profile,
  variant: ProviderVariant,
  options: Partial<StressOptions> = {},
  seed = 1,
): Promise<{ snapshot: StressSnapshot; emu: Emulation }> {
  const emu = await emulate(profile, { variant, seed, record: false });
  const run = new StressRun(
    targetOf(emu),
    {
      workers: 4,
      ops: 200,
      durationMs: null,
      range: RANGE,
      verify: true,
      signal: new AbortController().signal,
      ...options,
    },
    new Random(seed + 1000),
  );
  return { snapshot: await run.run(), emu };
}

describe('stress engine', () => {
  test('v2 on a global firmware: every op is one firmware call, serialized', async () => {
    const { snapshot } = await stress(globalProfile(50), 'v2', { workers: 4, ops: 100 });
    assert.equal(snapshot.issued, 100);
    assert.equal(snapshot.completed, 100);
    assert.equal(snapshot.failed, 0);
    assert.equal(snapshot.firmware_calls, 100);
    assert.deepEqual(snapshot.by_status, { SUCCESS: 100 });
    assert.equal(snapshot.elapsed_us, 100 * 50);
    assert.deepEqual(snapshot.verify, { checked: 100, violations: 0, examples: [] });
    assert.equal(snapshot.coalesced, 0);
    assert.ok(snapshot.latency_us);
    // 3 significant figures: a request waits for at most the 3 others ahead of it, then its own call.
    assert.ok(Math.abs(snapshot.latency_us.max - 4 * 50) <= 0.5, `max ${snapshot.latency_us.max}`);
    assert.ok(
      Math.abs(snapshot.latency_us.p50 - 4 * 50) <= 0.5,
      'in steady state every request waits 4 calls',
    );
  });

  test('batched: coalesces and never violates the guarantee', async () => {
    const { snapshot } = await stress(globalProfile(50), 'batched', { workers: 16, ops: 800 });
    assert.equal(snapshot.completed, 800);
    assert.equal(snapshot.verify!.violations, 0);
    assert.equal(snapshot.verify!.checked, 800);
    assert.ok(snapshot.firmware_calls <= 800 / 8, `calls ${snapshot.firmware_calls}`);
    assert.equal(snapshot.coalesced, 800 - snapshot.firmware_calls);
  });

  test('rfc: the race shows as violations, with examples', async () => {
    const { snapshot } = await stress(globalProfile(50), 'rfc', { workers: 16, ops: 800 });
    assert.equal(snapshot.completed, 800);
    assert.ok(snapshot.verify!.violations > 0, 'rfc under-flushes');
    assert.ok(snapshot.verify!.examples.length > 0 && snapshot.verify!.examples.length <= 5);
    for (const example of snapshot.verify!.examples) assert.ok(example.served_by_seq! < example.arrival_seq);
  });

  for (const variant of ['batched', 'rfc'] as const) {
    test(`${variant} on a range firmware: no coalescing, no violation`, async () => {
      const { snapshot } = await stress(rangeProfile(50), variant, { workers: 8, ops: 200 });
      assert.equal(snapshot.firmware_calls, 200);
      assert.equal(snapshot.coalesced, 0);
      assert.equal(snapshot.verify!.violations, 0);
    });
  }

  test('failed requests are counted by errno and not verified', async () => {
    const { snapshot } = await stress(profileWith({}, 'stuck'), 'v1', { workers: 2, ops: 10 });
    assert.equal(snapshot.completed, 0);
    assert.equal(snapshot.failed, 10);
    assert.deepEqual(snapshot.errors, { EBUSY: 10 });
    assert.equal(snapshot.retries, 40);
    assert.deepEqual(snapshot.by_status, { BUSY: 50 });
    assert.equal(snapshot.verify!.checked, 0);
  });

  test('duration on virtual time', async () => {
    const { snapshot } = await stress(globalProfile(50), 'v2', { workers: 2, ops: null, durationMs: 10 });
    assert.ok(
      snapshot.elapsed_us >= 10_000 && snapshot.elapsed_us <= 10_000 + 2 * 50,
      `elapsed ${snapshot.elapsed_us}`,
    );
    // The run ends at the deadline: a request still in flight then (at most one per worker) is issued
    // but not counted as completed.
    assert.ok(
      snapshot.issued - snapshot.completed <= 2,
      `issued ${snapshot.issued}, completed ${snapshot.completed}`,
    );
    assert.ok(snapshot.completed >= 199 && snapshot.completed <= 202, `completed ${snapshot.completed}`);
  });

  test('an aborted signal stops the run before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const { snapshot } = await stress(globalProfile(50), 'v2', { signal: controller.signal });
    assert.equal(snapshot.issued, 0);
    assert.equal(snapshot.latency_us, null);
  });

  test('interval snapshots on the clock', async () => {
    const snapshots: StressSnapshot[] = [];
    await stress(globalProfile(50), 'v2', {
      workers: 1,
      ops: 100,
      intervalMs: 1,
      onInterval: (s) => snapshots.push(s),
    });
    assert.equal(snapshots.length, 5, 'one per millisecond of a 5 ms run');
    for (let i = 1; i < snapshots.length; i++) {
      assert.ok(snapshots[i]!.completed > snapshots[i - 1]!.completed);
      assert.ok(snapshots[i]!.elapsed_us > snapshots[i - 1]!.elapsed_us);
    }
  });

  test('the same seed gives the same report; another seed another one', async () => {
    const run = async (seed: number) =>
      (await stress(profileWith({}, 'busy'), 'v2', { workers: 4, ops: 300 }, seed)).snapshot;
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    assert.deepEqual(a, b);
    assert.ok(a.retries > 0);
    assert.notDeepEqual(a.by_status, c.by_status);
  });
});

describe('stress ranges', () => {
  test('same: always the base', () => {
    const pick = rangePicker({ ...RANGE, pattern: 'same' }, new Random(1));
    assert.deepEqual([pick(), pick(), pick()], [RANGE.base, RANGE.base, RANGE.base]);
  });

  test('sequential: size-aligned slots in order, wrapping at the span', () => {
    const pick = rangePicker(
      { pattern: 'sequential', base: 0x1000n, size: 0x100n, span: 0x300n },
      new Random(1),
    );
    assert.deepEqual(Array.from({ length: 7 }, pick), [
      0x1000n,
      0x1100n,
      0x1200n,
      0x1000n,
      0x1100n,
      0x1200n,
      0x1000n,
    ]);
  });

  test('random: size-aligned slots inside the span, up to the top of the address space', () => {
    for (const spec of [
      { ...RANGE },
      { pattern: 'random' as const, base: 0n, size: 1n << 12n, span: 1n << 64n },
      { pattern: 'random' as const, base: U64_MAX - 0xfffn, size: 0x1000n, span: 0x1000n },
    ]) {
      const pick = rangePicker(spec, new Random(3));
      for (let i = 0; i < 500; i++) {
        const start = pick();
        assert.ok(start >= spec.base && start + spec.size <= spec.base + spec.span);
        assert.equal((start - spec.base) % spec.size, 0n);
      }
    }
  });

  test('validateRangeSpec', () => {
    const bad = (spec: RangeSpec, pattern: RegExp) =>
      assert.throws(
        () => validateRangeSpec(spec),
        (e: unknown) =>
          e instanceof MemregionError && e.exitCode === ExitCode.DATA_ERR && pattern.test(e.message),
      );
    bad({ ...RANGE, size: 0n }, /--size must not be 0/);
    bad({ ...RANGE, span: RANGE.size - 1n }, /smaller than --size/);
    bad({ ...RANGE, base: U64_MAX, span: 2n, size: 1n }, /past 2\^64/);
    assert.doesNotThrow(() => validateRangeSpec({ ...RANGE, base: U64_MAX, span: 1n, size: 1n }));
  });
});

describe('stress engine: how a run of promise-answering workers ends', () => {
  const options = (workers: number, ops: number): StressOptions => ({
    workers,
    ops,
    durationMs: null,
    range: RANGE,
    verify: false,
    signal: new AbortController().signal,
  });

  test('with fewer requests than workers (workers that end as they are made) it ends after the last', async () => {
    for (const ops of [0, 1, 3]) {
      const emu = await emulate(globalProfile(50), { variant: 'v2', seed: 1, record: false });
      const snapshot = await new StressRun(targetOf(emu), options(8, ops), new Random(1)).run();
      assert.equal(snapshot.issued, ops);
      assert.equal(snapshot.completed, ops);
      assert.equal(snapshot.elapsed_us, ops * 50);
    }
  });

  test('a worker whose request throws ends the run with that error, while the others still wait', async () => {
    const emu = await emulate(globalProfile(50), { variant: 'v2', seed: 1, record: false });
    let calls = 0;
    const target: StressTarget = {
      ...targetOf(emu),
      invalidate: (start, size) =>
        ++calls === 30 ? Promise.reject(new Error('firmware fell over')) : emu.provider.wbinv(start, size),
    };
    await assert.rejects(new StressRun(target, options(4, 1000), new Random(1)).run(), /firmware fell over/);
    assert.equal(calls, 30);
  });
});
