/**
 * `collect` honours a stop signal where it is (session 7): it went on to the end of its archive and only
 * then exited 130/143, and with a reader that did not read (a full pipe on stdout, a FIFO as --output) it
 * did not stop at all until the reader went away or a second signal came. Now the first signal ends it
 * promptly with 128 + the signal and one line saying what became of the output, and nothing collect itself
 * would have created is left: a new --output file is not created, an old one is left as it was.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  cpSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { describeResult, ROOT, scratchDir } from '../helpers/cli.js';
import { type StoppedResult, stopRun, waitUntil } from '../helpers/stop-run.js';

const BOUND = { timeoutMs: 30_000 };
/** A guard against hangs only: a stopped collect needs a fraction of it. */
const STOP_BOUND_MS = 5000;

/**
 * A copy of a fixture machine with a big proc/kallsyms of random text, so that the archive is megabytes
 * (more than any pipe holds) and packing it takes a while: a signal finds collect at work.
 */
function bigTree(): string {
  const root = path.join(scratchDir('big-tree'), 'root');
  cpSync(path.join(ROOT, 'test/fixtures/machines/arm64-registered'), root, { recursive: true });
  writeFileSync(path.join(root, 'proc/kallsyms'), randomBytes(12 * 1024 * 1024).toString('base64'));
  return root;
}

/** Ready once collect lays out its archive (its staging folder is in the private TMPDIR). */
const packing = (tmp: string) => () =>
  waitUntil(
    () => readdirSync(tmp).some((name) => name.startsWith('memregion-collect-')),
    'collect to start packing',
  );

/** Ready once collect has packed its archive (the staging folder came and went): it is writing it. */
const packed = (tmp: string) => async () => {
  await packing(tmp)();
  await waitUntil(() => readdirSync(tmp).length === 0, 'collect to finish packing');
};

function assertStopped(r: StoppedResult, code: number, line: RegExp): void {
  assert.equal(r.exitCode, code, describeResult(r));
  assert.ok(r.stopMs < STOP_BOUND_MS, `stopped after ${r.stopMs} ms\n${describeResult(r)}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 2, `the stopping notice and one line\n${describeResult(r)}`);
  assert.match(lines[0]!, /^memregion: (interrupted|terminated|hangup): stopping/);
  assert.match(lines[1]!, line, describeResult(r));
  assert.doesNotMatch(r.stderr, /^\s+at |internal error/m);
}

describe('collect stops at the first signal, leaving nothing it made (session 7)', () => {
  test('--output NEW.tar.gz, SIGINT while packing: 130, the file not created, the staging folder gone', async () => {
    const tmp = scratchDir('tmp');
    const out = path.join(scratchDir('out'), 'evidence.tar.gz');
    const r = await stopRun(['collect', '--root', bigTree(), '--output', out], 'SIGINT', packing(tmp), {
      ...BOUND,
      env: { TMPDIR: tmp },
    });
    assert.equal(r.exitedBeforeSignal, false, describeResult(r));
    assertStopped(r, 130, /^memregion: interrupted: no archive written$/);
    assert.deepEqual(readdirSync(path.dirname(out)), [], 'no archive and no temporary file');
    assert.deepEqual(readdirSync(tmp), [], 'the staging folder is removed');
  });

  test('--output OLD.tar.gz, SIGTERM while packing: 143, the old file as it was', async () => {
    const tmp = scratchDir('tmp');
    const out = path.join(scratchDir('out'), 'evidence.tar.gz');
    writeFileSync(out, 'the archive of yesterday');
    const r = await stopRun(['collect', '--root', bigTree(), '--output', out], 'SIGTERM', packing(tmp), {
      ...BOUND,
      env: { TMPDIR: tmp },
    });
    assertStopped(r, 143, /^memregion: interrupted: no archive written$/);
    assert.equal(readFileSync(out, 'utf8'), 'the archive of yesterday');
    assert.deepEqual(readdirSync(path.dirname(out)), ['evidence.tar.gz']);
  });

  test('stdout a full pipe nobody reads, SIGTERM: 143 at once (it waited for the reader)', async () => {
    const tmp = scratchDir('tmp');
    const fifo = path.join(scratchDir('fifo'), 'pipe');
    execFileSync('mkfifo', [fifo]);
    // Read-write, so that opening does not wait for a writer; never read: the pipe fills up.
    const held = openSync(fifo, constants.O_RDWR);
    try {
      const r = await stopRun(['collect', '--root', bigTree()], 'SIGTERM', packed(tmp), {
        ...BOUND,
        env: { TMPDIR: tmp },
        stdout: held,
      });
      assertStopped(r, 143, /^memregion: interrupted: the archive on stdout is incomplete$/);
    } finally {
      closeSync(held);
    }
  });

  test('--output FIFO whose reader does not read, SIGHUP: 129 at once, saying how much it took', async () => {
    const tmp = scratchDir('tmp');
    const fifo = path.join(scratchDir('fifo'), 'archive');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const r = await stopRun(['collect', '--root', bigTree(), '--output', fifo], 'SIGHUP', packed(tmp), {
        ...BOUND,
        env: { TMPDIR: tmp },
      });
      assertStopped(
        r,
        129,
        /^memregion: interrupted: ".*archive" got \d+ of \d+ bytes \(written in place, as a shell's > would\)$/,
      );
      assert.ok(existsSync(fifo), 'a FIFO is never removed');
    } finally {
      closeSync(reader);
    }
  });
});
