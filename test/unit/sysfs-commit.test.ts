import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { invalidateRegion, type RegionFlowDeps } from '../../src/backends/sysfs/commit.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { createSysfsBackend } from '../../src/backends/sysfs/index.js';
import { regionStressTarget } from '../../src/backends/sysfs/stress.js';
import type { Verdict } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { FakeKernelTracefs } from './helpers/fake-tracefs.js';
import { errnoError } from './helpers/recording-root.js';
import { refusal, regionOptions } from './helpers/refusal.js';
import { confirmer, fakeProbe } from './helpers/sysfs-fixture.js';

const fixture = fixtureEachTest('cxl');

const deps = (verdict: Verdict = 'supported'): RegionFlowDeps => ({
  sys: fixture.sys,
  log: silentLogger,
  probe: fakeProbe(verdict),
  trace: false,
});
const options = regionOptions;
const commitOf = (name: string) =>
  readFileSync(path.join(fixture.root, `sys/bus/cxl/devices/${name}/commit`), 'utf8').trim();

describe('invalidate --region: a configured region that is not committed', () => {
  it('asks after the preflight, then writes 1 to commit and reports the region range', async () => {
    const ask = confirmer(true, () => assert.deepEqual(fixture.sys.writes, [], 'no write before the answer'));
    const report = await invalidateRegion('region1', options({ confirm: ask.confirm }), deps());
    assert.equal(ask.questions.length, 1);
    assert.match(ask.questions[0]!, /Commit region1/);
    assert.deepEqual(fixture.sys.writes, [{ file: 'sys/bus/cxl/devices/region1/commit', value: '1' }]);
    assert.equal(commitOf('region1'), '1');
    assert.equal(report.ok, true);
    assert.equal(report.start, '0x40c0000000');
    assert.equal(report.size, '1073741824');
    assert.equal(report['action'], 'commit');
    assert.equal(report.status, 'committed');
  });

  it('refuses a region whose interleave positions are not all set (65)', async () => {
    const file = path.join(fixture.root, 'sys/bus/cxl/devices/region1/target0');
    await import('node:fs').then((fs) => fs.writeFileSync(file, '\n'));
    await assert.rejects(
      invalidateRegion('region1', options(), deps()),
      refusal(65, /not fully configured \(target0 is empty\)/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('tells a region of size 0 (not configured) from one whose size cannot be read as a u64 (65)', async () => {
    const sizeFile = path.join(fixture.root, 'sys/bus/cxl/devices/region1/size');
    writeFileSync(sizeFile, '0\n');
    await assert.rejects(
      invalidateRegion('region1', options(), deps()),
      refusal(65, /region1 is not configured \(size is 0\)/),
    );
    writeFileSync(sizeFile, '0x10000000000000000\n');
    await assert.rejects(
      invalidateRegion('region1', options(), deps()),
      refusal(65, /region1 has no readable size \(.*region1\/size is missing, unreadable or past 64 bits\)/),
    );
    rmSync(sizeFile);
    await assert.rejects(invalidateRegion('region1', options(), deps()), refusal(65, /has no readable size/));
    assert.deepEqual(fixture.sys.writes, []);
  });
});

describe('invalidate --region: a committed region', () => {
  it('refuses without --cycle and says why (64)', async () => {
    await assert.rejects(
      invalidateRegion('region2', options(), deps()),
      refusal(64, /already committed.*--cycle/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('with --cycle decommits, commits and binds the region driver again, in that order', async () => {
    const report = await invalidateRegion('region2', options({ cycle: true }), deps());
    assert.deepEqual(fixture.sys.writes, [
      { file: 'sys/bus/cxl/devices/region2/commit', value: '0' },
      { file: 'sys/bus/cxl/devices/region2/commit', value: '1' },
      { file: 'sys/bus/cxl/drivers/cxl_region/bind', value: 'region2' },
    ]);
    assert.equal(report['action'], 'cycle');
    assert.equal((report['steps'] as unknown[]).length, 3);
  });

  it('refuses to cycle a region in use, naming the DAX device and the online memory (75)', async () => {
    await assert.rejects(
      invalidateRegion('region0', options({ cycle: true }), deps()),
      refusal(75, /dax0\.0 is bound to kmem; memory blocks memory1032\.\.memory1035 \(4 blocks\) are online/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('says the region is left decommitted when the commit after the decommit fails', async () => {
    fixture.sys.hook = (file, value) => {
      if (file.endsWith('/commit') && value === '1') throw errnoError('ENXIO');
    };
    await assert.rejects(
      invalidateRegion('region2', options({ cycle: true }), deps()),
      refusal(69, /ENXIO.*Failed to synchronize CPU cache state.*left decommitted/),
    );
  });
});

/** Counts the reads of each file: every read of a SysRoot goes through readBytes (fs.ts). */
class ReadCounter extends SysRoot {
  readonly reads = new Map<string, number>();
  override async readBytes(relative: string) {
    this.reads.set(relative, (this.reads.get(relative) ?? 0) + 1);
    return super.readBytes(relative);
  }
}

describe('invalidate --region: what it reads', () => {
  it('reads the region once: after the writes only its commit state (and its driver link)', async () => {
    const counter = new ReadCounter(fixture.root);
    await invalidateRegion('region1', options(), { ...deps(), sys: counter });
    const times = (file: string) => counter.reads.get(`sys/bus/cxl/devices/region1/${file}`) ?? 0;
    const seen = JSON.stringify([...counter.reads]);
    for (const file of ['resource', 'size', 'interleave_ways', 'mode', 'target0'])
      assert.equal(times(file), 1, `${file}: ${seen}`);
    assert.equal(times('commit'), 2, `before and after the write: ${seen}`);
  });
});

describe('invalidate --region: the provider rule, confirmation and names', () => {
  it('refuses before any write when the verdict is not supported, and says what the kernel would do (69)', async () => {
    const ask = confirmer(true);
    await assert.rejects(
      invalidateRegion('region1', options({ confirm: ask.confirm }), deps('unknown')),
      refusal(69, /verdict is "unknown".*ENXIO.*WARNs.*taints.*--force/),
    );
    assert.deepEqual(fixture.sys.writes, []);
    assert.equal(ask.questions.length, 0);
  });

  it('refuses with 77 when the verdict is unknown for want of privileges', async () => {
    const probe = async () => ({ ...(await fakeProbe('unknown')()), needs_privileges: true });
    await assert.rejects(
      invalidateRegion('region1', options(), { ...deps(), probe }),
      refusal(77, /verdict is "unknown"/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('writes with --force and keeps the warning in the report', async () => {
    const report = await invalidateRegion('region1', options({ force: true }), deps('unsupported'));
    assert.equal(fixture.sys.writes.length, 1);
    assert.match(String((report['warnings'] as string[])[0]), /--force.*taints/);
  });

  it('does nothing when confirmation is refused (no TTY and no --yes): exit 64', async () => {
    const ask = confirmer(false);
    await assert.rejects(
      invalidateRegion('region1', options({ confirm: ask.confirm }), deps()),
      refusal(64, /^cancelled$/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('checks without writing or asking on --dry-run', async () => {
    const ask = confirmer(true);
    const report = await invalidateRegion(
      'region2',
      options({ dryRun: true, cycle: true, confirm: ask.confirm }),
      deps(),
    );
    assert.equal(report.dry_run, true);
    assert.deepEqual(report['plan'], ['commit <- 0', 'commit <- 1', 'bind cxl_region']);
    assert.deepEqual(fixture.sys.writes, []);
    assert.equal(ask.questions.length, 0);
  });

  for (const name of [
    '../region1',
    'region1/../../../etc',
    'region1/',
    '/region1',
    'region01',
    'region-1',
    'region1 ',
    'Region1',
    '',
    'mem0',
    'region1\n',
  ]) {
    it(`refuses the name ${JSON.stringify(name)} before touching any path (65)`, async () => {
      await assert.rejects(invalidateRegion(name, options(), deps()), refusal(65, /is not a region name/));
      assert.deepEqual(fixture.sys.writes, []);
    });
  }

  it('refuses a well-formed name that does not exist (65, "no such region")', async () => {
    await assert.rejects(
      invalidateRegion('region9', options(), deps()),
      refusal(65, /^no such region: region9/),
    );
  });
});

/** One traced cpu_cache_invalidate_memregion() call (entry `start=… len=…`, return `ret`), as trace_pipe shows it. */
function emitInvalidation(tracefs: FakeKernelTracefs, group: string, range: string, ret: number): void {
  tracefs.emit(
    `instances/${group}`,
    `  bash-9 [001] .... 50.000000: inv: (cpu_cache_invalidate_memregion+0x0/0x60) start=${range}`,
  );
  tracefs.emit(
    `instances/${group}`,
    `  bash-9 [001] .... 50.000900: inv_ret: (commit_store+0x10/0x20 <- cpu_cache_invalidate_memregion) ret=${ret}`,
  );
}

/** A commit of region1 traced through a fake tracefs whose return probe sees `ret`. */
function tracedCommit(ret: number, group = 'memregion_committest') {
  const tracefs = new FakeKernelTracefs(fixture.sys);
  fixture.sys.hook = (file) => {
    if (!file.endsWith('/commit')) return;
    emitInvalidation(tracefs, group, '0x40c0000000 len=1073741824', ret);
  };
  const report = invalidateRegion('region1', options(), {
    ...deps(),
    trace: { target: { tracefs, providers: [], warnings: [] }, group, settleMs: 5 },
  });
  return { tracefs, report };
}

describe('invalidate --region with tracefs', () => {
  it("reports the kernel's invalidation calls made during the write", async () => {
    const group = 'memregion_committest';
    const traced = tracedCommit(0, group);
    const report = await traced.report;
    const calls = report['kernel_calls'] as {
      count: number;
      latency_us: { max: number };
      returns: Record<string, number>;
    };
    assert.equal(calls.count, 1);
    assert.equal(calls.latency_us.max, 900);
    assert.deepEqual(calls.returns, { '0': 1 });
    assert.deepEqual(
      [...traced.tracefs.live()].filter((p) => p.startsWith(group)),
      [],
    );
  });
});

describe('invalidate --region: the invalidation the kernel ignores (issue 8 item 4)', () => {
  it('a commit whose traced invalidation returned -EBUSY: committed, invalidation_errno EBUSY, ok false', async () => {
    const report = await tracedCommit(-16).report;
    assert.equal(commitOf('region1'), '1');
    assert.equal(report.status, 'committed');
    assert.equal(report.ok, false);
    assert.equal(report.errno, 'EBUSY');
    assert.equal(report['invalidation_errno'], 'EBUSY');
    assert.ok(
      (report['warnings'] as string[]).some((w) =>
        /ignored the failed cache invalidation of region1 \(EBUSY\).*stale cache lines may remain/.test(w),
      ),
    );
  });

  it('without tracing: ok, but the report says the outcome cannot be known', async () => {
    const report = await invalidateRegion('region1', options(), deps());
    assert.equal(report.ok, true);
    assert.equal(report['invalidation_errno'], null);
    assert.equal(report['invalidated'], null);
    assert.ok(
      (report['warnings'] as string[]).some((w) =>
        /outcome of region1's cache invalidation cannot be known/.test(w),
      ),
    );
  });

  it('a commit the kernel refuses is an error whose partial report says what happened', async () => {
    fixture.sys.hook = (file, value) => {
      if (file.endsWith('/commit') && value === '1') throw errnoError('ENXIO');
    };
    const error = await invalidateRegion('region1', options(), deps()).catch((e) => e);
    assert.equal(error.exitCode, 69);
    assert.deepEqual(
      [error.partial.ok, error.partial.errno, error.partial.status, error.partial.invalidation_errno],
      [false, 'ENXIO', 'configured', null],
    );
  });
});

describe('the sysfs backend on the CXL fixture', () => {
  it('uses the probe verdict of the fixture (supported) and commits', async () => {
    const backend = await createSysfsBackend({
      backend: 'sysfs',
      root: fixture.root,
      seed: 1,
      provider: 'v2',
      virtualTime: false,
      log: silentLogger,
    });
    const report = await backend.invalidateRegion('region1', options({ dryRun: true }));
    assert.equal(report.ok, true);
    await backend.close();
  });

  it('explains that Linux has no interface for an arbitrary range (69)', async () => {
    const backend = await createSysfsBackend({
      backend: 'sysfs',
      root: fixture.root,
      seed: 1,
      provider: 'v2',
      virtualTime: false,
      log: silentLogger,
    });
    await assert.rejects(
      backend.invalidateRange(0x1000n, 4096n, { dryRun: false }),
      refusal(69, /no file, ioctl or tracepoint.*--region.*erase.*--backend emulated/),
    );
  });
});

describe('stress --region', () => {
  const stress = (region: string | undefined, answer = true, verdict: Verdict = 'supported') =>
    regionStressTarget(
      { region, confirm: confirmer(answer).confirm, signal: new AbortController().signal },
      deps(verdict),
    );

  it('cycles the region once per invalidation, one at a time', async () => {
    const target = await stress('region2');
    const outcomes = await Promise.all([target.invalidate(0n, 1n), target.invalidate(0n, 1n)]);
    assert.deepEqual(
      outcomes.map((o) => o.errno),
      [null, null],
    );
    assert.deepEqual(
      fixture.sys.writes.map((w) => `${w.file.split('/').pop()}=${w.value}`),
      ['commit=0', 'commit=1', 'bind=region2', 'commit=0', 'commit=1', 'bind=region2'],
    );
    // Not traced (deps without tracing): the writes succeeded, the invalidations are not claimed.
    assert.deepEqual(target.firmwareCalls(), { UNTRACED: 2 });
    assert.deepEqual(target.reportFields?.(), {
      cycle_tracing: { traced: 0, untraced: 2, reason: 'tracing not requested', ignored_failures: 0 },
    });
  });

  it('counts a failed cycle by errno instead of throwing', async () => {
    const target = await stress('region2');
    fixture.sys.hook = (file, value) => {
      if (file.endsWith('/commit') && value === '1') throw errnoError('EBUSY');
    };
    const outcome = await target.invalidate(0n, 1n);
    assert.equal(outcome.errno, 'EBUSY');
  });

  /** A stress target on region2 traced through a fake tracefs whose return probe sees `rets[i]` on commit i. */
  const tracedStress = (rets: number[], group = 'memregion_stresstest') => {
    const tracefs = new FakeKernelTracefs(fixture.sys);
    let commits = 0;
    fixture.sys.hook = (file, value) => {
      if (!file.endsWith('/commit') || value !== '1') return;
      const ret = rets[commits++] ?? 0;
      emitInvalidation(tracefs, group, '0x4100000000 len=268435456', ret);
    };
    const target = regionStressTarget(
      { region: 'region2', confirm: confirmer(true).confirm, signal: new AbortController().signal },
      { ...deps(), trace: { target: { tracefs, providers: [], warnings: [] }, group, settleMs: 1 } },
    );
    return { tracefs, target };
  };

  it('traces each cycle as invalidate --region does: a cycle whose invalidation the kernel ignored fails', async () => {
    const { tracefs, target: pending } = tracedStress([0, -16, 0]);
    const target = await pending;
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await target.invalidate(0n, 1n));
    assert.deepEqual(
      outcomes.map((o) => o.errno),
      [null, 'EBUSY', null],
    );
    assert.equal(commitOf('region2'), '1', 'the kernel committed the region every time');
    assert.deepEqual(target.firmwareCalls(), { SUCCESS: 2, EBUSY: 1 });
    assert.deepEqual(target.reportFields?.(), {
      cycle_tracing: { traced: 3, untraced: 0, reason: null, ignored_failures: 1 },
    });
    assert.deepEqual(
      [...tracefs.live()].filter((p) => p.startsWith('memregion_stresstest')),
      [],
      'every cycle removed its probes',
    );
  });

  it('without kprobe_events: every cycle untraced with the reason, tracefs and kallsyms looked up once', async () => {
    rmSync(path.join(fixture.root, 'sys/kernel/tracing/kprobe_events'));
    let kallsymsReads = 0;
    const stream = fixture.sys.stream.bind(fixture.sys);
    fixture.sys.stream = (relative, consume) => {
      if (relative === 'proc/kallsyms') kallsymsReads += 1;
      return stream(relative, consume);
    };
    const target = await regionStressTarget(
      { region: 'region2', confirm: confirmer(true).confirm, signal: new AbortController().signal },
      { ...deps(), trace: {} },
    );
    for (let i = 0; i < 3; i++) assert.equal((await target.invalidate(0n, 1n)).errno, null);
    assert.deepEqual(target.firmwareCalls(), { UNTRACED: 3 });
    const tracing = target.reportFields?.().cycle_tracing;
    assert.equal(tracing?.untraced, 3);
    assert.match(tracing?.reason ?? '', /tracefs has no kprobe_events/);
    assert.equal(kallsymsReads, 1, 'kallsyms read once for the run, not once per cycle');
  });

  it('refuses a region in use, a missing --region, no provider, and a refused confirmation', async () => {
    await assert.rejects(stress('region0'), refusal(75, /in use/));
    await assert.rejects(stress(undefined), refusal(64, /--region/));
    await assert.rejects(stress('region2', true, 'unsupported'), refusal(69, /verdict/));
    await assert.rejects(stress('region2', false), refusal(64, /cancelled/));
    await assert.rejects(stress('../x'), refusal(65, /is not a region name/));
    assert.deepEqual(fixture.sys.writes, []);
  });
});
