/**
 * End-to-end tests of the emulated backend's region flows (issue 3, DESIGN §4/§5): `invalidate --region`
 * (confirmation, commit and --cycle), `erase` (preflight, confirmation, a sanitize that takes
 * `sanitize_ms`), and `trace` (the provider's own events, from this process or from `-- command`).
 * Each memregion process starts from the profile's state, so "nothing changed" is shown with `trace`:
 * a refused command makes no firmware call.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertExit,
  assertOneErrorLine,
  assertRefused,
  assertSnakeCaseKeys,
  BIN,
  type Doc,
  describeResult,
  emu,
  isCommitted,
  NODE,
  parseJson,
  writeScratchFile,
} from '../helpers/cli.js';

const CONCURRENCY = 6;
const EX = { OK: 0, USAGE: 64, DATA_ERR: 65, UNAVAILABLE: 69, TEMP_FAIL: 75 } as const;

/** `trace --json -- node bin/memregion -b emulated <args>`: the traced child's events and exit code. */
async function traced(args: string[], traceArgs: string[] = []) {
  const r = await emu([...traceArgs, 'trace', '--json', '--', NODE, BIN, '-b', 'emulated', ...args]);
  const report = parseJson(r);
  const kinds = (kind: string) => report.events.filter((e: Doc) => e.kind === kind);
  return { r, report, kinds, calls: kinds('firmware_call') };
}

/** A profile file with one quick-to-sanitize memdev (mem0) and one committed region (mem1). */
const labProfile = () =>
  writeScratchFile('lab.json', {
    name: 'lab',
    regions: [
      { name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', sanitize_ms: 200 },
      {
        name: 'region1',
        start: '0x4100000000',
        size: '0x40000000',
        memdev: 'mem1',
        sanitize_ms: 200,
        committed: true,
      },
      {
        name: 'region2',
        start: '0x4200000000',
        size: '0x40000000',
        memdev: 'mem2',
        sanitize_ms: 200,
        committed: true,
        used_by: ['dax0.0'],
      },
    ],
  });

describe('emulated region flows', { concurrency: CONCURRENCY }, () => {
  describe('invalidate --region', { concurrency: CONCURRENCY }, () => {
    test('without --yes and no TTY → 64, one line naming --yes, nothing on stdout, no firmware call', async () => {
      assertRefused(await emu(['invalidate', '--region', 'region0']), EX.USAGE, /--yes/);
      const { r, report, calls } = await traced(['invalidate', '--region', 'region0']);
      assertExit(r, EX.USAGE);
      assert.equal(report.command_exit_code, EX.USAGE);
      assert.equal(calls.length, 0, 'a refused invalidation makes no firmware call');
      assert.equal(report.summary.invalidations, 0);
    });

    test('with --yes → 0: the region is committed, its range invalidated once', async () => {
      const r = await emu(['invalidate', '--region', 'region0', '--yes', '--json']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      const doc = parseJson(r);
      assertSnakeCaseKeys(doc);
      assert.equal(doc.backend, 'emulated');
      assert.equal(doc.profile, 'global');
      assert.equal(doc.region, 'region0');
      assert.equal(doc.start, '0x4080000000');
      assert.equal(doc.size, '1073741824');
      assert.equal(doc.ok, true);
      assert.equal(doc.errno, null);
      assert.equal(doc.dry_run, false);
      assert.equal(doc.attempts, 1, 'one commit, one invalidation');
      assert.ok(Number.isInteger(doc.elapsed_us));
      assert.equal(isCommitted(doc), true, 'committed afterwards');
    });

    test("with --yes, traced: one firmware call on the region's range, SUCCESS", async () => {
      const { r, report, calls } = await traced(['invalidate', '--region', 'region0', '--yes']);
      assertExit(r, EX.OK);
      assert.equal(report.command_exit_code, 0);
      assert.equal(calls.length, 1);
      assert.equal(calls[0].start, '0x4080000000');
      assert.equal(calls[0].size, '1073741824');
      assert.equal(calls[0].status, 'SUCCESS');
    });

    test('human output with --yes', async () => {
      const r = await emu(['invalidate', '--region', 'region0', '-y']);
      assertExit(r, EX.OK);
      assert.match(r.stdout, /^✓ invalidated region0 \(0x4080000000, 1 GiB\)/);
      assert.equal(r.stderr, '');
    });

    for (const name of ['../x', 'region0/../..', '/sys/bus/cxl', 'region', 'Region0', 'region0 ']) {
      test(`--region ${JSON.stringify(name)} → 65`, async () => {
        assertRefused(await emu(['invalidate', '--region', name, '--yes']), EX.DATA_ERR, /not a region name/);
      });
    }

    test("an unknown region → 65 naming the profile's regions", async () => {
      assertRefused(
        await emu(['invalidate', '--region', 'region9', '--yes']),
        EX.DATA_ERR,
        /region9.*region0, region1/,
      );
    });

    test('a committed region (region1) without --cycle → 64, even with --yes; no firmware call', async () => {
      assertRefused(await emu(['invalidate', '--region', 'region1', '--yes']), EX.USAGE, /--cycle/);
      const { report, calls } = await traced(['invalidate', '--region', 'region1', '--yes']);
      assert.equal(report.command_exit_code, EX.USAGE);
      assert.equal(calls.length, 0);
    });

    test('a committed region with --cycle --yes → 0: decommit then commit, two invalidations of its range', async () => {
      const { report, calls } = await traced(['invalidate', '--region', 'region1', '--cycle', '--yes']);
      assert.equal(report.command_exit_code, 0);
      assert.deepEqual(
        calls.map((c: Doc) => [c.start, c.status]),
        [
          ['0x4100000000', 'SUCCESS'],
          ['0x4100000000', 'SUCCESS'],
        ],
      );
      const r = await emu(['invalidate', '--region', 'region1', '--cycle', '--yes', '--json']);
      assertExit(r, EX.OK);
      const doc = parseJson(r);
      assert.equal(doc.ok, true);
      assert.equal(doc.region, 'region1');
      assert.equal(doc.attempts, 2, 'decommit and commit: one invalidation each');
      assert.equal(isCommitted(doc), true, 'committed again afterwards');
    });

    test('--cycle binds again the driver the decommit released; --enable binds a new commit (the sysfs plan)', async () => {
      const cycled = parseJson(
        await emu(['invalidate', '--region', 'region1', '--cycle', '--yes', '--json']),
      );
      assert.deepEqual(cycled.plan, ['commit <- 0', 'commit <- 1', 'bind cxl_region']);
      assert.deepEqual(cycled.steps.at(-1), {
        file: 'drivers/cxl_region/bind',
        value: 'region1',
        ok: true,
        elapsed_us: 0,
      });
      assert.equal(cycled.driver, 'cxl_region');
      const plain = parseJson(await emu(['invalidate', '--region', 'region0', '--yes', '--json']));
      assert.deepEqual([plain.plan, plain.driver], [['commit <- 1'], null]);
      const enabled = parseJson(
        await emu(['invalidate', '--region', 'region0', '--enable', '--yes', '--json']),
      );
      assert.deepEqual([enabled.plan, enabled.driver], [['commit <- 1', 'bind cxl_region'], 'cxl_region']);
    });

    test('a locked region (profile "locked": true) → 69 before the question, whatever the flow', async () => {
      const profile = writeScratchFile('locked.json', {
        regions: [
          {
            name: 'region1',
            start: '0x4100000000',
            size: '0x40000000',
            memdev: 'mem1',
            committed: true,
            locked: true,
          },
        ],
      });
      // Without --yes and no terminal the question would be refused with 64: 69 comes first.
      for (const args of [
        ['invalidate', '--region', 'region1', '--cycle'],
        ['stress', '--region', 'region1', '--cycles', '1'],
        ['erase', '--region', 'region1'],
      ]) {
        assertRefused(
          await emu(['--profile', profile, ...args]),
          EX.UNAVAILABLE,
          /^memregion: refusing to decommit region1: it is locked \(region1\/locked reads 1/,
        );
      }
      const listed = parseJson(await emu(['--profile', profile, 'regions', '--json']));
      assert.equal(listed.regions.find((r: Doc) => r.name === 'region1').locked, true);
    });

    test('a committed region with --cycle but no --yes → 64', async () => {
      assertRefused(await emu(['invalidate', '--region', 'region1', '--cycle']), EX.USAGE, /--yes/);
    });

    test('a committed region in use → refused even with --cycle --yes (75), nothing written', async () => {
      const profile = labProfile();
      assertRefused(
        await emu(['--profile', profile, 'invalidate', '--region', 'region2', '--cycle', '--yes']),
        EX.TEMP_FAIL,
        /in use.*dax0\.0/,
      );
    });

    test('--dry-run needs no confirmation and makes no firmware call', async () => {
      const r = await emu(['invalidate', '--region', 'region0', '--dry-run', '--json']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      const doc = parseJson(r);
      assert.equal(doc.dry_run, true);
      assert.equal(doc.ok, true);
      assert.equal(doc.region, 'region0');
      const { report, calls } = await traced(['invalidate', '--region', 'region0', '--dry-run']);
      assert.equal(report.command_exit_code, 0);
      assert.equal(calls.length, 0);
    });

    test('on a firmware without the interface → 69 (no provider), no firmware call', async () => {
      assertRefused(
        await emu(['--profile', 'unsupported', 'invalidate', '--region', 'region0', '--yes']),
        EX.UNAVAILABLE,
        /no cache invalidation provider/,
      );
    });

    test('on a stuck firmware the kernel ignores the failed invalidation and commits (cxl_region_invalidate_memregion); memregion reports it: ok false, invalidation_errno EBUSY, exit 75', async () => {
      const r = await emu(['--profile', 'stuck', 'invalidate', '--region', 'region0', '--yes', '--json']);
      assertExit(r, EX.TEMP_FAIL);
      const doc = parseJson(r);
      assert.equal(doc.ok, false);
      assert.equal(doc.errno, 'EBUSY');
      assert.equal(doc.invalidation_errno, 'EBUSY');
      assert.equal(doc.status, 'committed');
      assert.deepEqual([doc.attempts, doc.retries, doc.sleeps, doc.slept_us], [5, 4, 5, 500]);
      assert.deepEqual(doc.kernel_calls.returns, ['EBUSY']);
      assert.equal(isCommitted(doc), true);
      assert.ok(
        doc.warnings.some((w: string) => /ignored the failed cache invalidation.*stale cache lines/.test(w)),
      );
      assertOneErrorLine(
        r,
        /committed, but the kernel ignored its failed cache invalidation \(EBUSY\): stale cache lines may remain/,
      );
    });

    test('a failed commit leaves the region configured, not decommitted (no provider, --force: ENXIO)', async () => {
      const profile = writeScratchFile('no-provider-region.json', {
        implements: { clean_inv_memregion: false },
      });
      const r = await emu([
        '--profile',
        profile,
        'invalidate',
        '--region',
        'region0',
        '--yes',
        '--force',
        '--json',
      ]);
      const doc = parseJson(r);
      assert.equal(doc.errno, 'ENXIO');
      assert.equal(doc.invalidation_errno, null);
      assert.equal(doc.status, 'configured');
      assertExit(r, EX.UNAVAILABLE);
    });

    test('--region together with <start> <size> → 64; --cycle without --region → 64', async () => {
      const [both, cycle] = await Promise.all([
        emu(['invalidate', '0x1000', '4K', '--region', 'region0', '--yes']),
        emu(['invalidate', '0x1000', '4K', '--cycle']),
      ]);
      assertRefused(both, EX.USAGE);
      assertRefused(cycle, EX.USAGE, /--cycle/);
    });
  });

  describe('erase', { concurrency: CONCURRENCY }, () => {
    test('erase mem0 --yes on a profile with sanitize_ms 200 → 0: state and elapsed time', async () => {
      const r = await emu(['--profile', labProfile(), 'erase', 'mem0', '--yes', '--json']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      const doc = parseJson(r);
      assertSnakeCaseKeys(doc);
      assert.equal(doc.backend, 'emulated');
      assert.equal(doc.profile, 'lab');
      assert.equal(doc.memdev, 'mem0');
      assert.equal(doc.method, 'sanitize');
      assert.equal(doc.ok, true);
      assert.equal(typeof doc.state, 'string');
      assert.notEqual(doc.state, 'sanitize', 'the sanitize has finished');
      assert.ok(
        Number.isInteger(doc.elapsed_ms) && doc.elapsed_ms >= 200,
        `elapsed_ms ${doc.elapsed_ms} covers sanitize_ms`,
      );
      assert.deepEqual(doc.regions, ['region0']);
    });

    test('--method secure-erase, human output', async () => {
      const r = await emu(['--profile', labProfile(), 'erase', 'mem0', '--method', 'secure-erase', '--yes']);
      assertExit(r, EX.OK);
      assert.match(r.stdout, /^✓ secure-erase of mem0 finished/);
      assert.equal(r.stderr, '');
    });

    test('--method secure-erase holds the write, as the kernel does: no sanitize state, no --timeout', async () => {
      // Only Sanitize runs in the background (drivers/cxl/pci.c); a --timeout shorter than the erase
      // applies to waiting for security/state, which a secure erase never sets to sanitize.
      const r = await emu([
        '--profile',
        labProfile(),
        '--json',
        'erase',
        'mem0',
        '--method',
        'secure-erase',
        '--timeout',
        '50ms',
        '--yes',
      ]);
      assertExit(r, EX.OK);
      const doc = parseJson(r);
      assert.equal(doc.ok, true);
      assert.equal(doc.state, 'disabled');
      assert.ok(doc.elapsed_ms >= 200, `elapsed_ms ${doc.elapsed_ms} covers the erase`);
    });

    test('a secure erase longer than the mailbox timeout (2 s) fails with ETIMEDOUT → 75', async () => {
      const slow = writeScratchFile('slow-erase.json', {
        name: 'slow-erase',
        regions: [
          { name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', sanitize_ms: 5000 },
        ],
      });
      const r = await emu(['--profile', slow, 'erase', 'mem0', '--method', 'secure-erase', '--yes']);
      assertRefused(r, EX.TEMP_FAIL, /ETIMEDOUT.*mailbox timeout/);
    });

    test("erase mem1, whose region is committed → refused with 75 (the kernel's EBUSY), nothing on stdout", async () => {
      assertRefused(await emu(['erase', 'mem1', '--yes']), EX.TEMP_FAIL, /committed/);
      assertRefused(
        await emu(['--profile', labProfile(), 'erase', 'mem1', '--yes', '--json']),
        EX.TEMP_FAIL,
        /region1/,
      );
    });

    test('erase without --yes and no TTY → 64 before anything is done', async () => {
      assertRefused(await emu(['--profile', labProfile(), 'erase', 'mem0', '--json']), EX.USAGE, /--yes/);
    });

    for (const name of ['../mem0', 'mem0/..', 'nvme0', 'mem', '']) {
      test(`erase ${JSON.stringify(name)} → 65`, async () => {
        assertRefused(await emu(['erase', name, '--yes']), EX.DATA_ERR, /not a memdev name/);
      });
    }

    test('an unknown memdev → 65', async () => {
      assertRefused(await emu(['erase', 'mem7', '--yes']), EX.DATA_ERR, /mem7/);
    });

    test('--method bogus → 64', async () => {
      assertRefused(await emu(['erase', 'mem0', '--method', 'bogus', '--yes']), EX.USAGE, /bogus/);
    });

    test('--timeout shorter than the sanitize → 75', async () => {
      assertRefused(
        await emu(['--profile', labProfile(), 'erase', 'mem0', '--yes', '--timeout', '50ms']),
        EX.TEMP_FAIL,
        /timed out/,
      );
    });

    test('no provider → 69 unless --force', async () => {
      const profile = writeScratchFile('no-provider.json', {
        implements: { clean_inv_memregion: false },
        regions: [{ name: 'region0', start: '0x4080000000', size: '4096', memdev: 'mem0', sanitize_ms: 10 }],
      });
      const [refused, forced] = await Promise.all([
        emu(['--profile', profile, 'erase', 'mem0', '--yes']),
        emu(['--profile', profile, 'erase', 'mem0', '--yes', '--force', '--json']),
      ]);
      assertRefused(refused, EX.UNAVAILABLE, /--force/);
      assertExit(forced, EX.OK);
      assert.equal(parseJson(forced).ok, true);
    });
  });

  describe('trace', { concurrency: CONCURRENCY }, () => {
    test("trace -- invalidate: the child's provider events, command_exit_code 0, exit 0", async () => {
      const { r, report, kinds, calls } = await traced(['invalidate', '0x80000000', '4K']);
      assertExit(r, EX.OK);
      assertSnakeCaseKeys(report);
      assert.equal(report.backend, 'emulated');
      assert.equal(report.command_exit_code, 0);
      assert.equal(calls.length, 1, describeResult(r));
      assert.equal(calls[0].status, 'SUCCESS');
      assert.equal(calls[0].start, '0x80000000');
      assert.equal(calls[0].size, '4096');
      const complete = kinds('complete');
      assert.equal(complete.length, 1);
      assert.equal(complete[0].errno, null);
      assert.equal(kinds('request').length, 1);
      assert.equal(kinds('registered').length, 1, 'the provider registration is an event');
      assert.ok(kinds('discovery').length >= 4, 'discovery steps are events');
      const pids = new Set(report.events.map((e: Doc) => e.pid));
      assert.equal(pids.size, 1, 'every event comes from the one child');
      assert.equal(report.summary.invalidations, 1);
      assert.equal(report.summary.errors, 0);
      // With --json the child's own output goes to stderr, never into the JSON document.
      assert.match(r.stderr, /invalidated 0x80000000/);
    });

    test("trace of a failing child (stuck) exits with the child's code 75; 5 BUSY calls and 5 sleeps", async () => {
      const { r, report, kinds, calls } = await traced([
        '--profile',
        'stuck',
        'invalidate',
        '0x80000000',
        '4K',
      ]);
      assertExit(r, EX.TEMP_FAIL);
      assert.equal(report.command_exit_code, EX.TEMP_FAIL);
      assert.equal(calls.length, 5);
      assert.ok(calls.every((c: Doc) => c.status === 'BUSY'));
      assert.deepEqual(
        calls.map((c: Doc) => c.attempt),
        [1, 2, 3, 4, 5],
      );
      assert.equal(kinds('sleep').length, 5);
      assert.equal(kinds('complete')[0].errno, 'EBUSY');
      assert.equal(report.summary.errors, 1);
    });

    test('trace shows the v1 variant sleeping only 4 times', async () => {
      const { r, kinds } = await traced([
        '--profile',
        'stuck',
        '--provider',
        'v1',
        'invalidate',
        '0x80000000',
        '4K',
      ]);
      assertExit(r, EX.TEMP_FAIL);
      assert.equal(kinds('firmware_call').length, 5);
      assert.equal(kinds('sleep').length, 4);
    });

    test('trace shows a dry run as a firmware call with the DRYRUN flag', async () => {
      const { r, calls } = await traced(['invalidate', '0x80000000', '4K', '--dry-run']);
      assertExit(r, EX.OK);
      assert.equal(calls.length, 1);
      assert.equal(calls[0].flags, 1);
    });

    test('trace shows coalesced requests (batched provider, stress on a global firmware)', async () => {
      const { r, report, kinds } = await traced([
        '--provider',
        'batched',
        'stress',
        '--virtual-time',
        '--ops',
        '64',
        '--workers',
        '8',
        '--seed',
        '1',
        '--json',
      ]);
      assertExit(r, EX.OK);
      assert.ok(kinds('coalesced').length > 0, 'coalesced events');
      assert.ok(kinds('firmware_call').length < 64);
      assert.equal(report.summary.invalidations, 64);
    });

    test("the traced command's exit code is passed through as it is", async () => {
      const r = await emu(['trace', '--json', '--', NODE, '-e', 'process.exit(3)']);
      assertExit(r, 3);
      const report = parseJson(r);
      assert.equal(report.command_exit_code, 3);
      assert.deepEqual(report.events, []);
    });

    test('trace --duration 200ms --json → 0 with an empty summary', async () => {
      const r = await emu(['trace', '--duration', '200ms', '--json']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      const report = parseJson(r);
      assert.equal(report.backend, 'emulated');
      assert.deepEqual(report.events, []);
      assert.deepEqual(report.summary, { invalidations: 0, errors: 0, latency_us: null });
      assert.equal(report.interrupted, false);
      assert.equal('command_exit_code' in report, false);
    });

    test('trace in human mode prints events live, then a summary', async () => {
      const r = await emu(['trace', '--', NODE, BIN, '-b', 'emulated', 'invalidate', '0x80000000', '4K']);
      assertExit(r, EX.OK);
      assert.match(r.stdout, /firmware_call .*status=SUCCESS/);
      assert.match(r.stdout, /trace summary/);
      assert.match(r.stdout, /invalidations\s+1/);
    });

    test('--duration together with a command → 64', async () => {
      assertRefused(await emu(['trace', '--duration', '1s', '--', 'true']), EX.USAGE, /--duration/);
    });

    // A command wrapper's codes, as env(1), timeout(1) and nice(1) give them: 69 would read as "no provider".
    test('a command that does not exist → 127, one line', async () => {
      assertRefused(
        await emu(['trace', '--json', '--', '/nonexistent/memregion-e2e']),
        127,
        /cannot run "\/nonexistent\/memregion-e2e": command not found/,
      );
    });

    test('a command that exists but cannot be executed → 126, one line', async () => {
      const notExecutable = writeScratchFile('not-executable', 'echo hi\n');
      assertRefused(
        await emu(['trace', '--json', '--', notExecutable]),
        126,
        /cannot run ".*not-executable": found but cannot be executed \(EACCES\)/,
      );
    });

    test('a command that a signal killed → 128 + the signal, and the report says which', async () => {
      const r = await emu(['trace', '--json', '--', 'sh', '-c', 'kill -TERM $$']);
      assertExit(r, 143);
      const doc = parseJson(r);
      assert.equal(doc.command_exit_code, 143);
      assert.equal(doc.command_signal, 'SIGTERM');
      assert.equal(doc.interrupted, false);
    });

    test('latency of a traced request covers its firmware call', async () => {
      const { calls, kinds } = await traced(['invalidate', '0x80000000', '4K']);
      const complete = kinds('complete')[0];
      assert.ok(
        complete.latency_us >= calls[0].duration_us,
        `latency_us ${complete.latency_us} < firmware call duration_us ${calls[0].duration_us}`,
      );
    });
  });
});

describe('stress --region on the emulated backend (the sysfs rules, cycles of a sacrificial region)', {
  concurrency: CONCURRENCY,
}, () => {
  test('cycles a committed, unused region: two invalidations of its range per request', async () => {
    const lab = labProfile();
    const r = await emu([
      '--profile',
      lab,
      '--seed',
      '5',
      'stress',
      '--region',
      'region1',
      '--cycles',
      '7',
      '--yes',
      '--json',
    ]);
    assertExit(r, EX.OK);
    const report = parseJson(r);
    assert.equal(report.region, 'region1');
    assert.equal(report.workers, 1, 'one region is in one state at a time');
    assert.equal(report.requests.completed, 7);
    assert.equal(report.firmware.calls, 14, 'decommit and commit each invalidate');
    assert.equal(report.coalescing, false);
  });

  test('--ops counts the cycles as --cycles does; both, or a --duration, are refused (64) before anything runs', async () => {
    const lab = labProfile();
    const r = await emu(['--profile', lab, 'stress', '--region', 'region1', '--ops', '3', '--yes', '--json']);
    assertExit(r, EX.OK);
    const report = parseJson(r);
    assert.equal(report.requests.completed, 3);
    assert.equal(report.firmware.calls, 6);
    assertRefused(
      await emu(['--profile', lab, 'stress', '--region', 'region1', '--ops', '3', '--cycles', '4', '--yes']),
      EX.USAGE,
      /--cycles and --ops both count the cycles of --region/,
    );
    assertRefused(
      await emu(['--profile', lab, 'stress', '--region', 'region1', '--duration', '1s', '--yes']),
      EX.USAGE,
      /not a --duration/,
    );
    assertRefused(
      await emu(['--profile', lab, 'stress', '--region', 'region1', '--ops', '0', '--yes']),
      EX.USAGE,
      /--ops/,
    );
  });

  test("a busy firmware: the retries of both invalidations count as the cycle's retries", async () => {
    const r = await emu([
      '--profile',
      'busy',
      '--seed',
      '3',
      'stress',
      '--region',
      'region1',
      '--cycles',
      '20',
      '--yes',
      '--json',
    ]);
    assertExit(r, EX.OK);
    const report = parseJson(r);
    const busy = report.firmware.by_status.BUSY ?? 0;
    assert.ok(busy > 0, 'the seed gives some BUSY answers');
    const exhausted = report.errors.EBUSY ?? 0;
    // Every BUSY answer is a retry, except the last answer of an invalidation that gave up.
    assert.equal(report.retries, busy - exhausted);
  });

  test('refusals: not committed 65, in use 75, no confirmation 64, bad name 65, no provider 69', async () => {
    const lab = labProfile();
    assertRefused(
      await emu(['--profile', lab, 'stress', '--region', 'region0', '--yes']),
      EX.DATA_ERR,
      /not committed/,
    );
    assertRefused(
      await emu(['--profile', lab, 'stress', '--region', 'region2', '--yes']),
      EX.TEMP_FAIL,
      /in use .*dax0\.0/,
    );
    assertRefused(await emu(['--profile', lab, 'stress', '--region', 'region1']), EX.USAGE, /--yes/);
    assertRefused(
      await emu(['--profile', lab, 'stress', '--region', '../region1', '--yes']),
      EX.DATA_ERR,
      /region name/,
    );
    assertRefused(
      await emu(['--profile', 'unsupported', 'stress', '--region', 'region1', '--yes']),
      EX.UNAVAILABLE,
    );
  });
});
