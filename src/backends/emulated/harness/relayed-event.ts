import { firstControl } from '../../../core/quote.js';
import type { ProviderEvent } from './events.js';

/** A provider event as another emulated memregion relays it: with its pid and wall clock. */
export type RelayedEvent = ProviderEvent & { pid: number; wall_us?: number };

type Field = 'number' | 'string' | 'boolean' | 'string|null' | 'number|null';

/** The fields of each event type (ProviderEvent), and what each must be. */
const FIELDS: Record<ProviderEvent['type'], Record<string, Field>> = {
  discovery: { time_us: 'number', step: 'string', ok: 'boolean', detail: 'string' },
  registered: { time_us: 'number', message: 'string' },
  request: { time_us: 'number', seq: 'number', start: 'string', size: 'string', dry_run: 'boolean' },
  firmware_call: {
    time_us: 'number',
    seq: 'number',
    attempt: 'number',
    start: 'string',
    size: 'string',
    flags: 'number',
    status: 'string',
    duration_us: 'number',
  },
  sleep: { time_us: 'number', delay_us: 'number', attempt: 'number' },
  coalesced: { time_us: 'number', seq: 'number', served_by_seq: 'number|null' },
  complete: {
    time_us: 'number',
    seq: 'number',
    errno: 'string|null',
    attempts: 'number',
    latency_us: 'number',
  },
};

const fits = (value: unknown, field: Field): boolean => {
  if (value === null) return field.endsWith('|null');
  if (field.startsWith('number')) return typeof value === 'number' && Number.isFinite(value);
  if (field.startsWith('string')) return typeof value === 'string' && firstControl(value) === null;
  return typeof value === field;
};

/**
 * A line from the trace socket, taken only when it is an event as a memregion writer makes it: the
 * socket is reachable by any process of this user, and a foreign line with a string latency (NaN in the
 * histogram) ended a long trace with an internal error, or with an escape sequence reached the terminal
 * raw. Only the known fields are kept. Null for anything else, which the listener ignores.
 */
export function relayedEvent(value: unknown): RelayedEvent | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const line = value as Record<string, unknown>;
  const type = line.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return null;
  if (!Number.isSafeInteger(line.pid) || (line.pid as number) <= 0) return null;
  if (line.wall_us !== undefined && !fits(line.wall_us, 'number')) return null;
  const event: Record<string, unknown> = { type, pid: line.pid };
  if (line.wall_us !== undefined) event.wall_us = line.wall_us;
  for (const [key, field] of Object.entries(FIELDS[type as ProviderEvent['type']])) {
    if (!fits(line[key], field)) return null;
    event[key] = line[key];
  }
  return event as RelayedEvent;
}
