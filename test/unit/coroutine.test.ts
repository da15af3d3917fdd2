import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Mutex } from '../../src/backends/emulated/kernel/mutex.js';
import { VirtualClock } from '../../src/core/clock.js';
import {
  Coroutine,
  currentCoroutine,
  drivePromise,
  type Resumable,
  type Steps,
  SUSPENDED,
} from '../../src/core/coroutine.js';

/** Logs a tick number on every microtask of a chain of `n`, to see where other work lands among them. */
function ticker(log: string[], n: number): Promise<void> {
  let chain = Promise.resolve();
  for (let i = 0; i < n; i++) chain = chain.then(() => void log.push(`t${i}`));
  return chain;
}

/** The same code, as an async function and as a generator: an awaited pending promise, a value, a throw. */
function versions(log: string[], gate: Promise<string>) {
  async function asAsync(): Promise<string> {
    log.push('start');
    const got = await gate;
    log.push(`gate ${got}`);
    await undefined;
    log.push('value');
    try {
      await Promise.reject(new Error('no'));
    } catch (error) {
      log.push(`caught ${(error as Error).message}`);
    } finally {
      log.push('finally');
    }
    return 'done';
  }
  function* asSteps(): Steps<string> {
    log.push('start');
    const got = (yield gate) as string;
    log.push(`gate ${got}`);
    yield undefined;
    log.push('value');
    try {
      yield Promise.reject(new Error('no'));
    } catch (error) {
      log.push(`caught ${(error as Error).message}`);
    } finally {
      log.push('finally');
    }
    return 'done';
  }
  return { asAsync, asSteps };
}

async function interleaving(run: 'async' | 'steps'): Promise<string[]> {
  const log: string[] = [];
  let open!: (value: string) => void;
  const gate = new Promise<string>((resolve) => {
    open = resolve;
  });
  const { asAsync, asSteps } = versions(log, gate);
  const ticks = ticker(log, 12);
  const result = run === 'async' ? asAsync() : drivePromise(asSteps());
  void Promise.resolve().then(() => {
    log.push('open');
    open('g');
  });
  log.push(`returned ${await result}`);
  await ticks;
  return log;
}

describe('drivePromise', () => {
  test('runs a generator microtask for microtask as the async function with await for yield', async () => {
    const steps = await interleaving('steps');
    assert.deepEqual(steps, await interleaving('async'));
    assert.ok(steps.indexOf('t0') > steps.indexOf('start'), 'the first segment runs at the call');
  });

  test('a throw rejects the promise, and no coroutine is current inside', async () => {
    function* failing(): Steps<never> {
      assert.equal(currentCoroutine(), null);
      yield Promise.resolve();
      throw new Error('kernel bug');
    }
    await assert.rejects(drivePromise(failing()), /kernel bug/);
  });
});

/** A coroutine that keeps its outcome, for tests. */
class Probe<R> extends Coroutine<R> {
  result: R | undefined;
  error: unknown;
  finished = false;
  go(steps: Steps<R>): this {
    this.start(steps);
    return this;
  }
  protected finish(result: R): void {
    this.finished = true;
    this.result = result;
  }
  protected fail(error: unknown): void {
    this.error = error;
  }
}

describe('Coroutine', () => {
  test('answers given at once go straight back in; SUSPENDED waits for a resume, with the value', () => {
    // Set inside the generator, which flow analysis does not see: the cast keeps the type from narrowing to null.
    let waker = null as Resumable | null;
    function* code(): Steps<number> {
      const a = (yield 2) as number;
      waker = currentCoroutine();
      const b = (yield SUSPENDED) as number;
      return a + b;
    }
    const probe = new Probe<number>().go(code());
    assert.equal(probe.finished, false, 'it waits for the resume');
    assert.equal(waker, probe, 'the service sees the coroutine as current');
    assert.equal(currentCoroutine(), null, 'and no coroutine is current once it waits');
    waker!.resume(40);
    assert.equal(probe.result, 42);
  });

  test('code that never waits ends inside start', () => {
    function* code(): Steps<string> {
      yield 1;
      return 'at once';
    }
    assert.equal(new Probe<string>().go(code()).result, 'at once');
  });

  test('a promise is waited for; a rejected one is thrown in, and an uncaught throw fails it', async () => {
    function* code(): Steps<string> {
      const value = (yield Promise.resolve('p')) as string;
      try {
        yield Promise.reject(new Error('refused'));
      } catch (error) {
        throw new Error(`${value}: ${(error as Error).message}`);
      }
      return 'unreachable';
    }
    const probe = new Probe<string>().go(code());
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(probe.finished, false);
    assert.match(String(probe.error), /p: refused/);
  });
});

describe('Mutex with coroutines and promises', () => {
  test('waiters of both kinds get the lock in arrival order; a coroutine runs on inside unlock', async () => {
    const mutex = new Mutex();
    const order: string[] = [];
    assert.equal(mutex.lock(), undefined);
    function* holder(name: string): Steps<void> {
      const wait = mutex.lock();
      assert.equal(wait, SUSPENDED);
      yield wait;
      order.push(name);
      mutex.unlock();
    }
    const first = new Probe<void>().go(holder('coroutine 1'));
    const promised = (mutex.lock() as Promise<void>).then(() => {
      order.push('promise');
      mutex.unlock();
    });
    const second = new Probe<void>().go(holder('coroutine 2'));
    mutex.unlock();
    assert.deepEqual(order, ['coroutine 1'], 'the coroutine ran inside unlock; the promise waiter is next');
    await promised;
    assert.deepEqual(order, ['coroutine 1', 'promise', 'coroutine 2']);
    assert.ok(first.finished && second.finished);
    assert.equal(mutex.contended, false);
    assert.equal(mutex.tryLock(), true, 'the last unlock freed it');
  });
});

describe('VirtualClock.resumeAfter', () => {
  test('wakes the coroutine at its instant, in the order timers were set, among promise timers', async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    function* sleeper(name: string, us: number): Steps<void> {
      const me = currentCoroutine()!;
      const got = yield clock.resumeAfter(us, me, name, () => seen.push(`${name} on time`));
      seen.push(`${got} at ${clock.now()}`);
    }
    new Probe<void>().go(sleeper('a', 10));
    const promised = clock.sleep(10).then(() => seen.push(`promise at ${clock.now()}`));
    new Probe<void>().go(sleeper('b', 5));
    new Probe<void>().go(sleeper('c', 10));
    await clock.run(promised);
    assert.deepEqual(seen, [
      'b on time',
      'b at 5',
      'a on time',
      'a at 10',
      'c on time',
      'c at 10',
      'promise at 10',
    ]);
    assert.equal(clock.pendingTimers, 0);
  });

  test('timers are used again once fired, and keep nothing of what they carried', () => {
    const clock = new VirtualClock();
    const woken: unknown[] = [];
    const wake: Resumable = { resume: (value) => woken.push(value) };
    for (let i = 0; i < 1000; i++) {
      clock.resumeAfter(1, wake, { i });
      assert.equal(clock.advance(), true);
    }
    assert.equal(woken.length, 1000);
    assert.deepEqual(woken[999], { i: 999 });
    const spare = (clock as unknown as { spare: Array<{ value: unknown; wake: unknown }> }).spare;
    assert.equal(spare.length, 1, 'one timer served all 1000');
    assert.equal(spare[0]!.value, undefined);
    assert.equal(spare[0]!.wake, null);
  });
});
