import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { cannotRun, ExitCode, MemregionError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { TraceEvent, TraceOptions, TraceReport } from '../types.js';
import type { SysRoot } from './fs.js';
import { findSymbols } from './kallsyms.js';
import { EventPairer, summarizeEvents } from './trace-events.js';
import {
  formatProbe,
  formatRemoval,
  groupName,
  INVALIDATE_SYMBOL,
  lockdownMode,
  type PipeReader,
  PROVIDER_CALLBACKS,
  type ProbeDefinition,
  type ProviderCallback,
  parseTraceLine,
  probeDefinitions,
  Tracefs,
} from './tracefs.js';

const MOUNTS = ['sys/kernel/tracing', 'sys/kernel/debug/tracing'];

export interface TraceTarget {
  tracefs: Tracefs;
  providers: ProviderCallback[];
  warnings: string[];
}

/**
 * Everything that must hold before a probe is written: no lockdown `confidentiality`, root (on the real
 * root), a tracefs mount with kprobe_events, and the kernel's invalidation function in kallsyms.
 */
export async function locateTracefs(sys: SysRoot): Promise<TraceTarget> {
  const lockdown = lockdownMode(await sys.value('sys/kernel/security/lockdown'));
  if (lockdown === 'confidentiality') {
    throw new MemregionError(
      'tracing refused: kernel lockdown is "confidentiality", which forbids kprobes and tracefs even for root',
      ExitCode.NO_PERM,
    );
  }
  if (sys.isRealRoot && typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new MemregionError(
      'tracing needs root: tracefs and kprobe_events are writable by root only (run with sudo)',
      ExitCode.NO_PERM,
    );
  }
  let base: string | null = null;
  for (const mount of MOUNTS) {
    if (await sys.exists(`${mount}/kprobe_events`)) {
      base = mount;
      break;
    }
  }
  if (base === null) {
    const mounted =
      (await sys.exists('sys/kernel/tracing/trace')) || (await sys.exists('sys/kernel/debug/tracing/trace'));
    throw new MemregionError(
      mounted
        ? 'tracing unavailable: tracefs has no kprobe_events (kernel built without CONFIG_KPROBE_EVENTS)'
        : 'tracing unavailable: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)',
      ExitCode.UNAVAILABLE,
    );
  }
  const warnings: string[] = [];
  const symbols = await findSymbols(sys, [INVALIDATE_SYMBOL, ...PROVIDER_CALLBACKS.map((p) => p.symbol)]);
  if (symbols.readable && !symbols.found.has(INVALIDATE_SYMBOL)) {
    throw new MemregionError(
      `tracing unavailable: this kernel has no ${INVALIDATE_SYMBOL} (proc/kallsyms), so nothing invalidates memory regions`,
      ExitCode.UNAVAILABLE,
    );
  }
  if (!symbols.readable) warnings.push('proc/kallsyms unreadable: provider callbacks are not probed');
  const providers = PROVIDER_CALLBACKS.filter((p) => symbols.found.has(p.symbol));
  return { tracefs: new Tracefs(sys, base), providers, warnings };
}

/** Sessions still holding probes: the `exit` hook removes them if the process ends without closing them. */
const openSessions = new Set<TraceSession>();
const exitHook = () => {
  for (const session of openSessions) session.cleanupSync();
};

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface SessionOptions {
  group?: string;
  log: Logger;
}

/**
 * One kprobe event group of this process, enabled in a tracing instance of its own (so that other
 * trace_pipe readers neither see nor steal its events). Open → poll → close; the probes are removed on
 * every way out: `close()` on normal end and errors, a SIGINT/SIGTERM/SIGHUP listener that stops the
 * session (the owner then closes it), and a synchronous `exit` hook for a process that exits anyway.
 */
export class TraceSession {
  readonly group: string;
  readonly instance: string;
  private readonly added: ProbeDefinition[] = [];
  private instanceCreated = false;
  private enabled = false;
  private pipe: PipeReader | null = null;
  private partial = '';
  private closed = false;
  private readonly pairer: EventPairer;
  private readonly stopper = new AbortController();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.stopReason ??= signal;
    this.stopper.abort(signal);
  };
  stopReason: NodeJS.Signals | null = null;
  readonly warnings: string[] = [];

  private constructor(
    readonly tracefs: Tracefs,
    private readonly definitions: ProbeDefinition[],
    private readonly log: Logger,
    group: string,
  ) {
    this.group = group;
    this.instance = `instances/${group}`;
    const events = new Map<string, { symbol: string; isReturn: boolean }>();
    for (const def of definitions) events.set(def.event, { symbol: def.symbol, isReturn: def.type === 'r' });
    this.pairer = new EventPairer(events);
  }

  /** Aborted when a stop signal arrives while the session is open. */
  get stopSignal(): AbortSignal {
    return this.stopper.signal;
  }

  static async open(target: TraceTarget, options: SessionOptions): Promise<TraceSession> {
    const session = new TraceSession(
      target.tracefs,
      probeDefinitions(target.providers),
      options.log,
      options.group ?? groupName(),
    );
    session.warnings.push(...target.warnings);
    openSessions.add(session);
    if (openSessions.size === 1) process.on('exit', exitHook);
    for (const signal of STOP_SIGNALS) process.on(signal, session.onSignal);
    try {
      await session.start();
    } catch (error) {
      await session.close().catch(() => {});
      throw error;
    }
    return session;
  }

  private async start(): Promise<void> {
    for (const def of this.definitions) {
      const line = formatProbe(this.group, def);
      try {
        await this.tracefs.appendProbe(line);
        this.added.push(def);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
        if (def.symbol !== INVALIDATE_SYMBOL) {
          this.warnings.push(`cannot probe ${def.symbol} (${code}): its calls are not traced`);
          continue;
        }
        throw probeWriteError(code, line);
      }
    }
    await this.step(`create the tracing instance ${this.instance}`, async () => {
      await this.tracefs.mkdir(this.instance);
      this.instanceCreated = true;
    });
    await this.step(`enable ${this.group} in ${this.instance}`, async () => {
      await this.tracefs.write(`${this.instance}/events/${this.group}/enable`, '1');
      this.enabled = true;
    });
    await this.step(`open ${this.instance}/trace_pipe`, async () => {
      this.pipe = await this.tracefs.openPipe(`${this.instance}/trace_pipe`);
    });
  }

  private async step(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      const exit = code === 'EACCES' || code === 'EPERM' ? ExitCode.NO_PERM : ExitCode.IO_ERR;
      throw new MemregionError(`tracing: cannot ${what} (${code})`, exit);
    }
  }

  /** Reads what the kernel recorded since the last poll and returns the completed invalidations. */
  async poll(): Promise<TraceEvent[]> {
    if (!this.pipe) return [];
    const text = this.partial + (await this.pipe.readAvailable());
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const events: TraceEvent[] = [];
    for (const raw of lines) {
      const line = parseTraceLine(raw);
      if (!line) continue;
      const event = this.pairer.push(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Calls still running when the session ended. */
  unfinished(): TraceEvent[] {
    return this.pairer.flush();
  }

  /** Disables and removes everything this session created. Idempotent; throws if probes stay behind. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: string[] = [];
    const attempt = async (what: string, step: () => Promise<void>) => {
      try {
        await step();
      } catch (error) {
        failures.push(`${what}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    };
    if (this.pipe) await attempt('close trace_pipe', () => this.pipe!.close());
    if (this.enabled) {
      await attempt('disable events', () =>
        this.tracefs.write(`${this.instance}/events/${this.group}/enable`, '0'),
      );
    }
    if (this.instanceCreated)
      await attempt('remove tracing instance', () => this.tracefs.rmdir(this.instance));
    const leftover: string[] = [];
    for (const def of [...this.added].reverse()) {
      const line = formatRemoval(this.group, def.event);
      try {
        await this.tracefs.appendProbe(line);
      } catch (error) {
        leftover.push(line);
        failures.push(`${line}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    this.release();
    if (leftover.length > 0) {
      throw new MemregionError(
        `could not remove kprobe events (${failures.join('; ')}); remove them with: ` +
          leftover.map((l) => `echo '${l}' >> /${this.tracefs.base}/kprobe_events`).join(' && '),
        ExitCode.IO_ERR,
      );
    }
    for (const failure of failures) this.log.warn(`trace cleanup: ${failure}`);
  }

  /** The `exit` path: no promises, best effort, every step attempted. */
  cleanupSync(): void {
    if (this.closed) return;
    this.closed = true;
    const tryStep = (step: () => void) => {
      try {
        step();
      } catch {
        // keep going: the next steps may still succeed
      }
    };
    tryStep(() => this.tracefs.closeFdSync(this.pipe?.fd ?? null));
    if (this.enabled)
      tryStep(() => this.tracefs.writeSync(`${this.instance}/events/${this.group}/enable`, '0'));
    if (this.instanceCreated) tryStep(() => this.tracefs.rmdirSync(this.instance));
    for (const def of [...this.added].reverse()) {
      tryStep(() => this.tracefs.appendProbeSync(formatRemoval(this.group, def.event)));
    }
    this.release();
  }

  private release(): void {
    for (const signal of STOP_SIGNALS) process.removeListener(signal, this.onSignal);
    openSessions.delete(this);
    if (openSessions.size === 0) process.removeListener('exit', exitHook);
  }
}

function probeWriteError(code: string, line: string): MemregionError {
  if (code === 'EACCES' || code === 'EPERM') {
    return new MemregionError(
      `cannot add kprobe (${code}): tracing needs root and no lockdown`,
      ExitCode.NO_PERM,
    );
  }
  if (code === 'ENOENT' || code === 'EINVAL') {
    return new MemregionError(
      `the kernel rejected the probe "${line}" (${code}): see the tracing error_log`,
      ExitCode.UNAVAILABLE,
    );
  }
  return new MemregionError(`cannot add kprobe "${line}" (${code})`, ExitCode.IO_ERR);
}

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
): Promise<TraceReport> {
  const target = deps.target ?? (await locateTracefs(sys));
  const pollMs = deps.pollMs ?? 100;
  const session = await TraceSession.open(target, { group: deps.group, log });
  const events: TraceEvent[] = [];
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
): Promise<{ exitCode: number | null; signal: string | null }> {
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
    const result = await finished;
    if (result.failed && result.exitCode === undefined && !result.signal) {
      throw cannotRun(command[0]!, result);
    }
    const signalNumber = result.signal ? signalCode(result.signal) : null;
    const exitCode = result.exitCode ?? (signalNumber !== null ? 128 + signalNumber : null);
    return { exitCode, signal: result.signal ?? null };
  } finally {
    stop.removeEventListener('abort', onStop);
    if (killTimer) clearTimeout(killTimer);
  }
}

function signalCode(signal: string): number | null {
  return (osConstants.signals as Record<string, number>)[signal] ?? null;
}

export interface KernelCalls {
  /** null when tracing was not possible; `reason` says why. */
  count: number | null;
  errors?: number;
  latency_us?: TraceReport['summary']['latency_us'];
  returns?: Record<string, number>;
  events?: TraceEvent[];
  reason?: string;
}

/**
 * Runs `action` with the kernel's invalidation calls traced when tracefs is usable; tracing problems
 * never stop the action (they become `reason`), but a failure to remove the probes is reported.
 */
export async function withKernelTrace<T>(
  sys: SysRoot,
  log: Logger,
  action: () => Promise<T>,
  deps: { target?: TraceTarget; group?: string; settleMs?: number } = {},
): Promise<{ result: T; calls: KernelCalls }> {
  let session: TraceSession | null = null;
  let reason: string | undefined;
  try {
    session = await TraceSession.open(deps.target ?? (await locateTracefs(sys)), { group: deps.group, log });
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
    log.debug(`kernel calls not traced: ${reason}`);
  }
  if (!session) return { result: await action(), calls: { count: null, reason } };
  const events: TraceEvent[] = [];
  let result: T;
  try {
    result = await action();
    await sleep(deps.settleMs ?? 50);
    events.push(...(await session.poll()));
  } catch (error) {
    await session.close().catch((closeError: Error) => log.error(closeError.message));
    throw error;
  }
  await session.close();
  events.push(...session.unfinished());
  const summary = summarizeEvents(events);
  return {
    result,
    calls: {
      count: summary.invalidations,
      errors: summary.errors,
      latency_us: summary.latency_us,
      returns: summary.returns,
      events,
    },
  };
}
