/**
 * A locked CXL region (drivers/cxl/core/region.c: built from decoders the platform locked,
 * `regionZ/locked` reads 1 since Linux 7.1): commit_store() refuses `commit` <- 0 with EPERM whoever
 * writes it. The flows that would decommit it refuse it before any write; an EPERM that still happens
 * (a kernel without `locked`) is not called a missing privilege when running as root.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, mock } from 'node:test';
import { commitFailure } from '../../src/backends/region-flow.js';
import { collectEvidence } from '../../src/backends/sysfs/collector.js';
import { invalidateRegion, type RegionFlowDeps } from '../../src/backends/sysfs/commit.js';
import { eraseRegion } from '../../src/backends/sysfs/erase.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { listRegions } from '../../src/backends/sysfs/regions.js';
import { regionStressTarget } from '../../src/backends/sysfs/stress.js';
import type { CommitStep } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { errnoError } from './helpers/recording-root.js';
import { refusal, regionOptions } from './helpers/refusal.js';

/** `process` as on POSIX, where geteuid() exists (Node types it as optional). */
const posixProcess = process as NodeJS.Process & { geteuid: () => number };

import { fixtureEachTest } from '../helpers/temp-trees.js';
import { confirmer, fakeProbe } from './helpers/sysfs-fixture.js';

const DEVICES = 'sys/bus/cxl/devices';
const fixture = fixtureEachTest('cxl', { tearDown: () => mock.restoreAll() });

/** locked_show(): `%d\n`. */
const lock = (region: string, value: '0' | '1') =>
  writeFileSync(path.join(fixture.root, `${DEVICES}/${region}/locked`), `${value}\n`);
const deps = (): RegionFlowDeps & { pollMs: number } => ({
  sys: fixture.sys,
  log: silentLogger,
  probe: fakeProbe('supported'),
  trace: false,
  pollMs: 5,
});
const LOCKED = /refusing to decommit region2: it is locked \(region2\/locked reads 1/;
const neverAsked = () => confirmer(true, () => assert.fail('asked about a locked region'));

describe('a locked region is refused before any write (69)', () => {
  it('invalidate --region --cycle', async () => {
    lock('region2', '1');
    const ask = neverAsked();
    await assert.rejects(
      invalidateRegion('region2', regionOptions({ cycle: true, confirm: ask.confirm }), deps()),
      refusal(69, LOCKED),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('invalidate --region without --cycle: locked, not "use --cycle", which could not work', async () => {
    lock('region2', '1');
    await assert.rejects(invalidateRegion('region2', regionOptions(), deps()), refusal(69, LOCKED));
  });

  it('stress --region', async () => {
    lock('region2', '1');
    await assert.rejects(
      regionStressTarget(
        { region: 'region2', confirm: neverAsked().confirm, signal: new AbortController().signal },
        deps(),
      ),
      refusal(69, LOCKED),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('erase --region', async () => {
    lock('region2', '1');
    await assert.rejects(
      eraseRegion(
        'region2',
        {
          method: 'sanitize',
          recommit: false,
          timeoutMs: 5000,
          force: false,
          confirm: neverAsked().confirm,
          signal: new AbortController().signal,
        },
        deps(),
      ),
      refusal(69, LOCKED),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('locked reading 0 changes nothing: the cycle goes ahead', async () => {
    lock('region2', '0');
    const report = await invalidateRegion('region2', regionOptions({ cycle: true }), deps());
    assert.equal(report.ok, true);
    assert.equal(fixture.sys.writes[0]?.value, '0');
  });
});

describe('EPERM from commit <- 0 that still happens', () => {
  const eperm = () => {
    fixture.sys.hook = (file, value) => {
      if (file.endsWith('/commit') && value === '0') throw errnoError('EPERM');
    };
  };

  it('as root, without a locked attribute (before Linux 7.1): the region may be locked (69)', async () => {
    mock.method(posixProcess, 'geteuid', () => 0);
    rmSync(path.join(fixture.root, `${DEVICES}/region2/locked`), { force: true });
    eperm();
    await assert.rejects(
      invalidateRegion('region2', regionOptions({ cycle: true }), deps()),
      refusal(
        69,
        /refused region2\/commit <- 0 \(EPERM\) although running as root: the region may be locked/,
      ),
    );
  });

  it('without root: it needs root (77)', async () => {
    mock.method(posixProcess, 'geteuid', () => 1000);
    eperm();
    await assert.rejects(
      invalidateRegion('region2', regionOptions({ cycle: true }), deps()),
      refusal(77, /cannot write region2\/commit <- 0 \(EPERM\): this needs root/),
    );
  });

  it('as root on a region whose locked reads 0: not blamed on a lock', () => {
    const step: CommitStep = {
      file: `${DEVICES}/region2/commit`,
      value: '0',
      ok: false,
      elapsed_us: 1,
      error: 'EPERM',
    };
    const error = commitFailure('region2', step, [step], undefined, { locked: false, root: true });
    assert.equal(error.exitCode, 77);
    assert.doesNotMatch(error.message, /locked/);
  });
});

describe('locked as regions and collect show it', () => {
  it('regions: locked true, false, or null when the kernel has no such file', async () => {
    lock('region2', '1');
    lock('region1', '0');
    const regions = (await listRegions(new SysRoot(fixture.root))).regions.filter(
      (r) => r.kind === 'cxl_region',
    );
    assert.deepEqual(
      regions.map((r) => [r.name, r['locked']]),
      [
        ['region0', null],
        ['region1', false],
        ['region2', true],
      ],
    );
  });

  it('collect records regionZ/locked', async () => {
    lock('region2', '1');
    const { entries } = await collectEvidence(new SysRoot(fixture.root), 'test');
    assert.ok(
      entries.has(`${DEVICES}/region2/locked`),
      [...entries.keys()].filter((k) => k.includes('region2')).join(' '),
    );
  });
});
