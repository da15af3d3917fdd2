/**
 * Issue 7 on the sysfs trace: a duration past setTimeout's limit (finding 7), and kprobe groups that a
 * SIGKILLed memregion left behind (finding 16), on the fake kernel tracefs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { runTrace } from '../../src/backends/sysfs/trace-run.js';
import { createLogger, silentLogger } from '../../src/core/log.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { FakeKernelTracefs } from './helpers/fake-tracefs.js';

let tracefs: FakeKernelTracefs;
const target = () => ({ tracefs, providers: [], warnings: [] });

const fixture = fixtureEachTest('cxl', {
  setUp: (tree) => {
    tracefs = new FakeKernelTracefs(new SysRoot(tree.root));
  },
});

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

/** A pid that no longer runs: a child that has exited (and was reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(String(child.stdout));
}

/** What a memregion trace session leaves when SIGKILL stops it: its probes, its instance, enabled. */
async function leaveSession(group: string): Promise<void> {
  await tracefs.appendProbe(`p:${group}/inv cpu_cache_invalidate_memregion start=$arg1:x64 len=$arg2:u64`);
  await tracefs.appendProbe(`r:${group}/inv_ret cpu_cache_invalidate_memregion ret=$retval:s32`);
  await tracefs.mkdir(`instances/${group}`);
  await tracefs.write(`instances/${group}/events/${group}/enable`, '1');
}

describe('kprobe groups left by a SIGKILLed memregion (finding 16)', () => {
  it('the next trace removes the groups of dead memregion pids, says so, and leaves the others', async () => {
    const dead = `memregion_${deadPid()}`;
    const alive = `memregion_${process.ppid}`;
    await leaveSession(dead);
    await leaveSession(alive);
    await tracefs.appendProbe('p:other_tool/probe cpu_cache_invalidate_memregion');
    const lines: string[] = [];
    const log = createLogger('normal', (line) => lines.push(line));
    const controller = new AbortController();
    controller.abort();
    await runTrace(
      new SysRoot(fixture.root),
      log,
      { durationMs: 10, signal: controller.signal },
      { target: target(), group: 'memregion_new', pollMs: 5 },
    );
    const live = [...tracefs.live()].sort();
    assert.deepEqual(live, [`${alive}/inv`, `${alive}/inv_ret`, 'other_tool/probe']);
    assert.equal(existsSync(tracefs.path(`instances/${dead}`)), false, 'its tracing instance is gone');
    assert.equal(existsSync(tracefs.path(`instances/${alive}`)), true);
    assert.equal(lines.length, 1, lines.join(''));
    assert.match(
      lines[0]!,
      new RegExp(
        `^memregion: warning: removed kprobe group ${dead}, left behind by memregion pid \\d+, which no longer runs\\n$`,
      ),
    );
  });

  it('nothing to remove: nothing said', async () => {
    const lines: string[] = [];
    const controller = new AbortController();
    controller.abort();
    await runTrace(
      new SysRoot(fixture.root),
      createLogger('normal', (line) => lines.push(line)),
      { durationMs: 10, signal: controller.signal },
      { target: target(), group: 'memregion_new', pollMs: 5 },
    );
    assert.deepEqual(lines, []);
    assert.deepEqual([...tracefs.live()], []);
  });
});
