/**
 * Session 7: an emulated firmware call of hours. The built-in `range` profile charges per_gib_us for each
 * GiB, so `invalidate 0 15E` is a call of about two years on the real clock. It warned
 * TimeoutOverflowWarning (the real clock's one setTimeout cannot hold it and fired after 1 ms), then spun
 * at full CPU in its wait, deaf to the first SIGINT or SIGTERM. Now it waits quietly and the first signal
 * ends it with 128 + the signal and one line. A profile's call time is bounded (u32 µs, like latency_us):
 * 1e308 made the sums infinite.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertRefused, cli, describeResult, parseJson, writeScratchFile } from '../helpers/cli.js';
import { backendUp, stopRun } from '../helpers/stop-run.js';

const BOUND = { timeoutMs: 30_000 };
/** A guard against hangs only. */
const STOP_BOUND_MS = 5000;

describe('an emulated firmware call of hours (session 7)', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`range profile, invalidate 0 15E --json, ${signal}: ${code} at once, no timer warning, nothing on stdout`, async () => {
      const r = await stopRun(
        ['-b', 'emulated', '-v', '--profile', 'range', '--json', 'invalidate', '0', '15E'],
        signal,
        backendUp(300),
        BOUND,
      );
      assert.equal(r.exitedBeforeSignal, false, describeResult(r));
      assert.equal(r.exitCode, code, describeResult(r));
      assert.ok(r.stopMs < STOP_BOUND_MS, `stopped after ${r.stopMs} ms\n${describeResult(r)}`);
      assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning|warning/, describeResult(r));
      assert.match(
        r.stderr,
        /^memregion: interrupted: the invalidation had not finished \(its result is unknown\)$/m,
      );
      assert.doesNotMatch(r.stderr, /^\s+at |internal error/m);
      assert.equal(r.stdout, '', 'no document for a call that did not end');
    });
  }

  test('timing.call_us and per_gib_us above 2^32-1 µs, or 1e308, are refused (65) naming the key', async () => {
    for (const timing of [{ call_us: 1e308 }, { call_us: 2 ** 32 }, { per_gib_us: 1e300 }]) {
      const profile = writeScratchFile('slow.json', { timing });
      const r = await cli(['-b', 'emulated', '--profile', profile, 'invalidate', '0', '4K'], BOUND);
      assertRefused(r, 65, new RegExp(`timing\\.${Object.keys(timing)[0]}: `));
    }
  });
});

/** Regions whose commit (and decommit) firmware call takes ten minutes: region0 configured, region1 committed. */
const slowCommitProfile = () =>
  writeScratchFile('slow-commit.json', {
    timing: { call_us: 600_000_000 },
    regions: [
      { name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', sanitize_ms: 50 },
      {
        name: 'region1',
        start: '0x4100000000',
        size: '0x40000000',
        memdev: 'mem1',
        sanitize_ms: 50,
        committed: true,
      },
    ],
  });

describe('a region flow whose commit call takes minutes stops at the first signal (session 8)', () => {
  const cases = [
    {
      args: ['invalidate', '--region', 'region0', '--yes'],
      signal: 'SIGINT',
      code: 130,
      line: /^memregion: interrupted: the commit \(region0\/commit <- 1, which invalidates the range\) had not returned: whether region0 is committed, and its caches invalidated, is unknown/m,
    },
    {
      args: ['invalidate', '--region', 'region1', '--cycle', '--yes'],
      signal: 'SIGTERM',
      code: 143,
      line: /^memregion: interrupted: the decommit \(region1\/commit <- 0, which invalidates the range on teardown\) had not returned: whether region1 is still committed is unknown/m,
    },
    {
      args: ['erase', '--region', 'region0', '--recommit', '--yes'],
      signal: 'SIGINT',
      code: 130,
      line: /^memregion: interrupted: the commit \(region0\/commit <- 1, which invalidates the range\) had not returned/m,
    },
    {
      args: ['erase', '--region', 'region1', '--yes'],
      signal: 'SIGHUP',
      code: 129,
      line: /^memregion: interrupted: the decommit \(region1\/commit <- 0, which invalidates the range on teardown\) had not returned/m,
    },
  ] as const;
  for (const { args, signal, code, line } of cases) {
    test(`${args.join(' ')} --json, ${signal}: ${code} at once, the step and the state, the report so far`, async () => {
      const r = await stopRun(
        ['-b', 'emulated', '-v', '--profile', slowCommitProfile(), '--json', ...args],
        signal,
        backendUp(500),
        BOUND,
      );
      assert.equal(r.exitedBeforeSignal, false, describeResult(r));
      assert.equal(r.exitCode, code, describeResult(r));
      assert.ok(r.stopMs < STOP_BOUND_MS, `stopped after ${r.stopMs} ms\n${describeResult(r)}`);
      assert.match(r.stderr, line, describeResult(r));
      assert.doesNotMatch(r.stderr, /^\s+at |internal error/m);
      const doc = parseJson(r);
      assert.equal(doc.ok, false);
      if (args[0] === 'erase') assert.equal(doc.outcome, 'interrupted');
      else assert.equal(doc.interrupted, true);
    });
  }
});
