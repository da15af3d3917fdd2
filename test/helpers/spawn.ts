/**
 * Bounds for every process a test starts: a hang must fail the test that caused it, not stall the run.
 * A child started here is the leader of its own process group, and on timeout the whole group gets
 * SIGKILL, so a stuck grandchild (the command `trace --` runs, a shell's pipeline) goes too.
 */
import {
  type ChildProcess,
  type SpawnSyncOptions,
  type SpawnSyncReturns,
  spawnSync,
} from 'node:child_process';
import { execa, type Options, type ResultPromise } from 'execa';

/** Long enough for any honest run on a loaded 2-core machine; only a hang gets there. */
export const SPAWN_TIMEOUT_MS = 60_000;

interface Started {
  pid?: number | undefined;
  once(event: 'exit', listener: () => void): unknown;
}

const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) killGroup(pid);
});

/** SIGKILL to the process group that `pid` leads, if it still exists. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}

/**
 * Kills `child`'s process group (started with `detached: true`) after `ms`, and whatever is left of it
 * when this test process exits. Returns a function that tells whether the timeout fired.
 */
export function boundProcessGroup(child: Started, ms = SPAWN_TIMEOUT_MS): () => boolean {
  const pid = child.pid;
  if (pid === undefined) return () => false;
  let fired = false;
  live.add(pid);
  const timer = setTimeout(() => {
    fired = true;
    killGroup(pid);
  }, ms);
  child.once('exit', () => {
    clearTimeout(timer);
    live.delete(pid);
    // Grandchildren still running in the group when its leader ends are leftovers of this test.
    killGroup(pid);
  });
  return () => fired;
}

const timedOutChildren = new WeakMap<object, () => boolean>();

/** Whether a child of `spawnBounded` was killed by its bound. */
export const hasTimedOut = (child: object): boolean => timedOutChildren.get(child)?.() ?? false;

/**
 * execa with `reject: false` and this file's bound: the child leads its own process group, which is
 * killed after `ms` (`hasTimedOut(child)` then says so).
 */
export function spawnBounded(
  file: string,
  args: readonly string[],
  options: Options = {},
  ms = SPAWN_TIMEOUT_MS,
): ResultPromise<{ reject: false }> {
  // Typed as with the default pipes: what the callers here read (stdout, stderr, exitCode) is there.
  const child = execa(file, args, { ...options, reject: false, detached: true }) as unknown as ResultPromise<{
    reject: false;
  }>;
  timedOutChildren.set(child, boundProcessGroup(child, ms));
  return child;
}

export interface BoundedSyncResult extends SpawnSyncReturns<string> {
  timedOut: boolean;
}

/**
 * spawnSync with a bound. GNU timeout (coreutils) runs the command in a process group of its own and
 * kills that whole group on expiry (exit 137); spawnSync's own timeout is the backstop for timeout itself.
 * A command that does not exist still gives `error.code === 'ENOENT'`, as a bare spawnSync would.
 */
export function runSync(
  command: string,
  args: readonly string[],
  options: SpawnSyncOptions = {},
  ms = SPAWN_TIMEOUT_MS,
): BoundedSyncResult {
  const probe = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const error = Object.assign(new Error(`spawnSync ${command} ENOENT`), { code: 'ENOENT' });
    return { pid: 0, output: [], stdout: '', stderr: '', status: null, signal: null, error, timedOut: false };
  }
  const result = spawnSync('timeout', ['--signal=KILL', `${ms / 1000}s`, command, ...args], {
    ...options,
    encoding: 'utf8',
    timeout: ms + 5_000,
    killSignal: 'SIGKILL',
  }) as SpawnSyncReturns<string>;
  return { ...result, timedOut: result.status === 137 || result.signal === 'SIGKILL' };
}

/** The text a child writes on stdout and stderr, so far (the fields grow as it writes). */
export function collectOutput(child: ChildProcess): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr?.on('data', (d) => {
    out.stderr += d;
  });
  return out;
}
