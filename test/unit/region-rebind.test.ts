/**
 * After the writes of a region flow the region driver is where a real machine has it: commit_store()
 * (drivers/cxl/core/region.c) releases it on `commit` <- 0 and `commit` <- 1 binds nothing, so both
 * backends write the region's name to drivers/cxl_region/bind after a cycle (what the decommit released)
 * or with --enable (cxl enable-region), with the same plan, steps and outcome. A locked region is refused
 * by both before any question or write, with the same line.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stress } from '../../src/api.js';
import { emulatedRegionPrimitives } from '../../src/backends/emulated/harness/region-invalidate.js';
import { EmulatedBackend } from '../../src/backends/emulated/index.js';
import { commitStore } from '../../src/backends/emulated/kernel/cxl-region.js';
import type { ProfileOverrides } from '../../src/backends/emulated/profiles.js';
import { commitFailure } from '../../src/backends/region-flow.js';
import { invalidateRegion } from '../../src/backends/sysfs/commit.js';
import { eraseRegion } from '../../src/backends/sysfs/erase.js';
import { regionStressTarget } from '../../src/backends/sysfs/stress.js';
import type {
  CommitStep,
  EmulatedCxlRegionInfo,
  RegionEraseOptions,
  RegionInvalidateOptions,
} from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { profileWith, virtualBackendOptions } from '../helpers/emulation.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { refusal, regionOptions } from './helpers/refusal.js';
import { confirmer, fakeProbe } from './helpers/sysfs-fixture.js';

const fixture = fixtureEachTest('cxl');

const sysfsDeps = () => ({
  sys: fixture.sys,
  log: silentLogger,
  probe: fakeProbe('supported'),
  trace: false as const,
});

/** The emulated regions as the fixture has them: region1 configured, region2 committed and bound. */
const FIXTURE_LIKE = (locked = false): ProfileOverrides => ({
  regions: [
    {
      name: 'region1',
      start: 0x40_c000_0000n,
      size: 0x4000_0000n,
      memdev: 'mem1',
      sanitize_ms: 10,
      committed: false,
      locked: false,
      used_by: [],
    },
    {
      name: 'region2',
      start: 0x41_0000_0000n,
      size: 0x1000_0000n,
      memdev: 'mem0',
      sanitize_ms: 10,
      committed: true,
      locked,
      used_by: [],
    },
  ],
});

const emulatedWith = (overrides: ProfileOverrides = FIXTURE_LIKE()) =>
  EmulatedBackend.create(virtualBackendOptions, profileWith(overrides));

/** What both backends' reports must agree on; a step's file by its last two parts (region2/commit). */
const shape = (report: {
  plan: string[];
  steps: CommitStep[];
  status: string | null;
  ok: boolean;
  driver?: string | null;
}) => ({
  plan: report.plan,
  steps: report.steps.map((s) => [s.file.split('/').slice(-2).join('/'), s.value, s.ok]),
  status: report.status,
  ok: report.ok,
  driver: report.driver,
});

const cxlRegion = async (backend: EmulatedBackend, name: string): Promise<EmulatedCxlRegionInfo> => {
  const found = (await backend.regions()).regions.find((r) => r.name === name);
  assert.ok(found && found.kind === 'cxl_region' && 'needs_invalidation' in found, name);
  return found;
};

describe('the region driver after the writes: the same on both backends', () => {
  test('--cycle of a bound region: decommit, commit, then the bind of what the decommit released', async () => {
    const emulated = await emulatedWith();
    const before = await cxlRegion(emulated, 'region2');
    const mine = await emulated.invalidateRegion('region2', regionOptions({ cycle: true }));
    const theirs = await invalidateRegion('region2', regionOptions({ cycle: true }), sysfsDeps());
    const expected = {
      plan: ['commit <- 0', 'commit <- 1', 'bind cxl_region'],
      steps: [
        ['region2/commit', '0', true],
        ['region2/commit', '1', true],
        ['cxl_region/bind', 'region2', true],
      ],
      status: 'committed',
      ok: true,
      driver: 'cxl_region',
    };
    assert.deepEqual(shape(mine), expected);
    assert.deepEqual(shape(theirs), expected);
    assert.deepEqual(
      fixture.sys.writes.map((w) => [w.file, w.value]),
      [
        ['sys/bus/cxl/devices/region2/commit', '0'],
        ['sys/bus/cxl/devices/region2/commit', '1'],
        ['sys/bus/cxl/drivers/cxl_region/bind', 'region2'],
      ],
    );
    // `regions` shows the region as it was before the cycle: committed, the driver bound.
    assert.deepEqual(await cxlRegion(emulated, 'region2'), before);
    assert.equal(before.driver, 'cxl_region');
    // Two invalidations (decommit and commit) and nothing more: the bind invalidates nothing.
    assert.equal(mine.kernel_calls?.count, 2);
  });

  test('a commit of a configured region binds nothing without --enable; with it, the region driver', async () => {
    for (const enable of [false, true]) {
      fixture.renew();
      const emulated = await emulatedWith();
      const mine = await emulated.invalidateRegion('region1', regionOptions({ enable }));
      const theirs = await invalidateRegion('region1', regionOptions({ enable }), sysfsDeps());
      const plan = enable ? ['commit <- 1', 'bind cxl_region'] : ['commit <- 1'];
      assert.deepEqual(shape(mine).plan, plan);
      assert.deepEqual(shape(theirs).plan, plan);
      assert.deepEqual(shape(mine).steps, shape(theirs).steps);
      assert.equal(mine.driver, enable ? 'cxl_region' : null);
      assert.equal((await cxlRegion(emulated, 'region1')).driver, enable ? 'cxl_region' : null);
    }
  });

  test('a dry run plans the bind, writes nothing and reports no driver', async () => {
    const emulated = await emulatedWith();
    const report = await emulated.invalidateRegion('region2', regionOptions({ cycle: true, dryRun: true }));
    assert.deepEqual(report.plan, ['commit <- 0', 'commit <- 1', 'bind cxl_region']);
    assert.equal('driver' in report, false);
    assert.deepEqual(report.steps, []);
  });

  test('stress --region: each cycle binds again, so the region ends as it began (both backends)', async () => {
    const emulated = await emulatedWith();
    const report = await stress(emulated, { region: 'region2', cycles: 3, confirm: async () => true });
    assert.deepEqual(report.requests, { issued: 3, completed: 3, failed: 0 });
    const after = await cxlRegion(emulated, 'region2');
    assert.deepEqual([after.committed, after.driver], [true, 'cxl_region']);
    const target = await regionStressTarget(
      { region: 'region2', confirm: async () => true, signal: new AbortController().signal },
      sysfsDeps(),
    );
    await target.invalidate(0n, 1n);
    assert.deepEqual(
      fixture.sys.writes.map((w) => w.value),
      ['0', '1', 'region2'],
    );
  });

  test('an unbound committed region: no users (no DAX region without the driver); a cycle binds nothing back', async () => {
    const overrides = FIXTURE_LIKE();
    overrides.regions![1] = { ...overrides.regions![1]!, used_by: ['dax2.0'] };
    const emulated = await emulatedWith(overrides);
    await assert.rejects(
      emulated.invalidateRegion('region2', regionOptions({ cycle: true })),
      refusal(75, /in use \(dax2\.0 is bound to kmem\)/),
    );
    // What a user's own `echo 0 > commit; echo 1 > commit` leaves: committed, no driver, no DAX devices.
    const kernel = emulated.regionState[1]!.kernel;
    const context = {
      cache: { cpuCacheHasInvalidateMemregion: () => true, cpuCacheInvalidateMemregion: async () => null },
      warn: () => {},
      infoOnce: () => {},
      invalidationTest: false,
    };
    assert.equal(await commitStore(kernel, false, context), null);
    assert.equal(await commitStore(kernel, true, context), null);
    assert.deepEqual([kernel.committed, kernel.driver], [true, null]);
    assert.deepEqual((await cxlRegion(emulated, 'region2')).dax_devices, []);
    const cycled = await emulated.invalidateRegion('region2', regionOptions({ cycle: true }));
    assert.deepEqual(cycled.plan, ['commit <- 0', 'commit <- 1']);
    assert.equal(cycled.driver, null);
    // --enable binds it, and its DAX device (and with it the user) is back.
    const enabled = await emulated.invalidateRegion('region2', regionOptions({ cycle: true, enable: true }));
    assert.deepEqual(enabled.plan, ['commit <- 0', 'commit <- 1', 'bind cxl_region']);
    assert.deepEqual((await cxlRegion(emulated, 'region2')).dax_devices, [
      { name: 'dax2.0', driver: 'kmem' },
    ]);
  });
});

const LOCKED = /^refusing to decommit region2: it is locked \(region2\/locked reads 1/;
const lockFixture = () => writeFileSync(path.join(fixture.root, 'sys/bus/cxl/devices/region2/locked'), '1\n');

describe('a locked region: both backends refuse before any question or write (69, the same line)', () => {
  const flows: Array<
    [
      string,
      (o: { confirm: RegionInvalidateOptions['confirm'] }) => {
        emulated: (b: EmulatedBackend) => Promise<unknown>;
        sysfs: () => Promise<unknown>;
      },
    ]
  > = [
    [
      'invalidate --region --cycle',
      ({ confirm }) => ({
        emulated: (b) => b.invalidateRegion('region2', regionOptions({ cycle: true, confirm })),
        sysfs: () => invalidateRegion('region2', regionOptions({ cycle: true, confirm }), sysfsDeps()),
      }),
    ],
    [
      'invalidate --region (no --cycle): locked, not "use --cycle"',
      ({ confirm }) => ({
        emulated: (b) => b.invalidateRegion('region2', regionOptions({ confirm })),
        sysfs: () => invalidateRegion('region2', regionOptions({ confirm }), sysfsDeps()),
      }),
    ],
    [
      'stress --region',
      ({ confirm }) => {
        const options = { region: 'region2', confirm, signal: new AbortController().signal };
        return {
          emulated: (b) => b.stressTarget(options),
          sysfs: () => regionStressTarget(options, sysfsDeps()),
        };
      },
    ],
    [
      'erase --region --recommit',
      ({ confirm }) => {
        const options: RegionEraseOptions = {
          method: 'sanitize',
          recommit: true,
          timeoutMs: 5000,
          force: false,
          confirm,
          signal: new AbortController().signal,
        };
        return {
          emulated: (b) => b.eraseRegion('region2', options),
          sysfs: () => eraseRegion('region2', options, { ...sysfsDeps(), pollMs: 5 }),
        };
      },
    ],
  ];
  for (const [name, flow] of flows) {
    test(name, async () => {
      lockFixture();
      const emulated = await emulatedWith(FIXTURE_LIKE(true));
      const logged = emulated.kernelLog.length;
      const ask = confirmer(true, () => assert.fail('asked about a locked region'));
      const run = flow({ confirm: ask.confirm });
      const messages: string[] = [];
      for (const attempt of [() => run.emulated(emulated), run.sysfs]) {
        await assert.rejects(attempt(), (e: { exitCode: number; message: string }) => {
          messages.push(e.message);
          return refusal(69, LOCKED)(e);
        });
      }
      assert.equal(messages[0], messages[1]);
      assert.deepEqual(fixture.sys.writes, []);
      const region = emulated.regionState[1]!;
      assert.deepEqual([region.kernel.committed, region.kernel.driver], [true, 'cxl_region']);
      assert.equal(emulated.kernelLog.length, logged);
    });
  }

  test('`regions` shows locked on both', async () => {
    const emulated = await emulatedWith(FIXTURE_LIKE(true));
    assert.deepEqual(
      [(await cxlRegion(emulated, 'region1')).locked, (await cxlRegion(emulated, 'region2')).locked],
      [false, true],
    );
  });

  test('an EPERM from commit <- 0 of an emulated region is the lock, never "needs root"', () => {
    const step: CommitStep = {
      file: 'region2/commit',
      value: '0',
      ok: false,
      elapsed_us: 0,
      error: 'EPERM',
    };
    const { failureContext } = emulatedRegionPrimitives({} as never);
    for (const root of [false, true]) {
      const error = commitFailure('region2', step, [step], undefined, {
        ...failureContext,
        root,
        locked: true,
      });
      assert.equal(error.exitCode, 69);
      assert.doesNotMatch(error.message, /root/);
      assert.match(error.message, /refused region2\/commit <- 0 \(EPERM\): the region is locked/);
    }
  });
});
