/** probeVerdict: the verdict of the full probe from only the evidence the verdict needs. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { probeSysfs, probeVerdict } from '../../src/backends/sysfs/probe.js';
import { silentLogger } from '../../src/core/log.js';
import { FIXTURES } from './helpers/sysfs-fixture.js';
import { FIXTURE_TREES, TouchingRoot } from './helpers/touching-root.js';

const noJournal = { journal: async () => null };

describe('probeVerdict', () => {
  for (const tree of FIXTURE_TREES) {
    test(`${tree}: same verdict, reasons, provider and needs_privileges as the full probe`, async () => {
      const root = path.join(FIXTURES, tree);
      const fullReport = await probeSysfs(new SysRoot(root), silentLogger, noJournal);
      const sys = new TouchingRoot(root);
      const verdict = await probeVerdict(sys, silentLogger, noJournal);
      for (const key of [
        'backend',
        'supported',
        'verdict',
        'reasons',
        'provider',
        'needs_privileges',
        'smccc',
      ] as const)
        assert.deepEqual(verdict[key], fullReport[key], key);
      if (fullReport.verdict !== 'unknown') {
        // Never needed for a verdict: SOC_ID, lockdown, tracefs.
        for (const never of ['sys/kernel/security/lockdown', 'sys/kernel/tracing/kprobe_events'])
          assert.ok(!sys.touched.has(never), `${never} is not read`);
        if (fullReport.kernel.arch === 'x86_64')
          for (const skipped of ['proc/kallsyms', 'dev/kmsg'])
            assert.ok(!sys.touched.has(skipped), `${skipped} is not read on x86`);
      }
    });
  }
});
