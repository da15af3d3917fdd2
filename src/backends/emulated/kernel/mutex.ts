import { Fifo } from '../../../core/fifo.js';

let captured: (() => void) | null = null;
const capture = (resolve: () => void) => {
  captured = resolve;
};

/**
 * A sleeping lock for the provider (kernel/locking/mutex.c, as `guard(mutex)` uses it). Taking a free lock
 * costs no promise, like the kernel's cmpxchg fast path. Not exact: waiters are woken in arrival order
 * (FIFO), where the kernel promises no order (optimistic spinning and handoff can reorder them).
 */
export class Mutex {
  private locked = false;
  /** lock->wait_list; O(1) at both ends, so 100,000 waiters cost what 8 do. */
  private readonly waiters = new Fifo<() => void>();

  /** mutex_trylock() */
  tryLock(): boolean {
    if (this.locked) return false;
    this.locked = true;
    return true;
  }

  /** mutex_lock(): undefined when the lock was free, else a promise that resolves once it is ours. */
  lock(): Promise<void> | undefined {
    if (this.tryLock()) return undefined;
    const wait = new Promise<void>(capture);
    this.waiters.push(captured!);
    captured = null;
    return wait;
  }

  /** Whether a task waits for the lock (!list_empty(&lock->wait_list)). */
  get contended(): boolean {
    return this.waiters.length > 0;
  }

  /** mutex_unlock(): hands the lock to the oldest waiter. */
  unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }
}
