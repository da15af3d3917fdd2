/** What the emulated provider makes observable (DESIGN §3): `trace` prints these, tests read them. */
export type ProviderEvent =
  | { type: 'discovery'; time_us: number; step: string; ok: boolean; detail: string }
  | { type: 'registered'; time_us: number; message: string }
  | { type: 'request'; time_us: number; seq: number; start: string; size: string; dry_run: boolean }
  | {
      type: 'firmware_call';
      time_us: number;
      seq: number;
      attempt: number;
      start: string;
      size: string;
      flags: number;
      status: string;
      duration_us: number;
    }
  | { type: 'sleep'; time_us: number; delay_us: number; attempt: number }
  | { type: 'coalesced'; time_us: number; seq: number; served_by_seq: number | null }
  | {
      type: 'complete';
      time_us: number;
      seq: number;
      errno: string | null;
      attempts: number;
      latency_us: number;
    };

export type EventListener = (event: ProviderEvent) => void;

/**
 * Fan-out of provider events. `enabled` is false with no listener, so the hot path builds no event
 * objects unless someone is watching.
 */
export class EventBus {
  private readonly listeners: EventListener[] = [];
  enabled = false;

  on(listener: EventListener): () => void {
    this.listeners.push(listener);
    this.enabled = true;
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      this.enabled = this.listeners.length > 0;
    };
  }

  emit(event: ProviderEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
