/**
 * Issue 7 on the sysfs trace: a duration past setTimeout's limit (finding 7), and kprobe groups that a
 * SIGKILLed memregion left behind (finding 16), on the fake kernel tracefs.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { runTrace } from '../../src/backends/sysfs/trace-run.js';
import { silentLogger } from '../../src/core/log.js';
import { FakeKernelTracefs } from './helpers/fake-tracefs.js';
import { copyFixture } from './helpers/sysfs-fixture.js';

let fixture: { root: string; cleanup: () => void };
let tracefs: FakeKernelTracefs;
const target = () => ({ tracefs, providers: [], warnings: [] });

beforeEach(() => {
  fixture = copyFixture('cxl');
  tracefs = new FakeKernelTracefs(new SysRoot(fixture.root));
});
afterEach(() => fixture.cleanup());

describe('sysfs trace --duration past the timer limit (finding 7)', () => {
  it('600 h: runs until stopped, no TimeoutOverflowWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const started = performance.now();
      const run = runTrace(
        new SysRoot(fixture.root),
        silentLogger,
        { durationMs: 600 * 3_600_000, signal: controller.signal },
        { target: target(), group: 'memregion_long', pollMs: 10 },
      );
      setTimeout(() => controller.abort(), 300);
      const report = await run;
      assert.equal(report.interrupted, true, 'it ran until the abort, not for 1 ms');
      assert.ok(performance.now() - started >= 250);
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
