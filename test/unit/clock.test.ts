import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as realTimeout } from 'node:timers/promises';
import { VirtualClock } from '../../src/core/clock.js';

describe('VirtualClock', () => {
  test('time starts at 0 and moves only when every task waits on a timer', async () => {
    const clock = new VirtualClock();
    assert.equal(clock.now(), 0);
    assert.equal(clock.virtual, true);
    const seen: number[] = [];
    await clock.run(
      (async () => {
        seen.push(clock.now());
        await clock.sleep(250);
        seen.push(clock.now());
        await clock.sleep(0.5);
        seen.push(clock.now());
      })(),
    );
    assert.deepEqual(seen, [0, 250, 250.5]);
    assert.equal(clock.now(), 250.5);
  });

  test('timers fire in deadline order', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const at = (us: number, name: string) => clock.sleep(us).then(() => order.push(`${name}@${clock.now()}`));
    await clock.run(Promise.all([at(30, 'c'), at(10, 'a'), at(20, 'b'), at(5, 'first')]));
    assert.deepEqual(order, ['first@5', 'a@10', 'b@20', 'c@30']);
  });

  test('equal deadlines fire in the order they were set', async () => {
    const clock = new VirtualClock();
    const order: number[] = [];
    const tasks: Promise<unknown>[] = [];
    // Many timers at few instants, set in a scrambled order of instants: the heap must keep set order.
    for (let i = 0; i < 60; i++) {
      const deadline = [40, 10, 40, 20, 10][i % 5]!;
      tasks.push(clock.sleep(deadline).then(() => order.push(i)));
    }
    await clock.run(Promise.all(tasks));
    const expected = [10, 20, 40].flatMap((deadline) =>
      Array.from({ length: 60 }, (_, i) => i).filter((i) => [40, 10, 40, 20, 10][i % 5] === deadline),
    );
    assert.deepEqual(order, expected);
  });

  test('a timer set at the same deadline by a timer callback fires after the earlier ones', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const task = Promise.all([
      clock.sleep(10).then(async () => {
        order.push('a');
        await clock.sleep(5);
        order.push('a2');
      }),
      clock.sleep(15).then(() => order.push('b')),
    ]);
    await clock.run(task);
    assert.deepEqual(order, ['a', 'b', 'a2'], 'b was set first for t=15');
  });

  test('sleep(0) and negative sleeps resolve without a timer', async () => {
    const clock = new VirtualClock();
    await clock.sleep(0);
    await clock.sleep(-5);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(clock.now(), 0);
  });

  test('advance jumps to the next deadline and fires everything due then', async () => {
    const clock = new VirtualClock();
    let fired = 0;
    void clock.sleep(7).then(() => fired++);
    void clock.sleep(7).then(() => fired++);
    void clock.sleep(9).then(() => fired++);
    assert.equal(clock.pendingTimers, 3);
    assert.equal(clock.advance(), true);
    assert.equal(clock.now(), 7);
    assert.equal(clock.pendingTimers, 1);
    await Promise.resolve();
    assert.equal(fired, 2);
    assert.equal(clock.advance(), true);
    assert.equal(clock.advance(), false, 'nothing left');
    assert.equal(clock.now(), 9);
  });

  test('run returns the task’s value and passes its rejection on', async () => {
    const clock = new VirtualClock();
    assert.equal(await clock.run(clock.sleep(100).then(() => 42)), 42);
    await assert.rejects(
      clock.run(
        clock.sleep(5).then(() => {
          throw new Error('boom');
        }),
      ),
      /boom/,
    );
  });

  test('run rejects when the task waits on something that is not a virtual timer', async () => {
    const clock = new VirtualClock();
    await assert.rejects(clock.run(new Promise(() => {})), /not a virtual timer/);
    await assert.rejects(
      clock.run(clock.sleep(10).then(() => realTimeout(50))),
      /not a virtual timer/,
      'a real timer after a virtual one',
    );
  });

  test('a simulation of a million virtual seconds takes no real time to speak of', async () => {
    const clock = new VirtualClock();
    let ticks = 0;
    await clock.run(
      (async () => {
        for (let i = 0; i < 1000; i++) {
          await clock.sleep(1_000_000_000);
          ticks++;
        }
      })(),
    );
    assert.equal(ticks, 1000);
    assert.equal(clock.now(), 1e12);
  });
});

describe('VirtualClock drive loop', () => {
  test('sleepValue resolves with its value and calls onTime at that instant, before anyone resumes', async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const answer = clock.sleepValue(40, 'done', () => seen.push(`onTime@${clock.now()}`));
    const task = answer.then((value) => seen.push(`${value}@${clock.now()}`));
    await clock.run(task);
    assert.deepEqual(seen, ['onTime@40', 'done@40']);
    let early = 0;
    assert.equal(await clock.sleepValue(0, 7, () => early++), 7);
    assert.equal(early, 1);
  });

  test('a long simulation still lets the event loop in (a real immediate and a real timer run before it ends)', async () => {
    const clock = new VirtualClock();
    let finished = false;
    let immediateRanFirst = false;
    let timerRanFirst = false;
    setImmediate(() => {
      immediateRanFirst = !finished;
    });
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        timerRanFirst = !finished;
        resolve();
      }, 1),
    );
    await clock.run(
      (async () => {
        // Runs until the real timer has had its turn: only regular turns of the event loop get it in.
        while (!timerRanFirst) await clock.sleep(1);
        finished = true;
      })(),
    );
    await timer;
    assert.equal(immediateRanFirst, true);
    assert.equal(timerRanFirst, true);
  });
});
