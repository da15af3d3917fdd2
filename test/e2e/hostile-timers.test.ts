/**
 * Session 6 hostile audit: durations past what a Node timer can hold. `stress --interval 600h --json`
 * (more than setInterval's 2^31 - 1 ms) printed Node's TimeoutOverflowWarning and then one interval line
 * every millisecond.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertExit, assertRefused, describeResult, emu } from '../helpers/cli.js';

describe('hostile durations (session 6)', () => {
  test('an --interval past what a timer can wait is refused, not turned into 1 ms', async () => {
    for (const args of [
      ['--json', 'stress', '--duration', '1s', '--workers', '1', '--interval', '600h'],
      [
        'stress',
        '--duration',
        '1s',
        '--workers',
        '1',
        '--interval',
        '99999999999999999999h',
        '--hdr-log',
        'x',
      ],
    ]) {
      const r = await emu(args, { timeoutMs: 20_000 });
      assertRefused(r, 64, /--interval "[^"]+" is too long \(at most 596h/);
    }
  });

  test('the longest --interval a timer can wait is still taken', async () => {
    const r = await emu(['--json', 'stress', '--ops', '20', '--workers', '1', '--interval', '596h'], {
      timeoutMs: 20_000,
    });
    assertExit(r, 0);
    assert.equal(r.stderr, '', describeResult(r));
    assert.equal(r.stdout.trim().split('\n').length, 1, describeResult(r));
  });
});
