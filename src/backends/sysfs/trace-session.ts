import { ExitCode, MemregionError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { quote } from '../../core/quote.js';
import type { SysfsTraceEvent } from '../types.js';
import { EventPairer } from './trace-events.js';
import { removeDeadSessions } from './trace-leftovers.js';
import {
  formatProbe,
  formatRemoval,
  groupName,
  INVALIDATE_SYMBOL,
  type PipeReader,
  type ProbeDefinition,
  parseTraceLine,
  probeDefinitions,
  type Tracefs,
} from './tracefs.js';
import type { TraceTarget } from './tracefs-locate.js';

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
    await removeDeadSessions(target.tracefs, options.log);
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
  async poll(): Promise<SysfsTraceEvent[]> {
    if (!this.pipe) return [];
    const text = this.partial + (await this.pipe.readAvailable());
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const events: SysfsTraceEvent[] = [];
    for (const raw of lines) {
      const line = parseTraceLine(raw);
      if (!line) continue;
      const event = this.pairer.push(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Calls still running when the session ended. */
  unfinished(): SysfsTraceEvent[] {
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
      `the kernel rejected the probe ${quote(line)} (${code}): see the tracing error_log`,
      ExitCode.UNAVAILABLE,
    );
  }
  return new MemregionError(`cannot add kprobe ${quote(line)} (${code})`, ExitCode.IO_ERR);
}
