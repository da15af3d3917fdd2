/**
 * Every command's output honours the first stop signal as collect's does (session 8). With a reader that
 * does not read, `--output FIFO` ignored the first Ctrl-C (only a second one ended the run); a full pipe
 * on stdout that a signal cut short ended with exit 0; the report so far of a run a signal stopped waited
 * forever for a FIFO nobody reads. Now: 128 + the signal, one line saying how much was written.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { BIN, describeResult, NODE, parseJson, scratchDir, writeScratchFile } from '../helpers/cli.js';
import { backendUp, type StoppedResult, stopRun, waitUntil } from '../helpers/stop-run.js';

const BOUND = { timeoutMs: 30_000 };
/** A guard against hangs only: a stopped run needs a fraction of it. */
const STOP_BOUND_MS = 5000;

/** A profile with so many regions that `regions --json` is more than a pipe holds (about 1 MiB). */
function manyRegionsProfile(): string {
  const regions = Array.from({ length: 1500 }, (_, i) => ({
    name: `region${i}`,
    start: `0x${(0x40_8000_0000 + i * 0x4000_0000).toString(16)}`,
    size: '0x40000000',
    memdev: `mem${i}`,
  }));
  return writeScratchFile('many-regions.json', { name: 'many', regions });
}

/** A FIFO that a reader holds open and never reads: writes fill the pipe and then wait. */
function deafFifo(): { fifo: string; fd: number; close: () => void } {
  const fifo = path.join(scratchDir('fifo'), 'report');
  execFileSync('mkfifo', [fifo]);
  // Read-write: opening does not wait for a writer, and the pipe never sees its reader go.
  const fd = openSync(fifo, constants.O_RDWR);
  return { fifo, fd, close: () => closeSync(fd) };
}

function assertStopped(r: StoppedResult, code: number, line: RegExp): void {
  assert.equal(r.exitCode, code, describeResult(r));
  assert.ok(r.stopMs < STOP_BOUND_MS, `stopped after ${r.stopMs} ms\n${describeResult(r)}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !/^memregion: (debug|info): /.test(l));
  assert.deepEqual(
    lines.map((l) => /^memregion: (interrupted|terminated|hangup): stopping/.test(l)),
    [true, false],
    `the stopping notice, then one line\n${describeResult(r)}`,
  );
  assert.match(lines[1]!, line, describeResult(r));
  assert.doesNotMatch(r.stderr, /^\s+at |internal error/m);
}

describe('output honours the first stop signal, whatever the command (session 8)', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`regions --output FIFO that nobody reads, ${signal}: ${code} at once, saying how much it took`, async () => {
      const { fifo, close } = deafFifo();
      try {
        const r = await stopRun(
          ['-b', 'emulated', '-v', '--profile', manyRegionsProfile(), '--json', 'regions', '--output', fifo],
          signal,
          backendUp(500),
          BOUND,
        );
        assertStopped(
          r,
          code,
          /^memregion: interrupted: ".*report" got \d+ of \d+ bytes.* as a shell's > would\)$/,
        );
        assert.ok(existsSync(fifo), 'a FIFO is never removed');
      } finally {
        close();
      }
    });
  }

  test('stdout a full pipe nobody reads, SIGTERM: 143 (it was 0), one line', async () => {
    const { fd, close } = deafFifo();
    try {
      const r = await stopRun(
        ['-b', 'emulated', '-v', '--profile', manyRegionsProfile(), '--json', 'regions'],
        'SIGTERM',
        backendUp(500),
        { ...BOUND, stdout: fd },
      );
      assertStopped(r, 143, /^memregion: interrupted: the output on stdout is incomplete$/);
    } finally {
      close();
    }
  });

  test('the report so far of a stopped trace, to a FIFO nobody reads: 130, not a wait for a second signal', async () => {
    const { fifo, close } = deafFifo();
    const done = path.join(scratchDir('mark'), 'stress-done');
    // The traced stress sends thousands of events (megabytes of report); then its shell waits to be stopped.
    const script = `"${NODE}" "${BIN}" -b emulated stress --ops 3000 --workers 4 >/dev/null 2>&1; : > "${done}"; sleep 60`;
    try {
      const r = await stopRun(
        ['-b', 'emulated', '--json', 'trace', '--output', fifo, '--', 'sh', '-c', script],
        'SIGINT',
        () => waitUntil(() => existsSync(done), 'the traced stress to finish'),
        BOUND,
      );
      assertStopped(
        r,
        130,
        /^memregion: interrupted: ".*report" got \d+ of \d+ bytes: its reader took nothing for \d+ ms after the stop signal/,
      );
    } finally {
      close();
    }
  });

  test('the report so far still replaces a regular --output file after a signal', async () => {
    const out = path.join(scratchDir('out'), 'stress.json');
    writeFileSync(out, 'the report of yesterday');
    const r = await stopRun(
      ['-b', 'emulated', '-v', '--json', 'stress', '--duration', '60s', '--output', out],
      'SIGINT',
      backendUp(300),
      BOUND,
    );
    assert.equal(r.exitCode, 130, describeResult(r));
    assert.equal(r.stdout, '');
    assert.equal(parseJson({ ...r, stdout: readFileSync(out, 'utf8') }).interrupted, true);
  });
});
