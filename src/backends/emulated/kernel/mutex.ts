import { currentCoroutine, type Resumable, SUSPENDED, type Suspended } from '../../../core/coroutine.js';
import { Fifo } from '../../../core/fifo.js';

let captured: (() => void) | null = null;
const capture = (resolve: () => void) => {
  captured = resolve;
};

/** A task waiting for the lock: a promise's resolver, or a coroutine to resume. */
type Waiter = (() => void) | Resumable;

/**
 * A sleeping lock for the provider (kernel/locking/mutex.c, as `guard(mutex)` uses it). Taking a free lock
 * costs nothing, like the kernel's cmpxchg fast path. Not exact: waiters are woken in arrival order
 * (FIFO), where the kernel promises no order (optimistic spinning and handoff can reorder them).
 */
export class Mutex {
  private locked = false;
  /** The lock's waiters (7.2: lock->first_waiter and its list); O(1) at both ends, so 100,000 waiters cost what 8 do. */
  private readonly waiters = new Fifo<Waiter>();

  /** mutex_trylock() */
  tryLock(): boolean {
    if (this.locked) return false;
    this.locked = true;
    return true;
  }

  /**
   * mutex_lock(): undefined when the lock was free. Else, from a coroutine, SUSPENDED (the coroutine is
   * resumed, holding the lock, by the unlock that hands it over); from anywhere else, a promise that
   * resolves once the lock is ours.
   */
  lock(): Promise<void> | Suspended | undefined {
    if (this.tryLock()) return undefined;
    const coroutine = currentCoroutine();
    if (coroutine !== null) {
      this.waiters.push(coroutine);
      return SUSPENDED;
    }
    const wait = new Promise<void>(capture);
    this.waiters.push(captured!);
    captured = null;
    return wait;
  }

  /** Whether a task waits for the lock (lock->first_waiter != NULL). */
  get contended(): boolean {
    return this.waiters.length > 0;
  }

  /**
   * mutex_unlock(): hands the lock to the oldest waiter. A coroutine runs on at once, inside this call,
   * up to its next wait; a promise waiter one microtask later.
   */
  unlock(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.locked = false;
    else if (typeof next === 'function') next();
    else next.resume(undefined);
  }
}
