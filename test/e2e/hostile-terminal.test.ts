/**
 * Session 4 hostile audit: memregion in a real terminal (a pty from util-linux `script`).
 * - The terminal closing (an ssh session or a window gone) during a run or at a confirmation prompt ends
 *   it with 129 as SIGHUP does elsewhere; it used to crash with SIGSEGV (Node aborts when it cannot
 *   restore a hung-up terminal's settings at exit), and at the prompt to end with 70 (setRawMode EIO).
 * - Ctrl-C typed at the prompt (a keypress in raw mode) and SIGTERM there end with 130 and 143, not
 *   with the 64 of a "no".
 * The exit code comes from a shell inside the terminal that writes `$?` to a file; a run left behind is
 * killed at the end of its test.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, NODE, ROOT, scratchDir } from '../helpers/cli.js';
import { collectOutput, spawnBounded } from '../helpers/spawn.js';

const BOUND_MS = 30_000;
const left: number[] = [];
after(() => {
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** Every process below `pid` (from /proc/<pid>/task/<tid>/children). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const walk = (parent: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined, out: { stdout: string }): Promise<T> {
  for (let waited = 0; waited < BOUND_MS; waited += 50) {
    const value = probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(
    `timed out waiting for ${what}; the terminal showed ${JSON.stringify(out.stdout.slice(-500))}`,
  );
}

/**
 * A shell script that runs `command` as a login shell runs a job: when the terminal hangs up, the kernel
 * signals the shell (the session leader), and the shell sends SIGHUP on to its job. Then it writes the
 * job's exit code to `status` (a zombie still answers `kill -0`, so the loop waits for the real end).
 * The job gets the terminal as stdin explicitly: a background job would get /dev/null.
 */
const asLoginShellWould = (command: string, status: string) =>
  `exec 3<&0; ${command} <&3 3<&- & pid=$!; trap "kill -HUP $pid" HUP; ` +
  `wait $pid; code=$?; while kill -0 $pid 2>/dev/null; do wait $pid; code=$?; done; echo $code > ${status}`;

/**
 * Starts `memregion args` in a terminal of its own; `act` then acts on it (types keys, signals memregion,
 * closes the terminal) once `ready` shows in the terminal; resolves to memregion's exit code.
 */
async function inTerminal(
  args: string[],
  ready: string,
  act: (terminal: { type(keys: string): void; memregion: number; close(): void }) => void,
): Promise<number> {
  const status = path.join(scratchDir('tty'), 'status');
  const quoted = [NODE, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawnBounded(
    'script',
    ['-qfec', `sh -c '${asLoginShellWould(quoted, status).replaceAll("'", "'\\''")}'`, '/dev/null'],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdin: 'pipe' },
    BOUND_MS,
  );
  const out = collectOutput(child);
  const scriptPid = child.pid!;
  try {
    const memregion = await until(
      'memregion to start',
      () => descendants(scriptPid).find((pid) => cmdline(pid).split('\0')[1] === BIN),
      out,
    );
    left.push(memregion);
    await until('the terminal to show the run', () => (out.stdout.includes(ready) ? true : undefined), out);
    act({
      type: (keys) => child.stdin?.write(keys),
      memregion,
      close: () => process.kill(scriptPid, 'SIGKILL'),
    });
    const code = await until(
      'memregion to exit',
      () =>
        existsSync(status) && readFileSync(status, 'utf8').endsWith('\n')
          ? readFileSync(status, 'utf8')
          : undefined,
      out,
    );
    return Number(code.trim());
  } finally {
    child.kill('SIGKILL');
    await child;
  }
}

const PROMPT = '[y/N]';

describe('memregion in a terminal (session 4)', () => {
  test('the terminal closes during a stress run: 129, not a crash', async () => {
    // -v: the emulated backend says it is up on stderr, so the run is under way when the terminal closes.
    const code = await inTerminal(
      ['-b', 'emulated', '-v', 'stress', '--duration', '60s'],
      'registered',
      (t) => t.close(),
    );
    assert.equal(code, 129);
  });

  test('the terminal closes at the confirmation prompt: 129 (it was 70, or a crash)', async () => {
    const code = await inTerminal(['-b', 'emulated', 'erase', 'mem0'], PROMPT, (t) => t.close());
    assert.equal(code, 129);
  });

  test('Ctrl-C typed at the prompt: 130, as Ctrl-C anywhere else (it was 64)', async () => {
    const code = await inTerminal(['-b', 'emulated', 'erase', 'mem0'], PROMPT, (t) => t.type('\u0003'));
    assert.equal(code, 130);
  });

  test('SIGTERM at the prompt: 143', async () => {
    const code = await inTerminal(['-b', 'emulated', 'erase', 'mem0'], PROMPT, (t) =>
      process.kill(t.memregion, 'SIGTERM'),
    );
    assert.equal(code, 143);
  });

  test('"n" and Ctrl-D at the prompt still answer no: 64', async () => {
    assert.equal(await inTerminal(['-b', 'emulated', 'erase', 'mem0'], PROMPT, (t) => t.type('n\r')), 64);
    assert.equal(await inTerminal(['-b', 'emulated', 'erase', 'mem0'], PROMPT, (t) => t.type('\u0004')), 64);
  });
});
