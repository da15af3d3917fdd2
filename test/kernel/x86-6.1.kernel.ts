import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { labCacheDir } from '../../src/lab/cache.js';
import { debianKernel } from '../../src/lab/debian-kernel.js';
import { bootScenario, type Scenario, timing } from './scenario.js';

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

  test('invalidate --region is refused (69) and, forced, does not claim an invalidation', async () => {
    assert.equal(await s.rc('refused'), 69);
    const rc = await s.rc('force');
    const report = await s.json<{
      ok: boolean;
      kernel_calls: { count: number | null; reason?: string };
      warnings: string[];
    }>('force');
    assert.equal((await s.text('commit-after-force')).trim(), '1');
    assert.equal(rc, 0);
    assert.notEqual(report.kernel_calls.count, 1);
    assert.ok(
      report.warnings.some((w) => /no cpu_cache_invalidate_memregion|nothing was invalidated/i.test(w)),
    );
  });
});
