/**
 * Session 12 audit of the emulated backend's commands (stress, trace, profiles) as a hostile or careless
 * user drives them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ANSI,
  assertExit,
  assertRefused,
  BIN,
  describeResult,
  emu,
  finished,
  parseJson,
  scratchDir,
  spawnCli,
  writeScratchFile,
} from '../helpers/cli.js';

/**
 * A traced command that writes lines of its own to the trace socket, as any process of this user can:
 * a `complete` whose latency is text, one whose latency is not finite, a request with an escape
 * sequence in its range, and an event with a `pid` that is no pid.
 */
const FOREIGN_WRITER = `
const net = require('node:net');
const socket = net.createConnection(process.env.MEMREGION_TRACE_SOCKET);
const lines = [
  { pid: 4242, type: 'complete', time_us: 1, seq: 0, errno: null, attempts: 1, latency_us: 'abc' },
  { pid: 4242, type: 'complete', time_us: 1, seq: 1, errno: null, attempts: 1, latency_us: 1e400 },
  { pid: 4242, type: 'request', time_us: 1, seq: 2, start: '\\u001b[2J\\u001b]0;owned\\u0007', size: '4096', dry_run: false },
  { pid: 'x', type: 'sleep', time_us: 1, delay_us: 1, attempt: 1 },
];
socket.end(lines.map((line) => JSON.stringify(line) + '\\n').join(''));
socket.on('close', () => process.exit(0));
`;

describe('emulated trace: what other processes relay is checked (session 12)', () => {
  test('foreign lines of the wrong shape are ignored: exit 0 and one document, not an internal error (70)', async () => {
    const r = await emu(['--json', 'trace', '--', process.execPath, '-e', FOREIGN_WRITER]);
    assertExit(r, 0);
    const doc = parseJson(r);
    assert.deepEqual(doc.events, []);
    assert.equal(doc.summary.invalidations, 0);
    assert.equal(doc.command_exit_code, 0);
    assert.doesNotMatch(r.stderr, /internal error/);
  });

  test('the human trace shows no escape sequence from a foreign line', async () => {
    const r = await emu(['trace', '--', process.execPath, '-e', FOREIGN_WRITER]);
    assertExit(r, 0);
    assert.doesNotMatch(r.stdout, ANSI);
    assert.doesNotMatch(r.stdout, /\u001b/);
    assert.match(r.stdout, /invalidations\s+0/);
  });
});

describe('stress --hdr-log of many intervals (session 12)', () => {
  test('60,000 intervals fit in a 24 MB heap: the log is kept as bytes, not as a string per line', async () => {
    // Kept as strings, each ~80-byte line cost ~360 bytes of heap: a long run with a short --interval
    // ended in a V8 heap abort (134, a native stack on stderr) after its whole run, the log lost.
    const log = path.join(scratchDir('hdr-many'), 'run.hlog');
    const r = await emu(
      [
        'stress',
        '--virtual-time',
        '--workers',
        '1',
        '--duration',
        '1m',
        '--interval',
        '1ms',
        '--hdr-log',
        log,
      ],
      { env: { NODE_OPTIONS: '--max-old-space-size=24' }, timeoutMs: 120_000 },
    );
    assertExit(r, 0);
    assert.doesNotMatch(r.stderr, /FATAL|heap/);
    const intervals = readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => /^[0-9]/.test(line));
    assert.equal(intervals.length, 60_000);
  });
});

describe('stress --interval below its floor (session 12)', () => {
  test('the refusal quotes the interval as it was typed, not its value in milliseconds', async () => {
    // It said `--interval "0.0005" is below the floor of 1us` for --interval 0.5us.
    const r = await emu(['--json', 'stress', '--virtual-time', '--ops', '3', '--interval', '0.5us']);
    assertRefused(r, 64, /^memregion: --interval "0\.5us" is below the floor of 1us$/);
  });
});

describe('stress --cycles without --region (session 12)', () => {
  test('is refused (64) before the run, not dropped for a 5 s run of the default workload', async () => {
    const r = await emu(['--json', 'stress', '--virtual-time', '--cycles', '2']);
    assertRefused(r, 64, /--cycles counts the cycles of --region/);
  });

  test('--cycles with --region still counts the cycles', async () => {
    const r = await emu(['--json', 'stress', '--region', 'region1', '--cycles', '2', '--yes']);
    assertExit(r, 0);
    assert.equal(parseJson(r).requests.completed, 2);
  });
});

/** Resident memory of process `pid`, in MiB (Linux /proc). */
const rssMiB = (pid: number): number =>
  Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('stress --json --interval into a pipe nobody reads (session 12)', () => {
  for (const provider of ['v2', 'rfc']) {
    test(`${provider}: the run waits for the reader, its memory stays put, SIGTERM still ends it (143)`, async () => {
      // Each line was queued in memory whatever the reader took: 40 MB more a second, without end.
      const fifo = path.join(scratchDir('deaf'), 'lines');
      execFileSync('mkfifo', [fifo]);
      // Read-write, so that opening does not wait for a writer; never read: the pipe fills up.
      const held = openSync(fifo, constants.O_RDWR);
      try {
        const args = ['-b', 'emulated', '--provider', provider, '--json', 'stress', '--virtual-time'];
        const child = spawnCli([...args, '--duration', '1h', '--interval', '1us', '--workers', '4'], {
          stdout: held,
          timeoutMs: 60_000,
        });
        await sleep(2000);
        const before = rssMiB(child.pid!);
        await sleep(3000);
        const after = rssMiB(child.pid!);
        child.kill('SIGTERM');
        const r = await finished(child, args.join(' '));
        assert.ok(after - before < 30, `grew from ${before} to ${after} MiB in 3 s\n${describeResult(r)}`);
        assertExit(r, 143);
      } finally {
        closeSync(held);
      }
    });
  }
});

describe('trace into a pipe nobody reads (session 12)', () => {
  test('the live event lines stop piling up in memory; the summary still counts every event; SIGINT: 130', async () => {
    // Every relayed event was queued on stdout whatever the reader took: 28 MB more a second.
    const fifo = path.join(scratchDir('deaf-trace'), 'events');
    execFileSync('mkfifo', [fifo]);
    const held = openSync(fifo, constants.O_RDWR);
    try {
      const traced = [
        BIN,
        '-b',
        'emulated',
        'stress',
        '--virtual-time',
        '--duration',
        '1h',
        '--workers',
        '4',
      ];
      const child = spawnCli(['-b', 'emulated', 'trace', '--', process.execPath, ...traced], {
        stdout: held,
        timeoutMs: 60_000,
      });
      await sleep(2500);
      const before = rssMiB(child.pid!);
      await sleep(3000);
      const after = rssMiB(child.pid!);
      child.kill('SIGINT');
      const r = await finished(child, 'memregion -b emulated trace -- memregion stress ...');
      assert.ok(after - before < 30, `grew from ${before} to ${after} MiB in 3 s\n${describeResult(r)}`);
      assertExit(r, 130);
      assert.match(r.stderr, /^memregion: warning: \d+ trace events not shown: stdout did not keep up/m);
    } finally {
      closeSync(held);
    }
  });
});

describe('a profile file that is not UTF-8 (session 12)', () => {
  test('is refused (65) saying so, not shown with U+FFFD in its name', async () => {
    const file = writeScratchFile('latin1.json', '');
    writeFileSync(file, Buffer.from('{"name":"caf\xe9"}', 'latin1'));
    const r = await emu(['--profile', file, 'probe']);
    assertRefused(r, 65, /is not valid UTF-8/);
  });

  test('a valid UTF-8 name, U+FFFD itself included, is still taken', async () => {
    const file = writeScratchFile('utf8.json', { name: 'café \ufffd' });
    const r = await emu(['--json', '--profile', file, 'probe']);
    assertExit(r, 0);
    assert.equal(parseJson(r).profile, 'café \ufffd');
  });
});
