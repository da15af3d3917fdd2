import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { invalidateRegion } from '../../src/backends/sysfs/commit.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { commitWithoutProvider, requireProvider } from '../../src/backends/sysfs/guard.js';
import { probeSysfs, probeVerdict } from '../../src/backends/sysfs/probe.js';
import type { ProbeReport, RegionCommitFacts } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { copyFixture, FIXTURES } from './helpers/sysfs-fixture.js';

// What a region commit does without a provider depends on the kernel: the no-provider refusal says what
// this one would do, from the probe's evidence (trees captured from the real kernels, and one built tree).
const probeOf = (tree: string) => probeSysfs(new SysRoot(path.join(FIXTURES, tree)), silentLogger, {});

const bare = (release: string): ProbeReport => ({
  backend: 'sysfs',
  supported: false,
  verdict: 'unsupported',
  smccc: { version: null, conduit: null },
  functions: { clean_inv_memregion: null, attributes: null },
  attributes: null,
  provider: { registered: false },
  reasons: ['no provider'],
  kernel: { release, arch: 'x86_64' },
});

describe('the no-provider refusal says what this kernel would do with the commit', () => {
  test('Linux 7.2 (captured x86 guest): ENXIO, the WARN and the taint', async () => {
    const text = commitWithoutProvider(await probeOf('kernels/x86-guest-region-configured'));
    assert.match(
      text,
      /fails the region commit with ENXIO and WARNs "Failed to synchronize CPU cache state"/,
    );
  });

  test('Linux 6.1 (captured): no cpu_cache_invalidate_memregion, so the commit goes through and invalidates nothing', async () => {
    const text = commitWithoutProvider(await probeOf('kernels/x86-6.1-region-configured'));
    assert.match(
      text,
      /no cpu_cache_invalidate_memregion \(Linux before 6\.2\): the commit goes through and invalidates nothing/,
    );
    assert.doesNotMatch(text, /ENXIO/);
  });

  test('CONFIG_CXL_REGION_INVALIDATION_TEST: the kernel skips the invalidation and commits', async () => {
    const text = commitWithoutProvider(await probeOf('machines/arm64-test-bypass'));
    assert.match(
      text,
      /CONFIG_CXL_REGION_INVALIDATION_TEST: the commit goes through and the kernel skips the invalidation/,
    );
  });

  test('without kallsyms or config evidence, the release decides (before 6.2: no invalidation function)', () => {
    assert.match(commitWithoutProvider(bare('6.1.0-50-amd64')), /invalidates nothing/);
    assert.match(commitWithoutProvider(bare('5.15.0')), /invalidates nothing/);
    assert.match(commitWithoutProvider(bare('6.2.0')), /ENXIO/);
    assert.match(commitWithoutProvider(bare('7.2.13+deb14-amd64')), /ENXIO/);
  });

  test('an explicit reason (erase) is kept, with --force as a warning', async () => {
    const warning = await requireProvider(
      async () => bare('6.1.0'),
      true,
      silentLogger,
      'sanitize mem0',
      'why',
    );
    assert.match(
      warning ?? '',
      /--force: writing although the probe verdict is "unsupported" \(no provider\); why$/,
    );
  });

  test('invalidate --region on the captured 6.1 tree: refused (69), naming what 6.1 would do, nothing written', async () => {
    const fixture = copyFixture('kernels/x86-6.1-region-configured');
    try {
      const sys = new SysRoot(fixture.root);
      const deps = {
        sys,
        log: silentLogger,
        probe: () => probeSysfs(sys, silentLogger, {}),
        trace: false as const,
      };
      const options = {
        dryRun: false,
        cycle: false,
        force: false,
        confirm: async () => true,
        signal: new AbortController().signal,
      };
      await assert.rejects(
        invalidateRegion('region0', options, deps),
        (e: { exitCode: number; message: string }) => {
          assert.equal(e.exitCode, 69);
          assert.match(
            e.message,
            /^refusing to write region0\/commit: .*goes through and invalidates nothing \(use --force/,
          );
          return true;
        },
      );
      assert.equal(await sys.value('sys/bus/cxl/devices/region0/commit'), '0');
    } finally {
      fixture.cleanup();
    }
  });
});

describe('the no-provider outcome comes from the facts the probe gathered, not from its wording', () => {
  const ENXIO = /fails the region commit with ENXIO/;
  const NOTHING = /no cpu_cache_invalidate_memregion \(Linux before 6\.2\)/;
  const BYPASS = /built with CONFIG_CXL_REGION_INVALIDATION_TEST/;

  test('the probe carries the facts: captured 6.1 (x86) has neither the symbol nor the option', async () => {
    const report = await probeOf('kernels/x86-6.1-region-configured');
    assert.deepEqual(report.region_commit, {
      invalidate_symbol: false,
      arch_has_invalidate: false,
      invalidation_test: false,
      bypass_logged: false,
    });
    const bypass = await probeOf('machines/arm64-test-bypass');
    assert.deepEqual(bypass.region_commit, {
      invalidate_symbol: true,
      arch_has_invalidate: true,
      invalidation_test: true,
      bypass_logged: true,
    });
  });

  test('evidence reworded (a config file named otherwise, the symbol mentioned as missing): same outcomes', async () => {
    for (const [tree, expected] of [
      ['kernels/x86-6.1-region-configured', NOTHING],
      ['kernels/x86-guest-region-configured', ENXIO],
      ['machines/arm64-test-bypass', BYPASS],
    ] as const) {
      const report = await probeOf(tree);
      report.evidence = report.evidence.map((e) =>
        e.source.endsWith('/kallsyms')
          ? { ...e, detail: 'cpu_cache_invalidate_memregion: not listed' }
          : /config/.test(e.source)
            ? { ...e, source: '/boot/kernel.config', detail: 'options as built' }
            : e,
      );
      assert.match(commitWithoutProvider(report), expected, tree);
    }
  });

  test('arm64 6.12 without the framework: the header stub says "no provider", so the commit fails (ENXIO), full probe or not', async () => {
    // include/linux/memregion.h without CONFIG_ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION: an inline stub
    // (no kallsyms entry) whose cpu_cache_has_invalidate_memregion() is false; region.c still checks it.
    const sys = new SysRoot(path.join(FIXTURES, 'machines/arm64-no-framework'));
    const full = await probeSysfs(sys, silentLogger, {});
    const verdictOnly = await probeVerdict(sys, silentLogger, {});
    assert.equal(full.region_commit?.invalidate_symbol, false);
    assert.match(commitWithoutProvider(full), ENXIO);
    assert.match(commitWithoutProvider(verdictOnly), ENXIO);
  });

  /** A partial probe document with only the kernel and the facts (null: that source was not read). */
  const withFacts = (release: string, facts: Partial<RegionCommitFacts>, arch = 'x86_64') => ({
    ...bare(release),
    kernel: { release, arch },
    region_commit: {
      invalidate_symbol: null,
      arch_has_invalidate: null,
      invalidation_test: null,
      bypass_logged: null,
      ...facts,
    },
  });

  test('a release before 6.2 with the symbol (a distribution backport) checks for a provider: ENXIO', () => {
    const report = withFacts('5.14.0-427.el9.x86_64', { invalidate_symbol: true });
    assert.match(commitWithoutProvider(report), ENXIO);
  });

  test('the kernel log alone (config unreadable) shows the test bypass', () => {
    assert.match(commitWithoutProvider(withFacts('6.19.0', { bypass_logged: true })), BYPASS);
  });

  test('on x86 a readable config without the option means a kernel before the API, whatever the release says', () => {
    const facts = { arch_has_invalidate: false, invalidation_test: false };
    assert.match(commitWithoutProvider(withFacts('6.8.0-custom', facts)), NOTHING);
    assert.match(commitWithoutProvider(withFacts('6.8.0-custom', facts, 'aarch64')), ENXIO);
  });
});
