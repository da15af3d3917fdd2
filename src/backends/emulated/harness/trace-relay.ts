import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, MemregionError } from '../../../core/errors.js';
import type { Logger } from '../../../core/log.js';
import type { EventBus, ProviderEvent } from './events.js';
import { relayedEvent } from './relayed-event.js';

/**
 * The emulated counterpart of tracefs: a `trace` session listens on a socket in a per-user folder, and
 * every emulated backend that starts while it runs (this process or another) streams its provider
 * events there as JSON lines. `trace -- command` points its child at its own socket through
 * MEMREGION_TRACE_SOCKET.
 *
 * Tracing is passive: a listener that is slow, stopped, dead or hostile costs a traced process at most
 * FLUSH_STALL_MS at exit and WRITER_BUFFER_BYTES per socket; events that do not fit are dropped and counted.
 */
export const TRACE_SOCKET_ENV = 'MEMREGION_TRACE_SOCKET';

/**
 * How long a writer's flush at exit may go without progress before it gives up on a socket. A unix
 * socket connects at once (the kernel queues the connection even for a stopped listener) or fails at once,
 * and its writes go into the kernel's buffer, where they stay readable after the writer exits: only a
 * listener that does not read and lets that buffer fill can hold a writer up, and then for this long.
 */
export const FLUSH_STALL_MS = 100;
/**
 * A safety net for the connection's callback, which the event loop delivers on its next turn: the bound
 * must not count time in which this process was not running (a loaded machine), or a flush would throw
 * away events that were never the listener's fault (the lost event of a traced `--dry-run` under load).
 */
const CONNECT_LIMIT_MS = 5000;
/** How often a flush looks at its progress. */
const FLUSH_STEP_MS = 10;
/** Bytes a writer may have queued for one socket; past that, events are dropped. */
export const WRITER_BUFFER_BYTES = 256 * 1024;
/** Sessions a writer relays to at most. */
const MAX_SESSIONS = 16;

/** Microseconds since the epoch, comparable between the processes of one machine. */
export const wallClockUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

/**
 * The longest path a unix socket address holds (sun_path is 108 bytes with its NUL). libuv cuts a longer
 * one short without a word, so a socket would be made, or reached, at another path: a listener in the
 * folder above its private one (a shared /tmp), a writer talking to whoever listens there.
 */
const MAX_SOCKET_PATH_BYTES = 107;

const fitsSocketAddress = (socketPath: string): boolean =>
  Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH_BYTES;

export function traceFolder(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  // Absolute even for a relative TMPDIR: the socket path is handed to a traced command with its own cwd.
  return path.resolve(os.tmpdir(), `memregion-trace-${uid}`);
}

/** The folder, if it is a real directory of ours that nobody else can write: else no tracing through it. */
function trustedFolder(folder: string): boolean {
  try {
    const info = lstatSync(folder);
    const uid = typeof process.getuid === 'function' ? process.getuid() : info.uid;
    return info.isDirectory() && info.uid === uid && (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

const SOCKET_NAME = /^([1-9][0-9]*)\.sock$/;

/** Whether process `pid` exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sockets in the folder whose owner (the pid in the name) is gone: left by a killed `trace`. */
export function staleSockets(folder = traceFolder()): string[] {
  if (!trustedFolder(folder)) return [];
  try {
    return readdirSync(folder).filter((name) => {
      const match = SOCKET_NAME.exec(name);
      return match !== null && Number(match[1]) !== process.pid && !alive(Number(match[1]));
    });
  } catch {
    return [];
  }
}

/** Sockets of running trace sessions: the one named in the environment, else those in the folder. */
function traceSockets(): string[] {
  const named = process.env[TRACE_SOCKET_ENV];
  if (named) return fitsSocketAddress(named) ? [named] : [];
  const folder = traceFolder();
  if (!trustedFolder(folder)) return [];
  try {
    return readdirSync(folder)
      .filter((name) => {
        const match = SOCKET_NAME.exec(name);
        return match !== null && alive(Number(match[1]));
      })
      .slice(0, MAX_SESSIONS)
      .map((name) => path.join(folder, name))
      .filter(fitsSocketAddress);
  } catch {
    return [];
  }
}

interface Relay {
  socket: net.Socket;
  dropped: number;
  /** The flush at exit gave up with lines still queued (the listener did not read). */
  abandoned: boolean;
}

/**
 * Connects this process's provider events to every running trace session; returns a close that flushes
 * them (flush()). Never keeps the process alive, never blocks it for longer than FLUSH_STALL_MS.
 */
export function relayToTraceSessions(events: EventBus, log?: Logger): () => Promise<void> {
  const relays: Relay[] = traceSockets().map((socketPath) => {
    const socket = net.createConnection(socketPath);
    const relay: Relay = { socket, dropped: 0, abandoned: false };
    socket.unref();
    socket.on('error', () => socket.destroy());
    return relay;
  });
  if (relays.length === 0) return async () => {};
  const off = events.on((event) => {
    const line = `${JSON.stringify({ pid: process.pid, wall_us: wallClockUs(), ...event })}\n`;
    for (const relay of relays) {
      if (relay.socket.destroyed) continue;
      if (relay.socket.writableLength + line.length > WRITER_BUFFER_BYTES) relay.dropped += 1;
      else relay.socket.write(line);
    }
  });
  return async () => {
    off();
    await Promise.all(relays.map(flush));
    for (const relay of relays) {
      if (relay.dropped > 0)
        log?.debug(`trace: ${relay.dropped} event(s) dropped: a trace session did not keep up`);
      if (relay.abandoned)
        log?.debug('trace: a trace session stopped reading; the events still queued for it were dropped');
    }
  };
}

/** Resolves after the event loop has polled for I/O once more (setImmediate runs after the poll phase). */
const afterPendingIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Ends one relay once its queued lines are in the kernel's buffer ('finish'): the listener reads them
 * whenever it runs, even after this process is gone, so there is nothing to wait for from it. Gives up
 * (dropping what is still queued) after FLUSH_STALL_MS without progress.
 */
async function flush(relay: Relay): Promise<void> {
  const { socket } = relay;
  if (socket.destroyed) return;
  let done = false;
  let wake: () => void = () => {};
  const settle = () => {
    done = true;
    wake();
  };
  socket.once('finish', settle);
  socket.once('close', settle);
  socket.end();
  const began = performance.now();
  let queued = socket.writableLength;
  let progressAt = began;
  while (!done) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FLUSH_STEP_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    if (done) break;
    // Lets the I/O that became ready meanwhile run first: a late timer is this process's delay, not the listener's.
    await afterPendingIo();
    if (done) break;
    const now = performance.now();
    if (socket.connecting) {
      if (now - began > CONNECT_LIMIT_MS) break;
      progressAt = now;
    } else if (socket.writableLength < queued) {
      queued = socket.writableLength;
      progressAt = now;
    } else if (now - progressAt >= FLUSH_STALL_MS) {
      break;
    }
  }
  relay.abandoned = !done && socket.writableLength > 0;
  socket.destroy();
}

export interface TraceListener {
  socketPath: string;
  close(): Promise<void>;
}

/**
 * Makes the per-user folder inside the temporary folder, which must exist: no recursive mkdir, which
 * would make a missing TMPDIR (as root, anywhere) and which Node 20 loops in forever below /proc or /sys
 * (see core/make-dirs.ts). One line and 73 when it cannot be made.
 */
function makeTraceFolder(folder: string): void {
  try {
    mkdirSync(folder, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    throw new MemregionError(
      `cannot trace: cannot create ${folder} (${code ?? 'EIO'}): set TMPDIR to a folder that exists and is writable`,
      ExitCode.CANT_CREAT,
      { cause: error },
    );
  }
}

/** Lines a listener buffers from one writer before it drops that writer. */
const MAX_LINE_BYTES = 64 * 1024;

/**
 * Listens for relayed events; first removes sockets left by killed sessions (saying so), and removes its
 * own socket on close.
 */
export async function listenForTraceEvents(
  onEvent: (event: ProviderEvent & { pid: number }) => void,
  log?: Logger,
): Promise<TraceListener> {
  const folder = traceFolder();
  const socketPath = path.join(folder, `${process.pid}.sock`);
  if (!fitsSocketAddress(socketPath)) {
    throw new MemregionError(
      `cannot trace: the socket path ${socketPath} is longer than a unix socket address holds (${MAX_SOCKET_PATH_BYTES} bytes): set TMPDIR to a shorter folder`,
      ExitCode.CANT_CREAT,
    );
  }
  makeTraceFolder(folder);
  if (!trustedFolder(folder)) {
    throw new MemregionError(
      `${folder} is not a private directory of this user: refusing to trace through it`,
      ExitCode.NO_PERM,
    );
  }
  for (const name of staleSockets(folder)) {
    rmSync(path.join(folder, name), { force: true });
    log?.warn(
      `removed ${path.join(folder, name)}: left by trace process ${SOCKET_NAME.exec(name)![1]}, which is gone`,
    );
  }
  rmSync(socketPath, { force: true });
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const event = relayedEvent(JSON.parse(line));
          if (event) onEvent(event);
        } catch {
          // A malformed line from a foreign writer is ignored.
        }
        newline = buffered.indexOf('\n');
      }
      if (buffered.length > MAX_LINE_BYTES) socket.destroy();
    });
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    close: async () => {
      // A writer that exited may be in the backlog, not yet accepted (its exit can reach this process
      // first): one full turn of the event loop (a timer, then the I/O poll) accepts what the kernel queued.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await afterPendingIo();
      // Writers that just exited may still have lines in flight: let open connections end first.
      for (let waited = 0; connections.size > 0 && waited < 500; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => {
          rmSync(socketPath, { force: true });
          resolve();
        });
      });
    },
  };
}
