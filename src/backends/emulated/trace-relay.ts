import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { EventBus, ProviderEvent } from './events.js';

/**
 * The emulated counterpart of tracefs: a `trace` session listens on a socket in a per-user folder, and
 * every emulated backend that starts while it runs (this process or another) streams its provider
 * events there as JSON lines. `trace -- command` points its child at its own socket through
 * MEMREGION_TRACE_SOCKET.
 */
export const TRACE_SOCKET_ENV = 'MEMREGION_TRACE_SOCKET';

/** Microseconds since the epoch, comparable between the processes of one machine. */
export const wallClockUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

export function traceFolder(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(os.tmpdir(), `memregion-trace-${uid}`);
}

/** Sockets of running trace sessions: the one named in the environment, else every one in the folder. */
function traceSockets(): string[] {
  const named = process.env[TRACE_SOCKET_ENV];
  if (named) return [named];
  try {
    return readdirSync(traceFolder())
      .filter((name) => name.endsWith('.sock'))
      .map((name) => path.join(traceFolder(), name));
  } catch {
    return [];
  }
}

/** Connects this process's provider events to every running trace session; returns a flush-and-close. */
export function relayToTraceSessions(events: EventBus): () => Promise<void> {
  const sockets = traceSockets().map((socketPath) => {
    const socket = net.createConnection(socketPath);
    socket.on('error', () => socket.destroy());
    return socket;
  });
  if (sockets.length === 0) return async () => {};
  const off = events.on((event) => {
    const line = `${JSON.stringify({ pid: process.pid, wall_us: wallClockUs(), ...event })}\n`;
    for (const socket of sockets) if (!socket.destroyed) socket.write(line);
  });
  return async () => {
    off();
    await Promise.all(
      sockets.map((socket) =>
        socket.destroyed ? undefined : new Promise<void>((resolve) => socket.end(() => resolve())),
      ),
    );
  };
}

export interface TraceListener {
  socketPath: string;
  close(): Promise<void>;
}

/** Listens for relayed events; the socket file is removed on close. */
export async function listenForTraceEvents(
  onEvent: (event: ProviderEvent & { pid: number }) => void,
): Promise<TraceListener> {
  const folder = traceFolder();
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const socketPath = path.join(folder, `${process.pid}.sock`);
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
          onEvent(JSON.parse(line));
        } catch {
          // A malformed line from a foreign writer is ignored.
        }
        newline = buffered.indexOf('\n');
      }
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
