/**
 * Issue 7, finding 7: `trace --duration` takes long durations (past setTimeout's 2^31 ms), refuses 0,
 * and nothing reaches stderr without the `memregion: ` prefix (Node's TimeoutOverflowWarning did). The
 * sysfs side is in test/unit/sysfs-trace-hostile.test.ts (it needs the fake kernel tracefs).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertRefused, cli, describeResult, emu, parseJson, scratchDir, spawnCli } from '../helpers/cli.js';

/** Runs `args`, checks it is still running after `ms` (a trace that ended early fails here), then SIGTERM. */
async function stillRunningThenStop(
  args: string[],
  ready: () => Promise<void>,
  env: Record<string, string> = {},
) {
  const child = spawnCli(args, { env, timeoutMs: 30_000 });
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  await ready();
  await sleep(500);
  const runningBeforeStop = !exited;
  child.kill('SIGTERM');
  const result = await child;
  return {
    runningBeforeStop,
    r: {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      command: `memregion ${args.join(' ')}`,
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await sleep(25);
}

describe('trace --duration (issue 7 finding 7)', () => {
  test('emulated: --duration 600h runs until stopped, no warning on stderr', async () => {
    const tmp = scratchDir('trace-long');
    const folder = path.join(tmp, `memregion-trace-${process.getuid?.() ?? 0}`);
    const { runningBeforeStop, r } = await stillRunningThenStop(
      ['-b', 'emulated', '--json', 'trace', '--duration', '600h'],
      () => until(() => existsSync(folder) && readdirSync(folder).length > 0),
      { TMPDIR: tmp },
    );
    assert.ok(runningBeforeStop, `the trace ended on its own\n${describeResult(r)}`);
    assert.equal(r.exitCode, 143, describeResult(r));
    assert.equal(parseJson(r).interrupted, true);
    assert.equal(r.stderr, 'memregion: terminated: stopping (again to quit at once)\n', describeResult(r));
  });

  test('--duration 0 is refused (64), as for stress', async () => {
    assertRefused(await emu(['trace', '--duration', '0']), 64, /--duration/);
    assertRefused(await cli(['trace', '--duration', '0s']), 64, /--duration/);
  });
});
