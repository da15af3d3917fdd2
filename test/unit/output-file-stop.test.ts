/**
 * A stop signal that comes while writeOutput is still following the target's links stops the write: it
 * is not "the report so far of a run it stopped" (that case is a signal aborted before the call). Seen
 * as a flaky e2e (hostile-collect-signals): collect's SIGHUP landed in that window and the FIFO write
 * then waited STOP_DRAIN_MS for a reader and said so, instead of stopping at once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { OutputInterrupted, writeOutput } from '../../src/core/output-file.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'memregion-output-stop-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** More than a pipe holds, so that a reader that takes nothing leaves the write waiting. */
const BIG = new Uint8Array(4 << 20);

describe('writeOutput: a signal during the link walk stops the write', () => {
  test('a FIFO nobody reads: stopped at once, 0 bytes, not the wait for a reader', async () => {
    const fifo = path.join(scratch, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const controller = new AbortController();
      const writing = writeOutput(fifo, BIG, undefined, controller.signal);
      controller.abort(); // after the call began, before its first await settled
      await assert.rejects(writing, (error: unknown) => {
        assert.ok(error instanceof OutputInterrupted, String(error));
        assert.match(
          error.message,
          /^interrupted: ".*fifo" got 0 of \d+ bytes \(written in place, as a shell's > would\)$/,
        );
        return true;
      });
    } finally {
      closeSync(reader);
    }
  });

  test('a new regular file: not created', async () => {
    const file = path.join(scratch, 'new.bin');
    const controller = new AbortController();
    const writing = writeOutput(file, BIG, undefined, controller.signal);
    controller.abort();
    await assert.rejects(writing, /interrupted: ".*new\.bin" not created/);
    assert.equal(existsSync(file), false);
    assert.deepEqual(
      readdirSync(scratch).filter((name) => name.includes('new.bin')),
      [],
    );
  });

  test('a signal aborted before the call is a report so far: written whole', async () => {
    const file = path.join(scratch, 'report.json');
    const controller = new AbortController();
    controller.abort();
    await writeOutput(file, new TextEncoder().encode('{"stopped":true}\n'), undefined, controller.signal);
    assert.equal(existsSync(file), true);
  });
});
