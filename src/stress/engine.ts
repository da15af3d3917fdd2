import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type {
  InvalidationOutcome,
  LatencySummary,
  OutcomeReceiver,
  StressTarget,
} from '../backends/types.js';
import { type Clock, VirtualClock } from '../core/clock.js';
import { usageError } from '../core/errors.js';
import { LatencyRecorder } from '../core/latency.js';
import type { Random } from '../core/random.js';
import { longTimeout } from '../core/timers.js';
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
  /**
   * Called with a snapshot every `intervalMs` of clock time (after a request completes). A promise back
   * (the reader of the lines has not taken the last ones) holds the run until it settles.
   */
  onInterval?: (snapshot: StressSnapshot) => unknown;
  intervalMs?: number;
  /** Record latencies into this recorder (the caller keeps its distribution); default a new one. */
  latency?: LatencyRecorder;
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
/** Clock steps between two turns of the event loop when the run drives the clock (`drive`). */
const STEPS_PER_TURN = 256;
/** Requests issued (by all workers together) between two turns of the event loop. */
const YIELD_EVERY = 256;
/**
 * Requests issued in a row at one instant of virtual time, beyond `workers` times this, before a run with
 * a deadline gives up: a worker issues again at the instant its request came back, so only answers that
 * take no time (a firmware failing every call at once) keep the clock still, and the deadline never comes.
 */
const STILL_PER_WORKER = 100;
const STILL_BASE = 1_000_000;

/**
 * Drives `workers` concurrent requesters against a target until the op count, the duration or an abort,
 * and aggregates in constant memory: counters, a latency histogram, and at most a few violation examples.
 * A stop (abort or the end of the duration) does not wait for the requests still in flight: the report
 * is of what completed, and with many workers queued on one provider lock draining them could take far
 * longer than the run itself.
 */
export class StressRun {
  private readonly target: StressTarget;
  private readonly options: StressOptions;
  private readonly pick: () => bigint;
  private readonly latency: LatencyRecorder;
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
  private stopped = false;
  /** Workers not yet done. */
  private live = 0;
  /** The signal's `aborted`, kept by a listener: every request asks, and the getter validates its receiver. */
  private aborted = false;
  /** The first error a worker met (then the run fails with it). */
  private failure: { error: unknown } | null = null;
  /** Requests issued since the event loop last had a turn. */
  private sinceTurn = 0;
  /** Workers waiting for the next turn, released YIELD_EVERY at a time, in arrival order. */
  private readonly parked: Requester[] = [];
  private parkedHead = 0;
  private turnPending = false;
  /** The virtual instant of the last request issued, how many were issued at it, and the most allowed. */
  private stillAt = Number.NaN;
  private stillCount = 0;
  private readonly stillLimit: number;
  /** What the run is held for (onInterval's promise): the turn pending waits for it, the clock too. */
  private holding: Promise<void> | null = null;
  /** Settles the run's one promise of all its workers' ends (one promise per run, not per worker). */
  private allEnded: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** While the workers are being made: one that ends at once does not end the run. */
  private starting = false;

  /** Whether the target takes callbacks (`submit`): then no promise is made per request. */
  private readonly callbacks: boolean;

  constructor(target: StressTarget, options: StressOptions, random: Random) {
    this.target = target;
    this.callbacks = target.submit !== undefined;
    this.options = options;
    this.latency = options.latency ?? new LatencyRecorder();
    this.pick = rangePicker(options.range, random);
    this.stillLimit =
      target.clock.virtual && options.durationMs !== null
        ? STILL_BASE + STILL_PER_WORKER * options.workers
        : Number.POSITIVE_INFINITY;
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
      else
        timer = setInterval(
          () => {
            // A held run takes no line either, as a process blocked in write(2) would not.
            if (this.holding === null) this.holdFor(onInterval(this.snapshot()));
          },
          Math.max(1, intervalMs),
        );
    }
    const { signal } = this.options;
    const onAbort = () => {
      this.aborted = true;
    };
    this.aborted = signal.aborted;
    signal.addEventListener('abort', onAbort, { once: true });
    const ended = new Promise<void>((resolve, reject) => {
      this.allEnded = { resolve, reject };
    });
    this.starting = true;
    for (let i = 0; i < this.options.workers; i++) this.worker();
    this.starting = false;
    if (this.live === 0 && this.failure === null) this.allEnded?.resolve();
    try {
      if (clock instanceof VirtualClock && this.target.synchronous === true) {
        // The run learns of a failure from `failure`, not from `ended`.
        ended.catch(() => {});
        await this.drive(clock);
      } else await this.settle(clock, ended);
    } finally {
      this.stopped = true;
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
    }
    return this.snapshot();
  }

  /**
   * Waits for every worker to end (`ended`; it rejects with the first worker's failure), the deadline or an
   * abort; on virtual time, the clock runs the simulation.
   */
  private async settle(clock: Clock, ended: Promise<void>): Promise<void> {
    const { durationMs, signal } = this.options;
    const cancels: Array<() => void> = [];
    const stop = new Promise<void>((resolve) => {
      const onAbort = () => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      cancels.push(() => signal.removeEventListener('abort', onAbort));
      if (durationMs !== null) {
        // The deadline on the run's own clock: a virtual timer, or a real one however long.
        if (clock instanceof VirtualClock) void clock.sleep(durationMs * 1000).then(resolve);
        else cancels.push(longTimeout(durationMs, resolve));
      }
    });
    const all = Promise.race([ended, stop]);
    try {
      await (clock instanceof VirtualClock ? clock.run(all) : all);
    } finally {
      for (const cancel of cancels) cancel();
    }
  }

  /**
   * The simulation with a synchronous target (`StressTarget.synchronous`): every answer comes inside
   * `submit` or from a virtual timer, so nothing is ever left waiting on a promise, and the run steps the
   * clock itself, timer after timer, without waiting for the microtask queue to drain between them (what
   * VirtualClock.run has to do for promise-driven code). The event loop still gets a turn every
   * STEPS_PER_TURN steps, and whenever workers park. The deadline is a timer like any other, so what
   * happens at its instant happens exactly as with `run`.
   */
  private async drive(clock: VirtualClock): Promise<void> {
    const { durationMs } = this.options;
    let deadline = false;
    if (durationMs !== null) {
      const us = durationMs * 1000;
      const reached = {
        resume: () => {
          deadline = true;
        },
      };
      if (us > 0) clock.resumeAfter(us, reached, undefined);
      else deadline = true;
    }
    let steps = 0;
    for (;;) {
      if (this.failure !== null) throw this.failure.error;
      if (this.live === 0 || deadline || this.aborted) return;
      if (this.turnPending || ++steps % STEPS_PER_TURN === 0) {
        // Parked workers are let through on the coming turns (scheduleTurn); the clock stands still.
        if (this.holding !== null) await this.holding;
        await yieldToLoop();
        continue;
      }
      if (!clock.advance())
        throw new Error('virtual clock: simulation is waiting on something that is not a virtual timer');
    }
  }

  /**
   * Waits for the next turn of the event loop (signals, timers, progress get in). Every worker that
   * arrives while others wait queues behind them, and each turn lets at most YIELD_EVERY through, so no
   * stretch without a turn is longer than that many requests, whatever the number of workers. On
   * virtual time the clock stands still meanwhile, and the order is set by request counts only: a run
   * stays exactly reproducible.
   */
  private park(worker: Requester): void {
    this.parked.push(worker);
    if (!this.turnPending) this.scheduleTurn();
  }

  /**
   * The run's next turn of the event loop lasts until `until` resolves: interval lines that a slow reader
   * has not taken are not piled up in memory without end (a pipe nobody read grew the process by 40 MB a
   * second), as a blocking write holds a C program. Only a turn the run takes anyway waits (every
   * YIELD_EVERY requests, with every worker parked and the clock standing still), so a slow reader
   * changes when the run goes on, never the order of its events.
   */
  private holdFor(until: unknown): void {
    if (!(until instanceof Promise) || this.holding !== null) return;
    this.holding = until;
    const release = () => {
      if (this.holding === until) this.holding = null;
    };
    until.then(release, release);
  }

  private scheduleTurn(): void {
    this.turnPending = true;
    const clock = this.target.clock;
    const held = this.holding ?? undefined;
    const turn = clock instanceof VirtualClock ? clock.pause(held) : (held ?? yieldToLoop());
    void turn.then(() => {
      this.sinceTurn = 0;
      const end = Math.min(this.parked.length, this.parkedHead + YIELD_EVERY);
      const batch = this.parked.slice(this.parkedHead, end);
      this.parkedHead = end;
      if (this.parkedHead === this.parked.length) {
        this.parked.length = 0;
        this.parkedHead = 0;
        this.turnPending = false;
      } else this.scheduleTurn();
      for (const worker of batch) worker.resume();
    });
  }

  private shouldStop(): boolean {
    const { ops, durationMs } = this.options;
    if (this.stopped || this.aborted) return true;
    if (ops !== null && this.issued >= ops) return true;
    return durationMs !== null && this.target.clock.now() - this.began >= durationMs * 1000;
  }

  /**
   * One requester: issue, wait, record, again, until the run stops. A small state machine on `.then`
   * rather than an async loop: each wait is the same one microtask after the promise settles (so the
   * order of events is that of an `await`), without an await's two closures and context per request.
   */
  private worker(): void {
    const worker = new Requester(this);
    this.live += 1;
    worker.start();
  }

  /** @internal `worker` has stopped, with `error` if it failed. */
  ended(error?: { error: unknown }): void {
    this.live -= 1;
    if (error !== undefined && this.failure === null) {
      this.failure = error;
      this.allEnded?.reject(error.error);
    } else if (this.live === 0 && !this.starting) this.allEnded?.resolve();
  }

  /**
   * @internal The worker's loop, up to its next wait (`resumed`: back from a park). With a target that
   * takes callbacks, a request that completes before `submit` returns is recorded here and the loop goes
   * on, rather than recursing through the callback.
   */
  step(worker: Requester, resumed: boolean): void {
    const size = this.options.range.size;
    for (;;) {
      // A firmware that answers at once (or a virtual clock) would keep the event loop to the workers:
      // let signals (Ctrl-C), the progress display and timers in now and then.
      if (!resumed && (this.turnPending || this.sinceTurn >= YIELD_EVERY)) {
        this.park(worker);
        return;
      }
      resumed = false;
      if (this.shouldStop()) {
        worker.done();
        return;
      }
      this.sinceTurn += 1;
      this.issued += 1;
      const start = this.pick();
      const now = this.target.clock.now();
      if (now !== this.stillAt) {
        this.stillAt = now;
        this.stillCount = 0;
      } else if (++this.stillCount > this.stillLimit) throw this.standingStill();
      worker.t0 = now;
      if (!this.callbacks) {
        this.target.invalidate(start, size).then(
          (outcome) => worker.onOutcome(outcome),
          (error) => worker.onError(error),
        );
        return;
      }
      worker.submitting = true;
      this.target.submit!(start, size, worker);
      worker.submitting = false;
      if (!worker.early) return;
      worker.early = false;
      if (!worker.recorded) return;
    }
  }

  private standingStill(): Error {
    const errors = Object.keys(this.errors).join(', ') || 'none';
    return usageError(
      `virtual time stands still at ${this.stillAt} µs: ${this.stillCount} requests in a row were answered in zero time (errors: ${errors}), so --duration would never end: use --ops with --virtual-time`,
    );
  }

  /** @internal A request of `worker` came back. */
  returned(worker: Requester, result: InvalidationOutcome): void {
    if (this.record(worker, result)) this.step(worker, false);
  }

  /** @internal Counts a request that came back; false (and the worker done) once the run has stopped. */
  record(worker: Requester, result: InvalidationOutcome): boolean {
    if (this.stopped) {
      worker.done();
      return false;
    }
    const now = this.target.clock.now();
    this.latency.recordUs(now - worker.t0);
    this.account(result);
    if (now >= this.nextInterval) this.emitInterval(now);
    return true;
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
    // The next boundary after `now`, computed rather than stepped to: a tiny interval over a long
    // stretch of time would otherwise loop (or, below float resolution, never move at all).
    const interval = this.options.intervalMs! * 1000;
    const passed = Math.floor((now - this.began) / interval) + 1;
    this.nextInterval = this.began + passed * interval;
    this.holdFor(this.options.onInterval!(this.snapshot()));
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

/** The state of one worker of a run, and the receiver of its requests' outcomes (no closure per worker). */
class Requester implements OutcomeReceiver {
  t0 = 0;
  /**
   * Inside the target's `submit`: a result that comes now is recorded at once (its object is valid only
   * then), and `early` tells the loop to go on (when `recorded`) rather than wait.
   */
  submitting = false;
  early = false;
  recorded = false;
  private over = false;
  private readonly run: StressRun;

  constructor(run: StressRun) {
    this.run = run;
  }

  done(): void {
    if (this.over) return;
    this.over = true;
    this.run.ended();
  }

  /** The request's error (or the worker's own failure). */
  onError(error: unknown): void {
    if (this.over) return;
    this.over = true;
    this.run.ended({ error });
  }

  start(): void {
    try {
      this.run.step(this, false);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Back from a turn of the event loop. */
  resume(): void {
    try {
      this.run.step(this, true);
    } catch (error) {
      this.onError(error);
    }
  }

  /** The request's outcome. */
  onOutcome(result: InvalidationOutcome): void {
    try {
      if (this.submitting) {
        this.early = true;
        this.recorded = this.run.record(this, result);
        return;
      }
      this.run.returned(this, result);
    } catch (error) {
      this.onError(error);
    }
  }
}
