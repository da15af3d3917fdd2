/**
 * `erase <memdev>` gives the same document and the same refusals on both backends: the report so far of a
 * timed-out or interrupted erase carries `next_step` (where to watch the operation that keeps running),
 * and a device that refuses the erase write (the emulated profile's `erase_errors`, the kernel's errno on
 * sysfs) is the same one-line error with the same exit code.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EmulatedBackend } from '../../src/backends/emulated/index.js';
import type { RegionSpec } from '../../src/backends/emulated/profiles.js';
import { MEMDEV_ERASE_CONSEQUENCE } from '../../src/backends/region-erase.js';
import { eraseMemdev } from '../../src/backends/sysfs/erase.js';
import type { EraseOptions, Verdict } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { profileWith, virtualBackendOptions } from '../helpers/emulation.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { errnoError } from './helpers/recording-root.js';
import { eraseOptions } from './helpers/refusal.js';
import { fakeProbe } from './helpers/sysfs-fixture.js';

const fixture = fixtureEachTest('cxl');

const options = (over: Partial<EraseOptions> = {}) => eraseOptions({ timeoutMs: 30, ...over });

/** mem1, free in the CXL fixture tree; on the emulated backend the only memdev of an uncommitted region. */
const emulatedWith = (spec: Partial<RegionSpec> = {}, profile = 'global') =>
  EmulatedBackend.create(
    virtualBackendOptions,
    profileWith(
      {
        regions: [
          {
            name: 'region1',
            start: 0x40_8000_0000n,
            size: 0x4000_0000n,
            memdev: 'mem1',
            sanitize_ms: 60_000,
            committed: false,
            locked: false,
            used_by: [],
            ...spec,
          },
        ],
      },
      profile,
    ),
  );

/** The error of a run that must fail, with its `partial` report. */
async function failureOf(run: Promise<unknown>) {
  try {
    await run;
  } catch (error) {
    return error as { exitCode: number; message: string; partial?: Record<string, unknown> };
  }
  assert.fail('the erase did not fail');
}

const sysfsDeps = (verdict: Verdict = 'supported') => ({
  sys: fixture.sys,
  log: silentLogger,
  probe: fakeProbe(verdict),
  pollMs: 5,
});

describe('erase <memdev>: one shape on both backends', () => {
  it('a timed-out erase: the same fields, next_step naming where to watch', async () => {
    // The kernel's part: the sanitize starts and never ends.
    fixture.sys.hook = (file) => {
      if (file.endsWith('mem1/security/sanitize'))
        writeFileSync(path.join(fixture.root, 'sys/bus/cxl/devices/mem1/security/state'), 'sanitize\n');
    };
    const onSysfs = await failureOf(eraseMemdev('mem1', options(), sysfsDeps()));
    const backend = await emulatedWith();
    const onEmulated = await failureOf(backend.erase('mem1', options()));
    await backend.close();
    assert.equal(onEmulated.exitCode, onSysfs.exitCode);
    const sysfsPartial = onSysfs.partial!;
    const emulatedPartial = onEmulated.partial!;
    assert.deepEqual(Object.keys(emulatedPartial).sort(), [...Object.keys(sysfsPartial), 'profile'].sort());
    assert.equal(
      emulatedPartial['next_step'],
      "the kernel's sanitize keeps running: watch mem1/security/state",
    );
    assert.equal(emulatedPartial['outcome'], 'timeout');
  });

  it('an interrupted erase has next_step too', async () => {
    const backend = await emulatedWith();
    const controller = new AbortController();
    controller.abort();
    const failure = await failureOf(
      backend.erase('mem1', options({ timeoutMs: 60_000, signal: controller.signal })),
    );
    await backend.close();
    assert.equal(failure.exitCode, 130);
    assert.equal(failure.partial?.['outcome'], 'interrupted');
    assert.equal(
      failure.partial?.['next_step'],
      "the kernel's sanitize keeps running: watch mem1/security/state",
    );
  });

  for (const errno of ['EBUSY', 'EIO', 'EPERM']) {
    it(`a device that refuses the write with ${errno}: the same error on both, and the emulated sanitize never starts`, async () => {
      fixture.sys.hook = (file) => {
        if (file.endsWith('mem1/security/sanitize')) throw errnoError(errno);
      };
      const onSysfs = await failureOf(eraseMemdev('mem1', options(), sysfsDeps()));
      const backend = await emulatedWith({ erase_errors: { mem1: errno } });
      const onEmulated = await failureOf(backend.erase('mem1', options()));
      const regions = await backend.regions();
      await backend.close();
      assert.deepEqual(
        { exitCode: onEmulated.exitCode, message: onEmulated.message },
        { exitCode: onSysfs.exitCode, message: onSysfs.message },
      );
      assert.equal(onSysfs.partial, undefined);
      assert.equal(onEmulated.partial, undefined);
      const mem1 = regions.regions.find((r) => r.name === 'mem1') as { security_state: string };
      assert.equal(mem1.security_state, 'disabled');
    });
  }

  it('no provider: the same rule and words (69), --force writes with the same warning, no answer is 64', async () => {
    const onSysfs = await failureOf(eraseMemdev('mem1', options(), sysfsDeps('unsupported')));
    const backend = await emulatedWith({ sanitize_ms: 1 }, 'unsupported');
    const onEmulated = await failureOf(backend.erase('mem1', options()));
    const tail = `; ${MEMDEV_ERASE_CONSEQUENCE} (use --force to write anyway)`;
    for (const failure of [onSysfs, onEmulated]) {
      assert.equal(failure.exitCode, 69, failure.message);
      assert.ok(failure.message.startsWith('refusing to sanitize mem1: '), failure.message);
      assert.ok(failure.message.endsWith(tail), failure.message);
    }
    const forced = await backend.erase('mem1', options({ force: true, timeoutMs: 60_000 }));
    assert.equal(forced.ok, true);
    assert.match(
      forced.warnings[0] ?? '',
      /^--force: writing although no cache invalidation provider is registered/,
    );
    const cancelled = [
      await failureOf(eraseMemdev('mem1', options({ confirm: async () => false }), sysfsDeps())),
      await failureOf(backend.erase('mem1', options({ force: true, confirm: async () => false }))),
    ];
    await backend.close();
    assert.deepEqual(
      cancelled.map((e) => [e.exitCode, e.message]),
      [
        [64, 'cancelled'],
        [64, 'cancelled'],
      ],
    );
  });
});
