import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/log.js';
import type { LatencySummary, SysfsTraceEvent } from '../types.js';
import type { SysRoot } from './fs.js';
import { summarizeEvents } from './trace-events.js';
import { TraceSession } from './trace-session.js';
import { locateTracefs, type TraceTarget } from './tracefs-locate.js';

export interface KernelCalls {
  /** null when tracing was not possible; `reason` says why. */
  count: number | null;
  errors?: number;
  latency_us?: LatencySummary | null;
  returns?: Record<string, number>;
  events?: SysfsTraceEvent[];
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
  const events: SysfsTraceEvent[] = [];
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
