import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/log.js';
import { type CommandEnd, commandEnd } from '../traced-command.js';
import type { SysfsTraceEvent, SysfsTraceReport, TraceOptions } from '../types.js';
import type { SysRoot } from './fs.js';
import { summarizeEvents } from './trace-events.js';
import { TraceSession } from './trace-session.js';
import { formatProbe, probeDefinitions } from './tracefs.js';
import { locateTracefs, type TraceTarget } from './tracefs-locate.js';

export interface TraceRunDeps {
  target?: TraceTarget;
  group?: string;
  pollMs?: number;
  /** How long a command may take to exit after Ctrl-C before it gets SIGTERM. */
  graceMs?: number;
}

/**
 * `trace`: for `durationMs`, for a command's lifetime (its exit code is passed through), or until
 * Ctrl-C. Interruptions end the session normally and the report says so (`interrupted`).
 */
export async function runTrace(
  sys: SysRoot,
  log: Logger,
  options: TraceOptions,
  deps: TraceRunDeps = {},
): Promise<SysfsTraceReport> {
  const target = deps.target ?? (await locateTracefs(sys));
  const pollMs = deps.pollMs ?? 100;
  const session = await TraceSession.open(target, { group: deps.group, log });
  const events: SysfsTraceEvent[] = [];
  const collect = async () => {
    for (const event of await session.poll()) {
      events.push(event);
      options.onEvent?.(event);
    }
  };
  const stop = AbortSignal.any([options.signal, session.stopSignal]);
  const started = Date.now();
  let commandExitCode: number | null | undefined;
  let commandSignal: string | null = null;
  let failure: unknown = null;
  try {
    if (options.command && options.command.length > 0) {
      // The command layer says where the command's stdout may go (our stdout must stay clean for --json).
      const stdoutMode = (options as { commandStdout?: 'inherit' | 'stderr' }).commandStdout ?? 'stderr';
      const result = await runCommand(
        options.command,
        stdoutMode,
        stop,
        collect,
        pollMs,
        deps.graceMs ?? 2000,
      );
      commandExitCode = result.exitCode;
      commandSignal = result.signal;
    } else {
      while (!stop.aborted) {
        if (options.durationMs !== undefined && Date.now() - started >= options.durationMs) break;
        await collect();
        const left = options.durationMs === undefined ? pollMs : options.durationMs - (Date.now() - started);
        await sleep(Math.max(1, Math.min(pollMs, left)), undefined, { signal: stop }).catch(() => {});
      }
    }
    await collect();
  } catch (error) {
    failure = error;
  }
  try {
    await session.close();
  } catch (error) {
    failure ??= error;
  }
  if (failure) throw failure;
  events.push(...session.unfinished());
  const summary = summarizeEvents(events);
  const interrupted = stop.aborted;
  return {
    backend: 'sysfs',
    events,
    summary,
    ...(options.command ? { command: options.command, command_exit_code: commandExitCode ?? null } : {}),
    ...(commandSignal ? { command_signal: commandSignal } : {}),
    duration_ms: Date.now() - started,
    group: session.group,
    probes: probeDefinitions(target.providers).map((d) => formatProbe(session.group, d)),
    interrupted,
    ...(session.stopReason ? { signal: session.stopReason } : {}),
    warnings: session.warnings,
  };
}

async function runCommand(
  command: string[],
  stdoutMode: 'inherit' | 'stderr',
  stop: AbortSignal,
  collect: () => Promise<void>,
  pollMs: number,
  graceMs: number,
): Promise<CommandEnd> {
  const { execa } = await import('execa');
  const child = execa(command[0]!, command.slice(1), {
    stdin: 'inherit',
    stdout: stdoutMode === 'inherit' ? 'inherit' : 2,
    stderr: 'inherit',
    reject: false,
  });
  let done = false;
  const finished = child.then((result) => {
    done = true;
    return result;
  });
  let killTimer: NodeJS.Timeout | null = null;
  const onStop = () => {
    // Ctrl-C reached the command through the terminal too; give it time to exit on its own.
    killTimer = setTimeout(() => child.kill('SIGTERM'), graceMs);
  };
  stop.addEventListener('abort', onStop, { once: true });
  try {
    while (!done) {
      await collect();
      await Promise.race([finished, sleep(pollMs)]);
    }
    return commandEnd(command[0]!, await finished);
  } finally {
    stop.removeEventListener('abort', onStop);
    if (killTimer) clearTimeout(killTimer);
  }
}
