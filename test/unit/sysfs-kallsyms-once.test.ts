import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { invalidateRegion } from '../../src/backends/sysfs/commit.js';
import { type ReadFailure, SysRoot } from '../../src/backends/sysfs/fs.js';
import { probeSysfs } from '../../src/backends/sysfs/probe.js';
import { silentLogger } from '../../src/core/log.js';
import { copyFixture } from './helpers/sysfs-fixture.js';

/** A root that counts how often kallsyms is read through it. */
class CountingRoot extends SysRoot {
  kallsymsReads = 0;
  override async stream(relative: string, consume: (chunk: Buffer, length: number) => boolean | undefined) {
    if (relative === 'proc/kallsyms') this.kallsymsReads += 1;
    return super.stream(relative, consume) as Promise<ReadFailure | null>;
  }
}

describe('a region commit reads kallsyms once', () => {
  test('6.1 (no cpu_cache_invalidate_memregion): tracing finds it absent, and the report says so from that one read', async () => {
    const fixture = copyFixture('kernels/x86-6.1-region-configured');
    try {
      // A tracefs with kprobe_events, so that tracing gets as far as looking for the function.
      mkdirSync(path.join(fixture.root, 'sys/kernel/tracing'), { recursive: true });
      writeFileSync(path.join(fixture.root, 'sys/kernel/tracing/kprobe_events'), '');
      const sys = new CountingRoot(fixture.root);
      const probed = await probeSysfs(sys, silentLogger, {});
      const afterProbe = sys.kallsymsReads;
      const report = await invalidateRegion(
        'region0',
        {
          dryRun: false,
          cycle: false,
          force: true,
          confirm: async () => true,
          signal: new AbortController().signal,
        },
        { sys, log: silentLogger, probe: async () => probed, trace: {} },
      );
      assert.equal(report.errno, 'EOPNOTSUPP', 'the commit went through and invalidated nothing');
      assert.equal(report.invalidated, false);
      // `reason` is on the untraced variant of kernel_calls only.
      const calls = report.kernel_calls;
      const reason = calls !== undefined && 'reason' in calls ? calls.reason : undefined;
      assert.match(reason ?? '', /has no cpu_cache_invalidate_memregion/);
      assert.equal(sys.kallsymsReads - afterProbe, 1, 'the commit flow read kallsyms once');
    } finally {
      fixture.cleanup();
    }
  });
});
