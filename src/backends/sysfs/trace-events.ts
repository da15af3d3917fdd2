import type { LatencySummary, SysfsTraceEvent, SysfsTraceSummary } from '../types.js';
import { INVALIDATE_SYMBOL, parseDecArg, parseHexArg, type TraceLine } from './tracefs.js';

interface Pending {
  line: TraceLine;
  symbol: string;
}

/**
 * Pairs entry and return events of the same function on the same task into one `SysfsTraceEvent` (start,
 * size, latency, return code). Events of other groups or names are ignored.
 */
export class EventPairer {
  private readonly pending = new Map<string, Pending[]>();

  constructor(
    /** Event name → probed symbol and whether it is the return probe. */
    private readonly events: ReadonlyMap<string, { symbol: string; isReturn: boolean }>,
  ) {}

  /** Feeds one parsed line; returns the completed event when this was a return. */
  push(line: TraceLine): SysfsTraceEvent | null {
    const known = this.events.get(line.event);
    if (!known) return null;
    const key = `${line.pid}/${known.symbol}`;
    if (!known.isReturn) {
      const stack = this.pending.get(key) ?? [];
      stack.push({ line, symbol: known.symbol });
      this.pending.set(key, stack);
      return null;
    }
    const entry = this.pending.get(key)?.pop();
    const ret = line.args['ret'] !== undefined ? Number(line.args['ret']) : null;
    if (!entry) return toEvent(known.symbol, null, line, ret);
    return toEvent(known.symbol, entry.line, line, ret);
  }

  /** Entries whose return never came (the session ended while the call ran). */
  flush(): SysfsTraceEvent[] {
    const events: SysfsTraceEvent[] = [];
    for (const stack of this.pending.values()) {
      for (const entry of stack) events.push(toEvent(entry.symbol, entry.line, null, null));
    }
    this.pending.clear();
    return events.sort((a, b) => a.time_us - b.time_us);
  }
}

function toEvent(
  symbol: string,
  entry: TraceLine | null,
  ret: TraceLine | null,
  code: number | null,
): SysfsTraceEvent {
  const start = parseHexArg(entry?.args['start']);
  const size = parseDecArg(entry?.args['len']);
  const first = entry ?? ret!;
  return {
    time_us: first.timestampUs,
    kind: symbol === INVALIDATE_SYMBOL ? 'invalidate' : 'provider',
    function: symbol,
    ...(start !== null ? { start: `0x${start.toString(16)}` } : {}),
    ...(size !== null ? { size: size.toString() } : {}),
    latency_us: entry && ret ? ret.timestampUs - entry.timestampUs : null,
    ret: code,
    pid: first.pid,
    comm: first.comm,
    cpu: first.cpu,
    complete: entry !== null && ret !== null,
  };
}

/** Nearest-rank percentiles of latencies in µs; null without samples. */
export function summarizeLatency(values: number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted[sorted.length - 1]!,
    mean: Math.round(mean * 1000) / 1000,
  };
}

/** The sysfs trace summary (reports.ts); kept under its old name for the trace modules. */
export type TraceSummary = SysfsTraceSummary;

export function summarizeEvents(events: SysfsTraceEvent[]): TraceSummary {
  const invalidations = events.filter((e) => e.kind === 'invalidate');
  const returns: Record<string, number> = {};
  for (const e of invalidations) {
    const key = e.ret === null || e.ret === undefined ? 'unknown' : String(e.ret);
    returns[key] = (returns[key] ?? 0) + 1;
  }
  const providers: Record<string, { calls: number; errors: number }> = {};
  for (const e of events.filter((x) => x.kind === 'provider')) {
    const name = String(e['function']);
    const entry = providers[name] ?? { calls: 0, errors: 0 };
    providers[name] = entry;
    entry.calls += 1;
    if (typeof e.ret === 'number' && e.ret !== 0) entry.errors += 1;
  }
  return {
    invalidations: invalidations.length,
    errors: invalidations.filter((e) => typeof e.ret === 'number' && e.ret !== 0).length,
    latency_us: summarizeLatency(
      invalidations.map((e) => e.latency_us).filter((v): v is number => typeof v === 'number'),
    ),
    returns,
    providers,
  };
}
