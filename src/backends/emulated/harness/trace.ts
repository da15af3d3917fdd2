import { LatencyRecorder } from '../../../core/latency.js';
import type { Logger } from '../../../core/log.js';
import { longTimeout } from '../../../core/timers.js';
import { type CommandEnd, commandEnd } from '../../traced-command.js';
import type { EmulatedTraceEvent, EmulatedTraceReport, TraceOptions } from '../../types.js';
import type { EventBus, ProviderEvent } from './events.js';
import { listenForTraceEvents, TRACE_SOCKET_ENV, wallClockUs } from './trace-relay.js';

/** What `trace` sees of the emulated backend: its own events, its profile's name, the log. */
export interface TraceContext {
  events: EventBus;
  profileName: string;
  log?: Logger;
}

/** Events kept in the report; a longer trace still counts every event in the summary. */
const MAX_KEPT_EVENTS = 10_000;

/**
 * `trace` on the emulated backend: the provider's own events (discovery, requests, firmware calls with
 * their status, sleeps, coalesced requests, completions), from this process and from every emulated
 * memregion that runs meanwhile (`-- command` traces exactly the command's lifetime).
 */
export async function traceEmulated(
  backend: TraceContext,
  options: TraceOptions,
): Promise<EmulatedTraceReport> {
  const began = wallClockUs();
  const events: EmulatedTraceEvent[] = [];
  const latency = new LatencyRecorder();
  let invalidations = 0;
  let errors = 0;
  let dropped = 0;
  const take = (event: RelayedEvent) => {
    // When it happened (in the process that sent it), on this trace's timeline.
    const traced = toTraceEvent(event, Math.round((event.wall_us ?? wallClockUs()) - began));
    if (traced.kind === 'complete') {
      invalidations += 1;
      if (traced.errno !== null) errors += 1;
      latency.recordUs(traced.latency_us);
    }
    if (events.length < MAX_KEPT_EVENTS) events.push(traced);
    else dropped += 1;
    options.onEvent?.(traced);
  };
  const listener = await listenForTraceEvents(take, backend.log);
  const offLocal = backend.events.on(take);
  let command: CommandEnd | null | undefined;
  try {
    if (options.command && options.command.length > 0) {
      command = await runTraced(options.command, listener.socketPath, options);
    } else {
      await waitFor(options.durationMs ?? Number.POSITIVE_INFINITY, options.signal);
    }
  } finally {
    offLocal();
    await listener.close();
  }
  return {
    backend: 'emulated',
    profile: backend.profileName,
    events,
    events_dropped: dropped,
    summary: { invalidations, errors, latency_us: latency.summary() },
    ...(command !== undefined ? { command_exit_code: command?.exitCode ?? null } : {}),
    ...(command?.signal ? { command_signal: command.signal } : {}),
    interrupted: options.signal.aborted,
  };
}

/** An event of this process, or one relayed from another emulated memregion (its pid and wall clock). */
type RelayedEvent = ProviderEvent & { pid?: number; wall_us?: number };

/** A provider event as `trace` reports it: `type` becomes `kind`, a completion gets `ret` (errno or 0). */
function toTraceEvent(event: RelayedEvent, timeUs: number): EmulatedTraceEvent {
  const { type, wall_us: _wall, ...rest } = event;
  const traced = { ...rest, kind: type, time_us: timeUs, source_time_us: event.time_us };
  // The spread of a union does not keep its variants apart for the checker: EmulatedTraceEvent is
  // derived from ProviderEvent, so the two cannot drift.
  return (event.type === 'complete' ? { ...traced, ret: event.errno ?? 0 } : traced) as EmulatedTraceEvent;
}

/** How the command ended; null when our own stop signal cancelled it (the trace's exit code is then ours). */
async function runTraced(
  command: string[],
  socketPath: string,
  options: TraceOptions,
): Promise<CommandEnd | null> {
  const [file, ...args] = command;
  const signal = options.signal;
  // Imported on use, as everywhere else: a static import loaded execa (and its dependencies) with every
  // command of the emulated backend, which only `trace -- command` needs.
  const { execa } = await import('execa');
  const child = execa(file!, args, {
    stdin: 'inherit',
    stdout: options.commandStdout === 'stderr' ? process.stderr : 'inherit',
    stderr: 'inherit',
    reject: false,
    env: { [TRACE_SOCKET_ENV]: socketPath },
    cancelSignal: signal,
    forceKillAfterDelay: 2000,
  });
  const result = await child;
  if (result.isCanceled && result.exitCode === undefined) return null;
  return commandEnd(file!, result);
}

function waitFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    // longTimeout: `--duration 600h` is past setTimeout's 2^31 ms limit.
    const cancel = Number.isFinite(ms) ? longTimeout(ms, done) : keepAlive();
    function done() {
      cancel();
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Keeps the process alive until cancelled (a trace with no duration runs until a signal). */
function keepAlive(): () => void {
  const timer = setInterval(() => {}, 1 << 30);
  return () => clearInterval(timer);
}
