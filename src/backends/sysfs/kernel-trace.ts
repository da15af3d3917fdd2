import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/log.js';
import type { LatencySummary, SysfsTraceEvent } from '../types.js';
import type { SysRoot } from './fs.js';
import { summarizeEvents } from './trace-events.js';
import { TraceSession } from './trace-session.js';
import { locateTracefs, NoInvalidationFunction, type TraceTarget } from './tracefs-locate.js';

export interface KernelCalls {
  /** null when tracing was not possible; `reason` says why. */
  count: number | null;
  errors?: number;
  latency_us?: LatencySummary | null;
  returns?: Record<string, number>;
  events?: SysfsTraceEvent[];
  reason?: string;
  /** When tracing could not start: whether it found the invalidation function in kallsyms (unset: not looked). */
  invalidateFunction?: 'present' | 'absent';
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
  let target: TraceTarget | undefined = deps.target;
  let reason: string | undefined;
  let invalidateFunction: KernelCalls['invalidateFunction'];
  try {
    target ??= await locateTracefs(sys);
    session = await TraceSession.open(target, { group: deps.group, log });
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
    // What the lookup found, so that nobody reads kallsyms again to learn it.
    if (error instanceof NoInvalidationFunction) invalidateFunction = 'absent';
    else if (target !== undefined) invalidateFunction = 'present';
    log.debug(`kernel calls not traced: ${reason}`);
  }
  if (!session) return { result: await action(), calls: { count: null, reason, invalidateFunction } };
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
