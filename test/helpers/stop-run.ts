/**
 * Runs of the CLI that a test stops with a signal, and the waits that tell when to send it. Every run is
 * a `spawnCli` child, so it keeps that helper's timeout (the whole process group is killed after it).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CliChild,
  type CliResult,
  finished,
  type RunOptions,
  spawnCli,
  waitForOutput,
  writeScratchFile,
} from './cli.js';

export interface StoppedResult extends CliResult {
  /** Milliseconds from the (first) signal to the exit. */
  stopMs: number;
  /** The run had already ended by itself when `ready` returned. */
  exitedBeforeSignal: boolean;
}

/** The pause between two signals of one `stopRun`: the first has been taken in, the run is stopping. */
const BETWEEN_SIGNALS_MS = 200;

/**
 * Spawns memregion, waits until `ready` says it is running, sends `signal` (each of a list in turn,
 * BETWEEN_SIGNALS_MS apart), and collects the result.
 */
export async function stopRun(
  args: string[],
  signal: NodeJS.Signals | readonly NodeJS.Signals[],
  ready: (child: CliChild) => Promise<unknown>,
  options: RunOptions = {},
): Promise<StoppedResult> {
  const signals = typeof signal === 'string' ? [signal] : signal;
  const child = spawnCli(args, options);
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  await ready(child);
  const exitedBeforeSignal = exited;
  const sent = performance.now();
  for (const [i, each] of signals.entries()) {
    if (i > 0) await sleep(BETWEEN_SIGNALS_MS);
    child.kill(each);
  }
  const r = await finished(child, `memregion ${args.join(' ')} (${signals.join(', ')})`);
  return { ...r, stopMs: performance.now() - sent, exitedBeforeSignal };
}

/**
 * Ready once the emulated backend is up (with -v it says so on stderr: main's signal handlers are in
 * place by then), plus `settleMs` for the run to get going.
 */
export const backendUp =
  (settleMs = 300) =>
  async (child: CliChild): Promise<void> => {
    await waitForOutput(child.stderr, (text) => text.includes('provider registered'));
    await sleep(settleMs);
  };

const POLL_MS = 25;

/** Checks `condition` every POLL_MS until it holds or `withinMs` have passed; whether it held. */
export async function pollUntil(condition: () => boolean, withinMs = 10_000): Promise<boolean> {
  for (let waited = 0; !condition(); waited += POLL_MS) {
    if (waited >= withinMs) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/** `pollUntil`, failing (naming `what`) when the condition does not come within `withinMs`. */
export async function waitUntil(condition: () => boolean, what: string, withinMs = 20_000): Promise<void> {
  if (!(await pollUntil(condition, withinMs))) throw new Error(`timed out waiting for ${what}`);
}

/** Where an emulated `trace` run with TMPDIR=`tmp` puts its socket (see harness/trace-relay.ts). */
export const traceSocketFolder = (tmp: string): string =>
  path.join(tmp, `memregion-trace-${process.getuid?.() ?? 0}`);

/** The trace sockets in that folder now (none when it does not exist). */
export function traceSockets(tmp: string): string[] {
  const folder = traceSocketFolder(tmp);
  return existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith('.sock')) : [];
}

/**
 * Ready once an emulated trace run with TMPDIR=`tmp` has its socket, plus `settleMs`. After 10 s without
 * one it is "ready" all the same: the test's assertions on the run then say what went wrong.
 */
export const traceSocketUp =
  (tmp: string, settleMs = 0) =>
  async (): Promise<void> => {
    await pollUntil(() => traceSockets(tmp).length > 0);
    if (settleMs > 0) await sleep(settleMs);
  };

/** An emulated profile (a new file) whose `erase mem0` sanitizes for a minute: a signal finds it running. */
export const slowEraseProfile = (): string =>
  writeScratchFile('slow.json', {
    regions: [
      { name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', sanitize_ms: 60_000 },
    ],
  });
