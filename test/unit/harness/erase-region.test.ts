/**
 * `erase --region` on the emulated backend (region-erase.ts with the emulated primitives), on the
 * virtual clock: the order of the steps, one wait for every memdev, the region left decommitted when a
 * device fails, and the recommit's invalidation outcome as `invalidate --region` reports it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eraseRegion } from '../../../src/api.js';
import { EmulatedBackend } from '../../../src/backends/emulated/index.js';
import type { ProfileOverrides } from '../../../src/backends/emulated/profiles.js';
import { regionEraseExitCode } from '../../../src/backends/region-erase.js';
import type { RegionEraseOptions } from '../../../src/backends/types.js';
import { profileWith, virtualBackendOptions } from '../../helpers/emulation.js';
import { refusal } from '../helpers/refusal.js';

/** region0: 2-way over mem0 (1 s) and mem1 (3 s), committed; region1 on mem2 and region2 on mem1. */
const topology = (over: ProfileOverrides['regions'] = undefined): ProfileOverrides => ({
  regions: over ?? [
    {
      name: 'region0',
      start: 0x40_8000_0000n,
      size: 0x8000_0000n,
      memdevs: ['mem0', 'mem1'],
      sanitize_ms: 1000,
      committed: true,
      locked: false,
      used_by: [],
    },
    {
      name: 'region1',
      start: 0x41_0000_0000n,
      size: 0x4000_0000n,
      memdev: 'mem2',
      sanitize_ms: 3000,
      committed: true,
      locked: false,
      used_by: ['dax1.0'],
    },
  ],
});

async function backendWith(overrides: ProfileOverrides = topology(), base = 'global') {
  return EmulatedBackend.create(virtualBackendOptions, profileWith(overrides, base));
}

function eraseOptions(over: Partial<RegionEraseOptions> = {}) {
  const questions: string[] = [];
  const options: RegionEraseOptions = {
    method: 'sanitize',
    recommit: false,
    timeoutMs: 60_000,
    force: false,
    confirm: async (q) => {
      questions.push(q);
      return true;
    },
    signal: new AbortController().signal,
    ...over,
  };
  return { options, questions };
}

const partialOf = async (run: Promise<unknown>) => {
  try {
    await run;
  } catch (error) {
    return error as { exitCode: number; message: string; partial?: Record<string, unknown> };
  }
  assert.fail('the erase did not fail');
};

describe('erase --region on the emulated backend', () => {
  test('one question naming every device by name and serial, before anything changes', async () => {
    const backend = await backendWith();
    const { options, questions } = eraseOptions({
      confirm: async (q) => {
        questions.push(q);
        assert.equal(backend.regionState[0]!.kernel.committed, true, 'nothing written before the answer');
        return true;
      },
    });
    await backend.eraseRegion('region0', options);
    assert.deepEqual(questions, [
      'Sanitize region0 (mem0 serial 0x1000, mem1 serial 0x1001)? It is decommitted first, then all data on these 2 devices is destroyed.',
    ]);
  });

  test('decommits, erases both memdevs at once and waits once: each done after its own time', async () => {
    const backend = await backendWith();
    const progress: Array<Record<string, string>> = [];
    const { options } = eraseOptions({ onProgress: (states) => progress.push(states) });
    const report = await backend.eraseRegion('region0', options);
    assert.equal(report.ok, true);
    assert.equal(report.outcome, 'done');
    assert.equal(report.decommitted, true);
    assert.equal(report.status, 'decommitted');
    assert.deepEqual([report.erased, report.failed], [2, 0]);
    assert.deepEqual(
      report.memdevs.map((m) => [m.memdev, m.serial, m.ok, m.state, m.error]),
      [
        ['mem0', '0x1000', true, 'disabled', null],
        ['mem1', '0x1001', true, 'disabled', null],
      ],
    );
    // Both sanitizes ran at once: the whole wait is one sanitize long, not two.
    assert.ok(report.elapsed_ms >= 1000 && report.elapsed_ms < 2000, String(report.elapsed_ms));
    assert.deepEqual(progress[0], { mem0: 'sanitize', mem1: 'sanitize' });
    assert.equal(backend.regionState[0]!.kernel.committed, false);
    assert.equal(backend.regionState[0]!.needsInvalidation, true, 'the next commit must invalidate');
    assert.equal(report.commit, null);
    assert.match(report.next_step, /commit region0 again.*invalidate --region region0/);
    assert.equal(regionEraseExitCode(report), 0);
  });

  test('--recommit commits again and binds the driver the decommit released, as the sysfs flow does', async () => {
    const backend = await backendWith();
    const report = await backend.eraseRegion('region0', eraseOptions({ recommit: true }).options);
    assert.equal(report.ok, true);
    assert.equal(report.status, 'committed');
    assert.deepEqual(report.commit?.plan, ['commit <- 1', 'bind cxl_region']);
    assert.deepEqual(
      report.commit?.steps.map((s) => [s.file, s.value, s.ok]),
      [
        ['region0/commit', '1', true],
        ['drivers/cxl_region/bind', 'region0', true],
      ],
    );
    assert.equal(backend.regionState[0]!.kernel.driver, 'cxl_region');
    assert.deepEqual(
      [report.commit?.ok, report.commit?.invalidated, report.commit?.invalidation_errno],
      [true, true, null],
    );
    assert.equal(backend.regionState[0]!.kernel.committed, true);
    assert.equal(backend.regionState[0]!.needsInvalidation, false);
    assert.match(report.next_step, /the kernel invalidated CPU caches for its range/);
  });

  test('--recommit on a stuck firmware: the kernel commits anyway; ok false, invalidation_errno EBUSY, exit 75', async () => {
    const backend = await backendWith(topology(), 'stuck');
    const report = await backend.eraseRegion('region0', eraseOptions({ recommit: true }).options);
    assert.equal(report.status, 'committed');
    assert.equal(report.ok, false);
    assert.equal(report.outcome, 'failed');
    assert.equal(report.invalidation_errno, 'EBUSY');
    assert.equal(report.errno, 'EBUSY');
    assert.ok(
      report.warnings.some((w) => /ignored the failed cache invalidation.*stale cache lines/.test(w)),
    );
    assert.match(report.next_step, /--cycle/);
    assert.equal(regionEraseExitCode(report), 75);
  });

  test('a device that refuses still lets the other finish; the region is left decommitted and not recommitted', async () => {
    const regions = topology().regions!;
    const backend = await backendWith({
      regions: [{ ...regions[0]!, erase_errors: { mem0: 'EIO' } }, regions[1]!],
    });
    const report = await backend.eraseRegion('region0', eraseOptions({ recommit: true }).options);
    assert.equal(report.ok, false);
    assert.equal(report.outcome, 'failed');
    assert.equal(report.errno, 'EIO');
    assert.deepEqual(
      report.memdevs.map((m) => [m.memdev, m.ok, m.error]),
      [
        ['mem0', false, 'EIO'],
        ['mem1', true, null],
      ],
    );
    assert.ok(report.memdevs[1]!.elapsed_ms >= 1000, 'mem1 was waited for');
    assert.deepEqual([report.erased, report.failed], [1, 1]);
    assert.equal(report.commit, null, 'no recommit after a failed device');
    assert.equal(report.status, 'decommitted');
    assert.equal(backend.regionState[0]!.kernel.committed, false);
    assert.ok(
      report.warnings.some((w) => /region0 is left decommitted: the sanitize of mem0 \(EIO\) failed/.test(w)),
    );
    assert.equal(regionEraseExitCode(report), 74);
  });

  test('a timeout reports the wait so far (75); the region stays decommitted', async () => {
    const backend = await backendWith();
    const error = await partialOf(backend.eraseRegion('region0', eraseOptions({ timeoutMs: 500 }).options));
    assert.equal(error.exitCode, 75);
    assert.match(error.message, /timed out.*mem0, mem1.*keeps running.*region0 is left decommitted/);
    assert.equal(error.partial?.['outcome'], 'timeout');
    assert.equal(error.partial?.['ok'], false);
    assert.equal(error.partial?.['status'], 'decommitted');
    assert.deepEqual(
      (error.partial!['memdevs'] as Array<{ state: string; error: string }>).map((m) => [m.state, m.error]),
      [
        ['sanitize', 'timeout'],
        ['sanitize', 'timeout'],
      ],
    );
  });

  test('an interruption (Ctrl-C) stops the wait: 130 with the report so far', async () => {
    const backend = await backendWith();
    const controller = new AbortController();
    const { options } = eraseOptions({
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    const error = await partialOf(backend.eraseRegion('region0', options));
    assert.equal(error.exitCode, 130);
    assert.equal(error.partial?.['outcome'], 'interrupted');
  });
});

describe('erase --region refusals, before anything is written', () => {
  const unchanged = (backend: EmulatedBackend) => {
    assert.equal(backend.regionState[0]!.kernel.committed, true);
    assert.equal(backend.sanitizing.size, 0);
  };

  test('a region in use (75), a memdev that also decodes another committed region (75)', async () => {
    const backend = await backendWith();
    await assert.rejects(
      backend.eraseRegion('region1', eraseOptions().options),
      refusal(75, /in use \(dax1\.0 is bound to kmem\)/),
    );
    const shared = await backendWith({
      regions: [
        ...topology().regions!,
        {
          name: 'region2',
          start: 0x42_0000_0000n,
          size: 0x1000n,
          memdev: 'mem1',
          sanitize_ms: 1,
          committed: true,
          locked: false,
          used_by: [],
        },
      ],
    });
    await assert.rejects(
      shared.eraseRegion('region0', eraseOptions().options),
      refusal(75, /mem1 also decodes region2.*EBUSY.*decommit the other regions first/),
    );
    unchanged(shared);
  });

  test('no provider: 69 before the confirmation is asked; --force erases with a warning', async () => {
    const noProvider: ProfileOverrides = { ...topology(), implements: { clean_inv_memregion: -1n } };
    const backend = await backendWith(noProvider);
    const { options, questions } = eraseOptions();
    await assert.rejects(
      backend.eraseRegion('region0', options),
      refusal(69, /no cache invalidation provider.*--force/),
    );
    assert.equal(questions.length, 0);
    unchanged(backend);
    const forced = await (await backendWith(noProvider)).eraseRegion(
      'region0',
      eraseOptions({ force: true }).options,
    );
    assert.equal(forced.ok, true);
    assert.match(forced.warnings[0]!, /^--force/);
  });

  test('a refused confirmation (64) changes nothing', async () => {
    const backend = await backendWith();
    await assert.rejects(
      backend.eraseRegion('region0', eraseOptions({ confirm: async () => false }).options),
      refusal(64, /^cancelled$/),
    );
    unchanged(backend);
  });

  test('bad and unknown region names (65)', async () => {
    const backend = await backendWith();
    await assert.rejects(
      backend.eraseRegion('../region0', eraseOptions().options),
      refusal(65, /not a region name/),
    );
    await assert.rejects(
      backend.eraseRegion('region9', eraseOptions().options),
      refusal(65, /no region named region9/),
    );
  });
});

describe('eraseRegion() in the library API', () => {
  test('bad options are usage errors before any work; the default confirmation refuses (64)', async () => {
    const backend = await backendWith();
    assert.throws(
      () => eraseRegion(backend, { region: 'region0', method: 'shred' as 'sanitize' }),
      refusal(64, /unknown method "shred"/),
    );
    assert.throws(() => eraseRegion(backend, { region: 'region0', timeoutMs: 0 }), refusal(64, /timeout/));
    await assert.rejects(eraseRegion(backend, { region: 'region0' }), refusal(64, /^cancelled$/));
    assert.equal(backend.regionState[0]!.kernel.committed, true);
    const report = await eraseRegion(backend, {
      region: 'region0',
      recommit: true,
      confirm: async () => true,
    });
    assert.deepEqual([report.ok, report.erased, report.status], [true, 2, 'committed']);
  });
});
