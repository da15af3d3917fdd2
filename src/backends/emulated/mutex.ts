/**
 * The provider's lock. Taking a free lock costs no promise, so the uncontended path stays as cheap as
 * the firmware call itself; waiters are handed the lock in arrival order.
 */
export class Mutex {
  private locked = false;
  private readonly waiters: Array<() => void> = [];

  /** Takes the lock if it is free. */
  tryAcquire(): boolean {
    if (this.locked) return false;
    this.locked = true;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    if (this.waiters.length === 0) this.locked = false;
    else this.waiters.shift()!();
  }
}
