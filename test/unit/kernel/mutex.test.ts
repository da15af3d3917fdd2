import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Mutex } from '../../../src/backends/emulated/kernel/mutex.js';
import { Fifo } from '../../../src/core/fifo.js';

describe('Fifo', () => {
  test('keeps first-in first-out order across growth, wrap-around, interleaved pushes and emptying', () => {
    const fifo = new Fifo<number>();
    const expected: number[] = [];
    const got: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 700; i++) {
        fifo.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < 500; i++) got.push(fifo.shift()!);
    }
    while (fifo.length > 0) got.push(fifo.shift()!);
    assert.deepEqual(got, expected);
    assert.equal(fifo.shift(), undefined);
    assert.equal(fifo.length, 0);
  });
});

describe('Mutex', () => {
  test('100,000 waiters get the lock one at a time, in arrival order', async () => {
    const mutex = new Mutex();
    assert.equal(mutex.lock(), undefined, 'a free lock costs no promise');
    const order: number[] = [];
    let holders = 0;
    const waits = Array.from({ length: 100_000 }, (_, i) =>
      // Outside a coroutine a taken lock answers with a promise.
      (mutex.lock() as Promise<void>).then(() => {
        holders += 1;
        assert.equal(holders, 1);
        order.push(i);
        holders -= 1;
        mutex.unlock();
      }),
    );
    assert.equal(mutex.contended, true);
    mutex.unlock();
    await Promise.all(waits);
    assert.equal(order.length, 100_000);
    assert.ok(order.every((v, i) => v === i));
    assert.equal(mutex.contended, false);
    assert.equal(mutex.tryLock(), true, 'the last unlock freed it');
  });
});
