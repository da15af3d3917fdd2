import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type Resumable, SUSPENDED, type Suspended } from './coroutine.js';
import { longTimeout } from './timers.js';

/** Time source for the emulation: real (wall clock) or virtual (discrete-event simulation). */
export interface Clock {
  readonly virtual: boolean;
  /** Microseconds since the clock was created. */
  now(): number;
  /** Resolves after `us` microseconds of this clock's time. */
  sleep(us: number): Promise<void>;
  /**
   * Resolves with `value` after `us` (at once when `us` is not above 0), calling `onTime` first, at that
   * instant: a timed answer in one promise.
   */
  sleepValue<T>(us: number, value: T, onTime?: () => void): Promise<T>;
  /** `sleepValue` for a coroutine: `onTime`, then `wake` is resumed with `value`, after `us` (above 0). */
  resumeAfter(us: number, wake: Resumable, value: unknown, onTime?: () => void): Suspended;
}

/**
 * Wall-clock time. Sleeps below a few milliseconds yield to the event loop until the deadline instead of
 * using timers, whose millisecond granularity would distort microsecond firmware latencies.
 */
export class RealClock implements Clock {
  readonly virtual = false;
  private readonly origin = process.hrtime.bigint();

  now(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1000;
  }

  async sleep(us: number): Promise<void> {
    if (us <= 0) return;
    const deadline = this.now() + us;
    // longTimeout: a firmware call of hours (per_gib_us over a range of exbibytes) is past what one
    // setTimeout holds, which Node then fires after 1 ms, so that the loop below spun at full CPU.
    if (us >= 3000) await new Promise<void>((resolve) => longTimeout(Math.floor(us / 1000) - 1, resolve));
    while (this.now() < deadline) await yieldToLoop();
  }

  async sleepValue<T>(us: number, value: T, onTime?: () => void): Promise<T> {
    await this.sleep(us);
    onTime?.();
    return value;
  }

  resumeAfter(us: number, wake: Resumable, value: unknown, onTime?: () => void): Suspended {
    void this.sleepValue(us, value, onTime).then((answer) => wake.resume(answer));
    return SUSPENDED;
  }
}

interface Timer {
  at: number;
  seq: number;
  /** A promise's resolver, or null when the timer wakes a coroutine. */
  resolve: ((value: unknown) => void) | null;
  wake: Resumable | null;
  value: unknown;
  onTime: (() => void) | undefined;
}

/** Steps of the simulation between two turns of the event loop (I/O, signals, real timers). */
const STEPS_PER_TURN = 256;
/** A settled promise: `.then` on it is a bare V8 microtask (queueMicrotask adds Node's async-context wrapper). */
const RESOLVED = Promise.resolve();

let captured: ((value: unknown) => void) | null = null;
const capture = (resolve: (value: unknown) => void) => {
  captured = resolve;
};

/**
 * Virtual time: `sleep` queues a timer and time only moves when every task is waiting on one. `run`
 * drives the simulation: it lets all pending promise work settle, then jumps to the earliest timer.
 * Equal deadlines fire in the order they were set, so a run is exactly reproducible.
 *
 * "All pending promise work settled" is found without a turn of the event loop per step: a
 * process.nextTick queued from inside a microtask runs only once V8 has drained the whole microtask
 * queue (Node's processTicksAndRejections runs ticks, then every microtask, then the ticks those
 * queued). So each step is a microtask hop and a tick instead of a setImmediate, and the event loop
 * still gets a turn every STEPS_PER_TURN steps.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  private time = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];
  /** Fired timers, to be set again. */
  private readonly spare: Timer[] = [];
  /** Tasks letting the event loop in (`pause`): time does not move until they are back. */
  private pausing = 0;
  /** What a `pause` waits for, when it is more than a turn: `run` waits for it too rather than spin. */
  private held: Promise<void> | null = null;

  now(): number {
    return this.time;
  }

  sleep(us: number): Promise<void> {
    if (us <= 0) return Promise.resolve();
    return this.timer(us, undefined, undefined) as Promise<void>;
  }

  sleepValue<T>(us: number, value: T, onTime?: () => void): Promise<T> {
    if (us <= 0) {
      onTime?.();
      return Promise.resolve(value);
    }
    return this.timer(us, value, onTime) as Promise<T>;
  }

  resumeAfter(us: number, wake: Resumable, value: unknown, onTime?: () => void): Suspended {
    this.push(this.make(us, null, wake, value, onTime));
    return SUSPENDED;
  }

  private timer(us: number, value: unknown, onTime: (() => void) | undefined): Promise<unknown> {
    const promise = new Promise(capture);
    this.push(this.make(us, captured!, null, value, onTime));
    captured = null;
    return promise;
  }

  /** A timer due `us` from now: one from `spare` when there is one (the simulator sets one per call). */
  private make(
    us: number,
    resolve: Timer['resolve'],
    wake: Timer['wake'],
    value: unknown,
    onTime: Timer['onTime'],
  ): Timer {
    const timer = this.spare.pop();
    if (timer === undefined) return { at: this.time + us, seq: this.seq++, resolve, wake, value, onTime };
    timer.at = this.time + us;
    timer.seq = this.seq++;
    timer.resolve = resolve;
    timer.wake = wake;
    timer.value = value;
    timer.onTime = onTime;
    return timer;
  }

  private fire(timer: Timer): void {
    const { resolve, wake, value, onTime } = timer;
    timer.resolve = null;
    timer.wake = null;
    timer.value = undefined;
    timer.onTime = undefined;
    this.spare.push(timer);
    onTime?.();
    if (resolve !== null) resolve(value);
    else wake!.resume(value);
  }

  /**
   * Lets the event loop run (signals, I/O, real timers) without virtual time moving meanwhile, so that a
   * simulation that never waits on a timer (a zero-time firmware) can still be interrupted.
   */
  async pause(until?: Promise<void>): Promise<void> {
    this.pausing += 1;
    if (until !== undefined) this.held = until;
    try {
      await (until ?? yieldToLoop());
    } finally {
      this.pausing -= 1;
      if (this.held === until) this.held = null;
    }
  }

  get pendingTimers(): number {
    return this.heap.length;
  }

  /** Advances to the next timer and fires it (with every other timer due at the same instant). */
  advance(): boolean {
    const next = this.pop();
    if (!next) return false;
    this.time = next.at;
    this.fire(next);
    while (this.heap.length > 0 && this.heap[0]!.at === this.time) this.fire(this.pop()!);
    return true;
  }

  /** Runs `task` to completion on virtual time. Rejects if it waits on something that is not a timer. */
  run<T>(task: Promise<T>): Promise<T> {
    let settled = false;
    const tracked = task.finally(() => {
      settled = true;
    });
    tracked.catch(() => {});
    return new Promise<void>((resolve, reject) => {
      let steps = 0;
      // After a real turn of the event loop: nothing due and nothing settled means a foreign wait.
      let idleTurn = false;
      const afterDrain = () => process.nextTick(step);
      const step = () => {
        try {
          if (settled) return resolve();
          if (this.held !== null) {
            const next = () => setImmediate(step);
            return void this.held.then(next, next);
          }
          if (this.pausing > 0) return void setImmediate(step);
          if (this.heap.length === 0) {
            if (idleTurn)
              throw new Error(
                'virtual clock: simulation is waiting on something that is not a virtual timer',
              );
            idleTurn = true;
            return void setImmediate(step);
          }
          idleTurn = false;
          this.advance();
          if (++steps % STEPS_PER_TURN === 0) setImmediate(step);
          else RESOLVED.then(afterDrain);
        } catch (error) {
          reject(error);
        }
      };
      setImmediate(step);
    }).then(() => tracked);
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Timer | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

const earlier = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);
