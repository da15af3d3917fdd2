import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { InvalidationOutcome, LatencySummary, StressTarget } from '../backends/types.js';
import { VirtualClock } from '../core/clock.js';
import { LatencyRecorder } from '../core/latency.js';
import type { Random } from '../core/random.js';
import { type RangeSpec, rangePicker } from './ranges.js';

export interface StressOptions {
  workers: number;
  /** Stop after this many requests in all (issued), or null. */
  ops: number | null;
  /** Stop after this much of the target clock's time, or null. */
  durationMs: number | null;
  range: RangeSpec;
  verify: boolean;
  signal: AbortSignal;
  /** Called with a snapshot every `intervalMs` of clock time (after a request completes). */
  onInterval?: (snapshot: StressSnapshot) => void;
  intervalMs?: number;
}

export interface Violation {
  arrival_seq: number;
  served_by_seq: number | null;
}

export interface StressSnapshot {
  elapsed_us: number;
  issued: number;
  completed: number;
  failed: number;
  retries: number;
  coalesced: number;
  errors: Record<string, number>;
  latency_us: LatencySummary | null;
  firmware_calls: number;
  by_status: Record<string, number>;
  verify: { checked: number; violations: number; examples: Violation[] } | null;
}

const MAX_EXAMPLES = 5;
const YIELD_EVERY = 64;

/**
 * Drives `workers` concurrent requesters against a target until the op count, the duration or an abort,
 * and aggregates in constant memory: counters, a latency histogram, and at most a few violation examples.
 */
export class StressRun {
  private readonly target: StressTarget;
  private readonly options: StressOptions;
  private readonly pick: () => bigint;
  private readonly latency = new LatencyRecorder();
  private readonly errors: Record<string, number> = {};
  private readonly examples: Violation[] = [];
  private issued = 0;
  private completed = 0;
  private failed = 0;
  private retries = 0;
  private coalesced = 0;
  private checked = 0;
  private violations = 0;
  private began = 0;
  private nextInterval = Number.POSITIVE_INFINITY;

  constructor(target: StressTarget, options: StressOptions, random: Random) {
    this.target = target;
    this.options = options;
    this.pick = rangePicker(options.range, random);
  }

  async run(): Promise<StressSnapshot> {
    const clock = this.target.clock;
    this.began = clock.now();
    const { onInterval, intervalMs } = this.options;
    // Virtual time: snapshots are taken as requests complete, at interval boundaries of simulated time.
    // Real time: a timer, so that a request blocked for several intervals still gets one line each.
    let timer: NodeJS.Timeout | undefined;
    if (onInterval && intervalMs) {
      if (clock.virtual) this.nextInterval = this.began + intervalMs * 1000;
      else timer = setInterval(() => onInterval(this.snapshot()), intervalMs);
    }
    const workers = Array.from({ length: this.options.workers }, () => this.worker());
    const all = Promise.all(workers);
    try {
      await (clock instanceof VirtualClock ? clock.run(all) : all);
    } finally {
      clearInterval(timer);
    }
    return this.snapshot();
  }

  private shouldStop(): boolean {
    const { ops, durationMs, signal } = this.options;
    if (signal.aborted) return true;
    if (ops !== null && this.issued >= ops) return true;
    return durationMs !== null && this.target.clock.now() - this.began >= durationMs * 1000;
  }

  private async worker(): Promise<void> {
    const clock = this.target.clock;
    const size = this.options.range.size;
    let sinceYield = 0;
    while (!this.shouldStop()) {
      // On real time, a firmware that answers at once would keep the event loop to the workers: let
      // signals (Ctrl-C), the progress display and timers in now and then.
      if (!clock.virtual && ++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        await yieldToLoop();
      }
      this.issued += 1;
      const start = this.pick();
      const t0 = clock.now();
      const result = await this.target.invalidate(start, size);
      const now = clock.now();
      this.latency.recordUs(now - t0);
      this.account(result);
      if (now >= this.nextInterval) this.emitInterval(now);
    }
  }

  private account(result: InvalidationOutcome): void {
    if (result.errno === null) this.completed += 1;
    else {
      this.failed += 1;
      this.errors[result.errno] = (this.errors[result.errno] ?? 0) + 1;
    }
    if (result.attempts > 1) this.retries += result.attempts - 1;
    if (result.coalesced) this.coalesced += 1;
    if (this.options.verify && result.errno === null) {
      this.checked += 1;
      if (result.served_by_seq === null || result.served_by_seq < result.arrival_seq) {
        this.violations += 1;
        if (this.examples.length < MAX_EXAMPLES) {
          this.examples.push({ arrival_seq: result.arrival_seq, served_by_seq: result.served_by_seq });
        }
      }
    }
  }

  private emitInterval(now: number): void {
    const interval = this.options.intervalMs! * 1000;
    while (this.nextInterval <= now) this.nextInterval += interval;
    this.options.onInterval!(this.snapshot());
  }

  snapshot(): StressSnapshot {
    const byStatus = this.target.firmwareCalls();
    return {
      elapsed_us: Math.round(this.target.clock.now() - this.began),
      issued: this.issued,
      completed: this.completed,
      failed: this.failed,
      retries: this.retries,
      coalesced: this.coalesced,
      errors: { ...this.errors },
      latency_us: this.latency.summary(),
      firmware_calls: Object.values(byStatus).reduce((a, b) => a + b, 0),
      by_status: byStatus,
      verify: this.options.verify
        ? { checked: this.checked, violations: this.violations, examples: [...this.examples] }
        : null,
    };
  }
}
