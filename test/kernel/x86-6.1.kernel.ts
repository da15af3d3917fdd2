import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { labCacheDir } from '../../src/lab/cache.js';
import { debianKernel } from '../../src/lab/debian-kernel.js';
import { bootScenario, captureFixture, type Scenario, timing } from './scenario.js';

// Debian 12's Linux 6.1, booted with --kernel/--modules (any distribution's kernel works that way), on a
// CPU without the hypervisor bit: 6.1 has no cpu_cache_invalidate_memregion at all, and its CXL region
// commit invalidates nothing.
describe('x86_64 bare metal, Debian 12 Linux 6.1', () => {
  let s: Scenario;
  before(async () => {
    const kernel = await debianKernel({
      arch: 'x86_64',
      suite: 'bookworm',
      series: '6.1',
      cacheDir: labCacheDir(),
    });
    s = await bootScenario('x86-6.1', [
      '--cpu',
      'bare-metal',
      '--kernel',
      kernel.image,
      '--modules',
      kernel.modulesDir,
    ]);
    await captureFixture(path.join(s.out, 'tree-6.1'), 'x86-6.1-region-configured');
    console.log(timing('x86_64 6.1', s));
  });
  after(async () => {
    if (s) await rm(s.out, { recursive: true, force: true });
  });

  test('the kernel is 6.1 and has no cpu_cache_invalidate_memregion', async () => {
    assert.match(s.summary.kernel.release, /^6\.1\./);
    assert.equal(s.summary.command.exit_code, 0);
    assert.equal((await s.text('kallsyms.out')).trim(), '0');
  });

  test('probe: unsupported, naming the missing option, exit 69', async () => {
    assert.equal(await s.rc('probe'), 69);
    const probe = await s.json<{ verdict: string; reasons: string[] }>('probe');
    assert.equal(probe.verdict, 'unsupported');
    assert.match(probe.reasons[0] ?? '', /no CONFIG_ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION line/);
  });

  test('invalidate --region is refused (69); forced, the commit succeeds and memregion says nothing was invalidated (69)', async () => {
    assert.equal(await s.rc('refused'), 69);
    // Not the ENXIO of 7.2: on 6.1 the commit would go through, and the refusal says so.
    assert.match(
      await s.text('refused.err'),
      /no cpu_cache_invalidate_memregion .*goes through and invalidates nothing/,
    );
    assert.doesNotMatch(await s.text('refused.err'), /ENXIO/);
    assert.equal((await s.text('commit-after-force')).trim(), '1');
    assert.equal(await s.rc('force'), 69);
    const report = await s.json<{
      ok: boolean;
      errno: string | null;
      invalidated: boolean | null;
      status: string;
      warnings: string[];
    }>('force');
    assert.equal(report.status, 'committed');
    assert.equal(report.ok, false);
    assert.equal(report.errno, 'EOPNOTSUPP');
    assert.equal(report.invalidated, false);
    assert.ok(
      report.warnings.some((w) => /no cpu_cache_invalidate_memregion: nothing was invalidated/.test(w)),
    );
  });
});
