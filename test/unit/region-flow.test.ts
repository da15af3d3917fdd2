/**
 * The region-flow policy is one (region-flow.ts): both backends refuse in the same order, with the same
 * lines and exit codes, and report a commit with the same fields.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stress } from '../../src/api.js';
import { EmulatedBackend } from '../../src/backends/emulated/index.js';
import {
  type CommitPlan,
  type FlowRegion,
  type RegionPrimitives,
  trackedWrite,
  type WriteProgress,
  writeUnlessStopped,
} from '../../src/backends/region-flow.js';
import { invalidateRegion } from '../../src/backends/sysfs/commit.js';
import { regionStressTarget } from '../../src/backends/sysfs/stress.js';
import type { RegionInvalidateOptions } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { StopRequest } from '../../src/core/stop.js';
import { profileWith, virtualBackendOptions } from '../helpers/emulation.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { RecordingRoot } from './helpers/recording-root.js';
import { refusal, regionOptions } from './helpers/refusal.js';
import { confirmer, fakeProbe } from './helpers/sysfs-fixture.js';

const fixture = fixtureEachTest('cxl');

const options = regionOptions;

/** Both backends on a region of the same state: sysfs region1/region2 of the fixture, emulated region0/region1. */
async function both(verdict: 'supported' | 'unsupported' = 'supported') {
  const sys = new RecordingRoot(fixture.root);
  const emulated = await EmulatedBackend.create(
    virtualBackendOptions,
    profileWith(verdict === 'supported' ? {} : { implements: { clean_inv_memregion: -1n } }),
  );
  return {
    sysfs: (name: 'configured' | 'committed', o: RegionInvalidateOptions) =>
      invalidateRegion(name === 'configured' ? 'region1' : 'region2', o, {
        sys,
        log: silentLogger,
        probe: fakeProbe(verdict),
        trace: false,
      }),
    emulated: (name: 'configured' | 'committed', o: RegionInvalidateOptions) =>
      emulated.invalidateRegion(name === 'configured' ? 'region0' : 'region1', o),
    sys,
  };
}

describe('one region-flow policy for both backends', () => {
  test('no provider → 69 before the confirmation is asked (so a script without --yes learns that first)', async () => {
    const b = await both('unsupported');
    for (const run of [b.sysfs, b.emulated]) {
      const ask = confirmer(false);
      await assert.rejects(
        run('configured', options({ confirm: ask.confirm })),
        refusal(
          69,
          /^refusing to write region[0-9]\/commit: .*ENXIO.*WARNs.*taints it \(use --force to write anyway\)$/,
        ),
      );
      assert.equal(ask.questions.length, 0);
    }
    assert.deepEqual(b.sys.writes, []);
  });

  test('a committed region without --cycle → 64, the same line on both', async () => {
    const b = await both();
    const lines: string[] = [];
    for (const run of [b.sysfs, b.emulated]) {
      const error = await run('committed', options()).catch((e) => e);
      assert.equal(error.exitCode, 64);
      lines.push(error.message.replace(/region[0-9]/g, 'regionN'));
    }
    assert.equal(lines[0], lines[1]);
  });

  test('a refused confirmation → 64 "cancelled" on both, nothing written', async () => {
    const b = await both();
    for (const run of [b.sysfs, b.emulated])
      await assert.rejects(
        run('configured', options({ confirm: confirmer(false).confirm })),
        refusal(64, /^cancelled$/),
      );
    assert.deepEqual(b.sys.writes, []);
  });

  test('the commit report carries the same policy fields on both backends', async () => {
    const b = await both();
    const reports = [await b.sysfs('configured', options()), await b.emulated('configured', options())];
    const policy = [
      'action',
      'dry_run',
      'errno',
      'invalidation_errno',
      'ok',
      'plan',
      'region',
      'status',
      'steps',
      'warnings',
    ];
    for (const report of reports) {
      for (const key of policy) assert.ok(key in report, `${report.backend}: ${key}`);
      assert.equal(report.status, 'committed');
      assert.equal(report['action'], 'commit');
    }
    // The emulated return probe always sees; the sysfs one was off here, and says so.
    assert.equal(reports[1]!['invalidated'], true);
    assert.equal(reports[0]!['invalidated'], null);
  });
});

describe('stress --region: the report says how each cycle was seen (cycle_tracing), on both backends', () => {
  test('emulated, a firmware that is always BUSY: every cycle seen, each one committed and failed', async () => {
    const emulated = await EmulatedBackend.create(virtualBackendOptions, profileWith({}, 'stuck'));
    const report = await stress(emulated, { region: 'region1', cycles: 3, confirm: async () => true });
    assert.deepEqual(report.requests, { issued: 3, completed: 0, failed: 3 });
    assert.deepEqual(report.cycle_tracing, { traced: 3, untraced: 0, reason: null, ignored_failures: 3 });
  });

  test('sysfs without tracing: the same fields, every cycle untraced and counted under UNTRACED', async () => {
    const sys = new RecordingRoot(fixture.root);
    const target = await regionStressTarget(
      { region: 'region2', confirm: async () => true, signal: new AbortController().signal },
      { sys, log: silentLogger, probe: fakeProbe('supported'), trace: false },
    );
    await target.invalidate(0n, 1n);
    assert.deepEqual(target.reportFields?.(), {
      cycle_tracing: { traced: 0, untraced: 1, reason: 'tracing not requested', ignored_failures: 0 },
    });
    assert.deepEqual(target.firmwareCalls(), { UNTRACED: 1 });
  });
});

describe('a stop signal during a commit write ends the flow at once (session 8)', () => {
  /** A sysfs kernel whose write of `value` to a commit file never returns (a firmware call of hours). */
  function slowKernel(value: '0' | '1') {
    const sys = new RecordingRoot(fixture.root);
    const controller = new AbortController();
    sys.hook = (file, written) => {
      if (!file.endsWith('/commit') || written !== value) return;
      setImmediate(() => controller.abort());
      return new Promise<void>(() => {});
    };
    const deps = { sys, log: silentLogger, probe: fakeProbe('supported'), trace: false as const };
    return { sys, signal: controller.signal, deps };
  }

  test('--cycle, stopped in commit <- 1: 130, saying the decommit returned and the commit did not, with the report so far', async () => {
    const { sys, signal, deps } = slowKernel('1');
    const error = await invalidateRegion('region2', options({ cycle: true, signal }), deps).catch((e) => e);
    assert.equal(error.exitCode, 130, error.message);
    assert.match(
      error.message,
      /^interrupted: region2 was decommitted \(.*region2\/commit <- 0\); the commit \(.*region2\/commit <- 1, which invalidates the range\) had not returned: whether region2 is committed, and its caches invalidated, is unknown/,
    );
    assert.equal(error.partial.interrupted, true);
    assert.equal(error.partial.ok, false);
    assert.equal(error.partial.status, 'unknown');
    assert.deepEqual(
      error.partial.steps.map((s: { value: string; ok: boolean }) => [s.value, s.ok]),
      [['0', true]],
    );
    assert.deepEqual(
      sys.writes.map((w) => w.value),
      ['0', '1'],
    );
  });

  test('a signal before the first write: nothing is written, the region is as it was', async () => {
    const sys = new RecordingRoot(fixture.root);
    const controller = new AbortController();
    const confirm = async () => {
      controller.abort();
      return true;
    };
    const deps = { sys, log: silentLogger, probe: fakeProbe('supported'), trace: false as const };
    const error = await invalidateRegion(
      'region1',
      options({ confirm, signal: controller.signal }),
      deps,
    ).catch((e) => e);
    assert.equal(error.exitCode, 130, error.message);
    assert.equal(error.message, 'interrupted before any write: region1 is as it was');
    assert.deepEqual(sys.writes, []);
  });
});

describe('a stop signal ends the writes for good (session 14)', () => {
  test('a write whose set-up ran on after the signal (the trace set-up) never starts', async () => {
    const controller = new AbortController();
    let setUpDone!: () => void;
    const setUp = new Promise<void>((resolve) => {
      setUpDone = resolve;
    });
    const written: string[] = [];
    const primitives = {
      async write(_region: FlowRegion, _plan: CommitPlan, _observe: boolean, progress?: WriteProgress) {
        await setUp;
        const step = await trackedWrite(progress, 'region1/commit', '1', async () => {
          written.push('region1/commit <- 1');
          return { file: 'region1/commit', value: '1', ok: true, elapsed_us: 0 };
        });
        return { steps: [step], invalidation: { kind: 'unknown' as const, reason: 'not traced' } };
      },
    } as unknown as RegionPrimitives<FlowRegion>;
    const region: FlowRegion = {
      name: 'region1',
      start: 0n,
      size: 1n,
      committed: false,
      memdevs: [],
      description: '',
    };
    const plan = { decommit: false, commit: true, bind: null };
    const writes = writeUnlessStopped(primitives, region, plan, true, controller.signal);
    controller.abort(new StopRequest('SIGTERM'));
    await assert.rejects(writes, /^MemregionError: interrupted before any write: region1 is as it was$/);
    setUpDone();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(written, [], 'written after the flow said it was interrupted before any write');
  });
});
