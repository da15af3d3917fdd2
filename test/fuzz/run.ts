/**
 * One fuzz case, start to end: build its folder, run the CLI in it (its own process group, stdin
 * /dev/null), send the signal if any, and check every rule of the hostile-input contract. Returns the
 * broken rules (empty when the run was fine) and the one-line repro.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BIN, childEnv, NODE } from '../helpers/cli.js';
import { collectOutput, killGroup } from '../helpers/spawn.js';
import { materialize, type Plan } from './materialize.js';
import { type Scenario, SECRET } from './scenario.js';
import { applySteps, shellQuote, stepShell } from './setup.js';
import { changes, snapshot } from './snapshot.js';

/** DESIGN §5 and README: the codes a run may end with (70, internal error, is a bug). */
export const DOCUMENTED_EXITS = new Set([0, 1, 64, 65, 66, 69, 73, 74, 75, 77]);
const SIGNAL_EXIT = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
/** Exit codes of pure input errors: nothing reaches stdout. */
const INPUT_ERRORS = new Set([64, 66]);

/** No honest case runs longer than this (all of them are short or get a signal). */
export const RUN_BOUND_MS = 15_000;
/**
 * After a signal the run must be over within this, not counting the time its main thread waited for a
 * CPU (run_delay in /proc/<pid>/schedstat): on a 2-core machine running several lanes and other jobs,
 * that wait says how busy the host is, not how quickly memregion reacts.
 */
export const SIGNAL_BOUND_MS = 1_000;

/** Nanoseconds the process's main thread has spent runnable but waiting for a CPU (0 if unknown). */
function runQueueWaitNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1] ?? 0);
  } catch {
    return Number.NaN;
  }
}

export interface Outcome {
  failures: string[];
  repro: string;
  /** ms from the signal to the exit, when one was sent. */
  stopMs?: number;
}

export function repro(plan: Plan): string {
  const env = Object.entries(plan.env).map(([k, v]) => `${k}=${shellQuote(v)} `);
  const run = `${env.join('')}node ${shellQuote(BIN)} ${plan.argv.map(shellQuote).join(' ')}`;
  const reader = plan.fifoReader ? `(cat ${plan.fifoReader} > /dev/null &) && ` : '';
  const signal = plan.signal
    ? ` & sleep ${(plan.signal.delayMs / 1000).toFixed(3)}; kill -${plan.signal.name.slice(3)} $!; wait $!`
    : '';
  return `cd "$(mktemp -d)" && ${[...plan.steps.map(stepShell), ''].join('; ')}${reader}${run} < /dev/null${signal}; echo "exit $?"`;
}

/** The signals a process has a handler for (SigCgt in /proc/<pid>/status). */
function caughtSignals(pid: number): Set<number> {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mask = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
    const out = new Set<number>();
    for (let n = 1; n <= 64; n++) if ((mask >> BigInt(n - 1)) & 1n) out.add(n);
    return out;
  } catch {
    return new Set();
  }
}
const SIGNUM = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u009b]/;
const STACK_FRAME = /^\s+at .*(\(|:\d+:\d+)/m;

/** One JSON document (or, with --interval, JSON lines ending with the report): undefined when it is. */
function jsonProblem(text: string, ndjson: boolean): string | undefined {
  if (!text.endsWith('\n')) return 'does not end with a newline';
  try {
    const doc = JSON.parse(text);
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'is not a JSON object';
    return undefined;
  } catch (error) {
    if (ndjson) {
      const lines = text.slice(0, -1).split('\n');
      try {
        for (const line of lines) JSON.parse(line);
        return undefined;
      } catch {}
    }
    return `is not one JSON document (${(error as Error).message.slice(0, 80)})`;
  }
}

export async function runCase(s: Scenario, caseDir: string): Promise<Outcome> {
  const plan = materialize(s);
  const failures: string[] = [];
  const line = repro(plan);
  rmSync(caseDir, { recursive: true, force: true });
  mkdirSync(caseDir, { recursive: true });
  applySteps(caseDir, plan.steps);
  const before = snapshot(caseDir);

  let reader: ReturnType<typeof spawn> | undefined;
  let readerText = '';
  if (plan.fifoReader) {
    reader = spawn('cat', [plan.fifoReader], {
      cwd: caseDir,
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    reader.stdout!.on('data', (d) => {
      readerText += d;
    });
  }

  // Its own TMPDIR (emulated trace sockets live there), checked for leftovers after the run.
  const tmp = `${caseDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const child = spawn(NODE, [BIN, ...plan.argv], {
    cwd: caseDir,
    env: childEnv({ ...plan.env, TMPDIR: tmp }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output = collectOutput(child);
  const started = Date.now();
  let signalledAt: number | undefined;
  let waitAtSignal = Number.NaN;
  let waitLast = Number.NaN;
  let handlersUp = false;
  let hung = false;
  const timers: NodeJS.Timeout[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let exitAt = 0;
  void exited.then(() => {
    exitAt = Date.now();
  });
  if (plan.signal) {
    const { name, delayMs } = plan.signal;
    timers.push(
      setTimeout(() => {
        if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
        // Node itself catches SIGINT and SIGTERM from its first instruction (to reset the terminal and
        // re-raise), so only SIGHUP tells that memregion's handlers, which it installs for all three at
        // once, are up. Before that, a signal may end the process by its default action.
        handlersUp = caughtSignals(child.pid).has(SIGNUM.SIGHUP);
        signalledAt = Date.now();
        waitAtSignal = runQueueWaitNs(child.pid);
        waitLast = waitAtSignal;
        const pid = child.pid;
        const poll = setInterval(() => {
          const now = runQueueWaitNs(pid);
          if (Number.isFinite(now)) waitLast = now;
          else clearInterval(poll);
        }, 10);
        timers.push(poll);
        try {
          process.kill(child.pid, name);
        } catch {}
        timers.push(
          setTimeout(() => {
            hung = true;
            killGroup(child.pid);
          }, SIGNAL_BOUND_MS + 2_000),
        );
      }, delayMs),
    );
  }
  timers.push(
    setTimeout(() => {
      hung = true;
      killGroup(child.pid);
    }, RUN_BOUND_MS),
  );
  const { code, signal } = await exited;
  for (const t of timers) clearTimeout(t);
  // Whatever the run started (the command of `trace --`) must be gone with it.
  const leftovers = await groupOutlives(child.pid!, 300);
  if (leftovers && !hung) failures.push(`left processes running after it exited: ${leftovers}`);
  killGroup(child.pid);
  if (reader) {
    // The run is over: whatever it wrote is in the pipe; a reader still waiting for a writer is let go.
    await new Promise((resolve) => {
      const t = setTimeout(() => {
        killGroup(reader!.pid);
        resolve(undefined);
      }, 300);
      reader!.on('close', () => {
        clearTimeout(t);
        resolve(undefined);
      });
    });
  }
  const after = snapshot(caseDir);
  const { stdout, stderr } = output;

  // -- the run ended, in time, with a documented code
  const queuedMs = Number.isFinite(waitAtSignal) ? Math.max(0, (waitLast - waitAtSignal) / 1e6) : 0;
  const stopMs = signalledAt === undefined ? undefined : Math.round(exitAt - signalledAt - queuedMs);
  if (hung)
    failures.push(
      `hung: killed after ${Date.now() - started} ms${signalledAt ? ' (a signal was sent)' : ''}`,
    );
  // Killed by the signal's default action (it came before memregion's handlers): the kernel's doing,
  // whatever the clock says; only a handled stop is memregion's.
  else if (stopMs !== undefined && stopMs > SIGNAL_BOUND_MS && signal === null)
    failures.push(
      `took ${stopMs} ms to stop after ${plan.signal!.name} (bound ${SIGNAL_BOUND_MS} ms; ${Math.round(queuedMs)} ms waiting for a CPU not counted)`,
    );
  const sent = signalledAt === undefined ? undefined : plan.signal!.name;
  if (!hung) {
    if (signal !== null) {
      if (signal !== sent || handlersUp) failures.push(`killed by ${signal} instead of exiting with a code`);
    } else if (
      code === null ||
      !(DOCUMENTED_EXITS.has(code) || (sent && code === SIGNAL_EXIT[sent]) || s.command.exits?.includes(code))
    ) {
      failures.push(`exit ${code} is not a documented code`);
    }
  }
  const killed = signal !== null;

  // -- stderr: no stack trace, no raw control character; an error is one `memregion: ` line
  if (STACK_FRAME.test(stderr)) failures.push('stack trace on stderr');
  if (/^memregion: internal error/m.test(stderr)) failures.push('internal error on stderr');
  if (RAW_CONTROL.test(stderr)) failures.push('raw control character on stderr');
  if (!plan.json && RAW_CONTROL.test(stdout.replaceAll('\t', '')))
    failures.push('raw control character on stdout');
  if (`${stdout}${stderr}`.includes(SECRET)) failures.push("a profile file's content reached the output");
  const verbose = plan.argv.includes('-v') || plan.argv.includes('--verbose');
  const lines = stderr.split('\n').filter((l) => l !== '');
  const foreign = lines.filter((l) => !l.startsWith('memregion: '));
  if (!verbose && foreign.length > 0)
    failures.push(
      `stderr line without the "memregion: " prefix: ${JSON.stringify(foreign[0]!.slice(0, 120))}`,
    );
  const signalled = sent !== undefined && code === SIGNAL_EXIT[sent];
  // After a signal, the "stopping" notice may come with the error of a run that ended anyway.
  if (!verbose && sent === undefined && !killed && code !== null && code !== 0) {
    if (stdout === '' && !plan.argv.includes('--output') && lines.length !== 1)
      failures.push(`exit ${code}: ${lines.length} lines on stderr, not one`);
    if (lines.length > 1) failures.push(`exit ${code}: ${lines.length} lines on stderr, not one`);
  }

  // -- the result: one JSON document under --json where a result exists; stdout empty for input errors
  const outputGiven = plan.argv.includes('--output');
  const writtenPath = plan.output;
  // What the run wrote there: a file that is as it was before the run holds no result.
  const written =
    writtenPath && changes(before, after, { content: new Set() }).some((c) => c.startsWith(`${writtenPath}:`))
      ? readIfFile(path.join(caseDir, writtenPath))
      : undefined;
  const doc = outputGiven ? (plan.fifoReader ? readerText : written) : stdout;
  if (code !== null && INPUT_ERRORS.has(code) && stdout !== '')
    failures.push(`exit ${code} (an input error) with output on stdout`);
  if (outputGiven && stdout !== '' && !plan.argv.includes('--help') && !plan.argv.includes('help'))
    failures.push('--output given, yet something on stdout');
  if (plan.output && code === 0 && written === undefined && s.command.documented)
    failures.push(`exit 0, but ${plan.output} was not written`);
  if (plan.json && s.command.documented && doc !== undefined && !killed) {
    const ndjson = plan.argv.includes('--interval');
    const problem = doc === '' ? undefined : jsonProblem(doc, ndjson);
    if (problem) failures.push(`the JSON result ${problem}`);
    const resultExpected =
      code === 0 || (signalled && /^(stress|trace|erase)$/.test(s.command.args[0] ?? ''));
    if (doc === '' && resultExpected && !hung && !/\bhelp\b|--help|--version/.test(plan.argv.join(' ')))
      failures.push(
        `exit ${code} under --json, but no JSON document ${outputGiven ? 'in the --output file' : 'on stdout'}`,
      );
  }

  // -- nothing changed but the --output target
  for (const c of changes(before, after, { content: plan.writable })) failures.push(`changed: ${c}`);

  const left = snapshot(tmp);
  left.delete('.');
  const sockets = [...left].filter(([, e]) => e.type !== 'dir').map(([name]) => name);
  if (sockets.length > 0 && !hung) failures.push(`left in TMPDIR: ${sockets.join(', ')}`);
  rmSync(caseDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
  return { failures: [...new Set(failures)], repro: line, ...(stopMs === undefined ? {} : { stopMs }) };
}

/** The processes of `pid`'s group still alive `ms` after it exited (their commands), or undefined. */
async function groupOutlives(pid: number, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      process.kill(-pid, 0);
    } catch {
      return undefined;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const ps = spawnSync('ps', ['-o', 'args=', '-g', String(pid)], { encoding: 'utf8', timeout: 5_000 });
  return ps.stdout.trim().split('\n').join(' | ') || `pgid ${pid}`;
}

function readIfFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
