/**
 * Issue 7, findings 1, 6 and 8: a signal stops every long-running command promptly. SIGINT, SIGTERM and
 * SIGHUP are handled alike: the report so far is printed (one JSON document with --json), what the
 * command created is removed, and the exit code is 128 + the signal (130, 143, 129). A second signal
 * exits at once. The bounds below guard against hangs; they are far above what a run needs.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertOneErrorLine,
  type CliResult,
  describeResult,
  parseJson,
  scratchDir,
  spawnCli,
  writeScratchFile,
} from '../helpers/cli.js';

const CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type StopSignal = keyof typeof CODES;

/** How long a stopped run may take to exit: a guard against hangs (the requirement is about 1 s). */
const STOP_BOUND_MS = 3000;

interface Stopped extends CliResult {
  /** Milliseconds from the signal to the exit. */
  stopMs: number;
}

/** Spawns memregion, waits until `ready` says it is running, sends `signal`, and collects the result. */
async function stopRun(
  args: string[],
  signal: StopSignal,
  ready: () => Promise<void>,
  env: Record<string, string> = {},
): Promise<Stopped> {
  const child = spawnCli(args, { env, timeoutMs: 30_000 });
  await ready();
  const sent = performance.now();
  child.kill(signal);
  const result = await child;
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    command: `memregion ${args.join(' ')} (${signal})`,
    stopMs: performance.now() - sent,
  };
}

const after = (ms: number) => () => sleep(ms).then(() => {});

/** stderr holds the "stopping" notice and nothing else that is not a `memregion: ` line. */
function assertStderrPrefixed(r: CliResult): void {
  for (const line of r.stderr.split('\n').filter((l) => l !== ''))
    assert.match(line, /^memregion: /, describeResult(r));
}

describe('signals stop a run: report printed, exit 128 + signal (issue 7 finding 6)', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    test(`stress --json, ${signal}: the interrupted report, exit ${CODES[signal]}`, async () => {
      const r = await stopRun(
        ['-b', 'emulated', '--json', 'stress', '--duration', '60s'],
        signal,
        after(800),
      );
      assert.equal(r.exitCode, CODES[signal], describeResult(r));
      assert.equal(parseJson(r).interrupted, true);
      assertStderrPrefixed(r);
      assert.ok(r.stopMs < STOP_BOUND_MS, `stopped after ${r.stopMs} ms\n${describeResult(r)}`);
    });
  }

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`trace --json (emulated), ${signal}: the report, exit ${CODES[signal]}, its socket removed`, async () => {
      const tmp = scratchDir('trace-tmp');
      const folder = path.join(tmp, `memregion-trace-${process.getuid?.() ?? 0}`);
      const socketExists = () => existsSync(folder) && readdirSync(folder).some((f) => f.endsWith('.sock'));
      const r = await stopRun(
        ['-b', 'emulated', '--json', 'trace'],
        signal,
        async () => {
          for (let i = 0; i < 200 && !socketExists(); i++) await sleep(25);
        },
        { TMPDIR: tmp },
      );
      assert.equal(r.exitCode, CODES[signal], describeResult(r));
      assert.equal(parseJson(r).interrupted, true);
      assert.equal(socketExists(), false, 'the trace socket is removed');
      assertStderrPrefixed(r);
    });
  }

  test('erase --json (emulated), SIGHUP: exit 129, one error line', async () => {
    const profile = writeScratchFile('slow.json', {
      regions: [
        { name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', sanitize_ms: 60_000 },
      ],
    });
    const r = await stopRun(
      ['-b', 'emulated', '--profile', profile, '--json', 'erase', 'mem0', '--yes'],
      'SIGHUP',
      after(800),
    );
    assert.equal(r.exitCode, 129, describeResult(r));
    assertStderrPrefixed(r);
    assert.ok(r.stopMs < STOP_BOUND_MS, `stopped after ${r.stopMs} ms\n${describeResult(r)}`);
  });

  test('a second signal exits at once, without waiting for the traced command', async () => {
    // The traced command ignores SIGTERM, so the first Ctrl-C waits for it to be killed; the second
    // does not wait: no report, exit 130.
    const args = [
      '-b',
      'emulated',
      '--json',
      'trace',
      '--',
      'sh',
      '-c',
      'exec >/dev/null 2>&1; trap "" TERM; sleep 4',
    ];
    const child = spawnCli(args, { timeoutMs: 30_000 });
    await sleep(800);
    child.kill('SIGINT');
    await sleep(200);
    child.kill('SIGINT');
    const result = await child;
    const r: CliResult = {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      command: `memregion ${args.join(' ')} (SIGINT twice)`,
    };
    assert.equal(r.exitCode, 130, describeResult(r));
    assert.equal(r.stdout, '', `no report after the second signal\n${describeResult(r)}`);
    assertOneErrorLine(r, /interrupted: stopping/);
  });
});
