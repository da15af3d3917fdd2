/**
 * The kernel code of the emulation is written once, as generators that `yield` where the C sleeps (a
 * mutex, a firmware call, fsleep()), and runs two ways:
 *
 * - `drivePromise`: exactly as an async function with `await` in place of `yield` would run, microtask
 *   for microtask. Every caller that needs the order of events at one instant kept (the rfc, batched,
 *   traced runs, the commands) gets this.
 * - a `Coroutine`: resumed by direct calls from whoever it waits on (the mutex that hands it the lock, the
 *   virtual clock's timer, a firmware that answers at once), with no promise and no microtask per wait.
 *   This is what the simulator runs at millions of requests per CPU second.
 *
 * A service (lock, invoke, fsleep) tells the two apart by `Coroutine.current`: set while a coroutine's
 * code runs, it is the coroutine to wake. It then returns SUSPENDED (and wakes it later) or an answer
 * (the coroutine goes on at once); with no coroutine current it returns a promise, as before.
 */

/** Yielded when a service has taken the current coroutine to wake later. */
export const SUSPENDED: unique symbol = Symbol('suspended');
export type Suspended = typeof SUSPENDED;

/** What a service returns: a promise (no coroutine current), an answer given at once, or SUSPENDED. */
export type Awaitable<T> = Promise<T> | T | Suspended;

/**
 * Whether a service's answer has to be waited for (a promise, or SUSPENDED). An answer given at once goes
 * on without a yield: a coroutine would resume with it straight away, and promise-driven code never gets
 * one (with no coroutine current every service answers with a promise), so neither order moves.
 */
export const mustWait = (answer: unknown): boolean => answer === SUSPENDED || answer instanceof Promise;

/** Kernel code: yields what its services return, gets back what they answered. */
export type Steps<R> = Generator<unknown, R, unknown>;

/** Something a service can wake with a value (a coroutine). */
export interface Resumable {
  resume(value: unknown): void;
}

let current: Coroutine<unknown> | null = null;

/** The coroutine whose code is running now, or null (promise-driven code, or no kernel code at all). */
export const currentCoroutine = (): Resumable | null => current;

/**
 * Runs `steps` as an async function would: each yielded promise is awaited (resumed one microtask after it
 * settles, with `.then`, as `await` does for a native promise), a yielded value is awaited as `await value`
 * would (one microtask), and the return value resolves the promise.
 */
export function drivePromise<R>(steps: Steps<R>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const next = (method: 'next' | 'throw', input: unknown): void => {
      const outer = current;
      current = null;
      let result: IteratorResult<unknown, R>;
      try {
        result = method === 'next' ? steps.next(input) : steps.throw(input);
      } catch (error) {
        reject(error);
        return;
      } finally {
        current = outer;
      }
      if (result.done) resolve(result.value);
      else Promise.resolve(result.value).then(onValue, onError);
    };
    const onValue = (value: unknown) => next('next', value);
    const onError = (error: unknown) => next('throw', error);
    next('next', undefined);
  });
}

/**
 * Kernel code driven by callbacks. `finish` gets the return value, `fail` anything thrown. A subclass
 * keeps what it needs of its caller (one object per run of the code, no closure per wait).
 */
export abstract class Coroutine<R> implements Resumable {
  /**
   * The suspended code, kept only while it waits: code that runs to its end without a wait (a free lock,
   * a firmware that answers at once) is never stored, so a generator that dies young is never written
   * into a pooled, long-lived coroutine (V8's write barrier for a young object in an old one is a good
   * part of the cost of such a request).
   */
  private steps: Steps<R> | null = null;

  protected abstract finish(result: R): void;
  protected abstract fail(error: unknown): void;

  /** Runs `steps` up to its first wait (or to its end, when nothing it asked for had to wait). */
  protected start(steps: Steps<R>): void {
    this.proceed(steps, false, undefined);
  }

  resume(value: unknown): void {
    this.proceedSuspended(false, value);
  }

  /**
   * Asks `lock` for the coroutine before any of its code runs, as that code's `yield lock.lock()` would:
   * true when the lock was free (the coroutine holds it now); else false, and the unlock that hands the
   * lock over resumes the coroutine. A waiter kept this way has no suspended generator frame.
   */
  protected lockFor(lock: { lock(): unknown }): boolean {
    const outer = current;
    current = this as Coroutine<unknown>;
    try {
      return lock.lock() === undefined;
    } finally {
      current = outer;
    }
  }

  private proceedSuspended(throwing: boolean, input: unknown): void {
    const steps = this.steps!;
    this.steps = null;
    this.proceed(steps, throwing, input);
  }

  /** Steps on with `input` (or throws it in) until the code waits or ends. */
  private proceed(steps: Steps<R>, throwing: boolean, input: unknown): void {
    for (;;) {
      const outer = current;
      current = this as Coroutine<unknown>;
      let result: IteratorResult<unknown, R>;
      try {
        result = throwing ? steps.throw(input) : steps.next(input);
      } catch (error) {
        current = outer;
        this.fail(error);
        return;
      }
      current = outer;
      if (result.done) {
        this.finish(result.value);
        return;
      }
      input = result.value;
      throwing = false;
      // Nothing runs between a service's SUSPENDED and this yield's return: the wake comes later.
      if (input === SUSPENDED) {
        this.steps = steps;
        return;
      }
      if (input instanceof Promise) {
        this.steps = steps;
        this.waitFor(input);
        return;
      }
    }
  }

  /** A service that can only answer with a promise (the real clock's sleep): goes on when it settles. */
  private waitFor(answer: Promise<unknown>): void {
    answer.then(
      (value) => this.proceedSuspended(false, value),
      (error) => this.proceedSuspended(true, error),
    );
  }
}
