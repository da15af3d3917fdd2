/**
 * The emulated trace relay is passive (issue 7 findings 4, 16, and the trace half of 6): a stopped or
 * hostile listener never wedges another memregion process, sockets of killed sessions are removed by the
 * next trace, and a stopped trace removes its socket. And it is faithful: a writer held up at exit (a
 * loaded machine) still delivers what it emitted.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertExit, emu, NODE, ROOT, scratchDir, spawnCli } from '../helpers/cli.js';
import { spawnBounded } from '../helpers/spawn.js';
import { pollUntil, traceSocketFolder, traceSockets, waitUntil } from '../helpers/stop-run.js';

/** A TMPDIR whose trace socket folder exists already (0700, as a trace makes it), for sockets of our own. */
function socketFolderMadeAhead(label: string): { tmp: string; folder: string } {
  const tmp = scratchDir(label);
  const folder = traceSocketFolder(tmp);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  return { tmp, folder };
}

/** A listener on `socketPath` that keeps every line it receives. */
async function lineListener(socketPath: string): Promise<{ lines: string[]; close: () => Promise<void> }> {
  const lines: string[] = [];
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { lines, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * A writer that emits one event, starts its flush and is then held up for `holdMs` (busy, as a process on a
 * loaded machine that is not scheduled) before its event loop turns again.
 */
const heldUpWriter = (holdMs: number) => `
const { EventBus } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/backends/emulated/harness/events.js'))});
const { relayToTraceSessions } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/backends/emulated/harness/trace-relay.js'))});
const bus = new EventBus();
const close = relayToTraceSessions(bus);
bus.emit({ type: 'firmware_call', time_us: 1, seq: 1, start: '0x80000000', size: '4096', flags: 1 });
const closing = close();
for (const until = Date.now() + ${holdMs}; Date.now() < until; );
await closing;
`;

describe('emulated trace relay', () => {
  test('an event emitted just before exit arrives even when the writer is held up past the flush bound', async () => {
    const socketPath = path.join(scratchDir('held-up'), 'listener.sock');
    const listener = await lineListener(socketPath);
    try {
      const r = await spawnBounded(
        NODE,
        ['--input-type=module', '-e', heldUpWriter(300)],
        { env: { MEMREGION_TRACE_SOCKET: socketPath } },
        20_000,
      );
      assert.equal(r.exitCode, 0, r.stderr);
      await pollUntil(() => listener.lines.length > 0, 5_000);
      assert.equal(listener.lines.length, 1);
      assert.equal(JSON.parse(listener.lines[0]!).type, 'firmware_call');
    } finally {
      await listener.close();
    }
  });

  test('a stopped trace session does not wedge other emulated runs; SIGTERM then removes its socket', async () => {
    const tmp = scratchDir('relay');
    const trace = spawnCli(['-b', 'emulated', 'trace', '--duration', '60s'], { env: { TMPDIR: tmp } });
    await waitUntil(() => traceSockets(tmp).length === 1, 'the trace socket');
    trace.kill('SIGSTOP');
    try {
      const r = await emu(['--profile', 'busy', 'stress', '--virtual-time', '--ops', '5000'], {
        env: { TMPDIR: tmp },
        timeoutMs: 20_000,
      });
      assertExit(r, 0);
    } finally {
      trace.kill('SIGCONT');
    }
    trace.kill('SIGTERM');
    const done = await trace;
    assert.equal(done.exitCode === 143 || done.exitCode === 130, true, `exit ${done.exitCode}`);
    assert.deepEqual(traceSockets(tmp), [], 'the socket is removed');
  });

  test('a listener that accepts and never reads costs bounded memory and time: events are dropped', async () => {
    const { tmp, folder } = socketFolderMadeAhead('hostile');
    const held: net.Socket[] = [];
    const server = net.createServer((socket) => {
      socket.pause();
      held.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(path.join(folder, `${process.pid}.sock`), resolve));
    try {
      const r = await emu(['stress', '--virtual-time', '--ops', '20000', '--workers', '4'], {
        env: { TMPDIR: tmp },
        timeoutMs: 30_000,
      });
      assertExit(r, 0);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('sockets of a SIGKILLed trace are removed by the next trace, which says so', async () => {
    const { tmp, folder } = socketFolderMadeAhead('stale');
    // A process that listens on <its pid>.sock and is then killed, leaving the file behind.
    const child = spawnBounded(
      NODE,
      [
        '-e',
        `require('net').createServer().listen(require('path').join(${JSON.stringify(folder)}, process.pid + '.sock'), () => console.log('up'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    // Up, or gone without a word (then the socket check below says so rather than a wait forever).
    await Promise.race([new Promise<void>((resolve) => child.stdout!.once('data', () => resolve())), child]);
    child.kill('SIGKILL');
    await child;
    assert.deepEqual(traceSockets(tmp), [`${child.pid}.sock`]);
    const r = await emu(['trace', '--duration', '10ms'], { env: { TMPDIR: tmp } });
    assertExit(r, 0);
    assert.match(
      r.stderr,
      new RegExp(`removed .*${child.pid}\\.sock: left by trace process ${child.pid}, which is gone`),
    );
    assert.deepEqual(traceSockets(tmp), []);
  });
});
