/**
 * Issue 7, finding 5: output that cannot be written is never a silent success. A stdout write error other
 * than EPIPE ends the run with 74 and one line (a reader that goes away, EPIPE, stays the quiet 74: see
 * interval.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertOneErrorLine, cliToFile, describeResult } from '../helpers/cli.js';

/** Runs memregion with its stdout on /dev/full itself (the descriptor, as `> /dev/full` gives it). */
const toDevFull = (args: string[]) => cliToFile('/dev/full', args, { timeoutMs: 30_000 });

describe('stdout write errors (issue 7 finding 5)', () => {
  test('probe > /dev/full: exit 74, one line naming ENOSPC', async () => {
    const r = await toDevFull(['-b', 'emulated', 'probe']);
    assert.equal(r.exitCode, 74, describeResult(r));
    assertOneErrorLine(r, /stdout.*ENOSPC/);
  });

  test('--json probe > /dev/full: exit 74, one line', async () => {
    const r = await toDevFull(['-b', 'emulated', '--json', 'probe']);
    assert.equal(r.exitCode, 74, describeResult(r));
    assertOneErrorLine(r, /ENOSPC/);
  });
});
