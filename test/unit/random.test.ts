import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Random } from '../../src/core/random.js';
import { U64_MAX } from '../../src/core/u64.js';

const draw = (random: Random, n: number) => Array.from({ length: n }, () => random.nextU32());

describe('Random (seeded)', () => {
  test('the same seed gives the same sequence', () => {
    assert.deepEqual(draw(new Random(42), 100), draw(new Random(42), 100));
  });

  test('different seeds give different sequences', () => {
    const seqs = [0, 1, 2, 42, 0xffffffff].map((seed) => draw(new Random(seed), 8).join(','));
    assert.equal(new Set(seqs).size, seqs.length);
  });

  test('the seed is kept as an unsigned 32-bit value', () => {
    assert.equal(new Random(-1).seed, 0xffffffff);
    assert.equal(new Random(2 ** 32 + 5).seed, 5);
    assert.deepEqual(draw(new Random(-1), 10), draw(new Random(0xffffffff), 10));
  });

  test('values are in range', () => {
    const random = new Random(7);
    for (let i = 0; i < 2000; i++) {
      const u = random.nextU32();
      assert.ok(Number.isInteger(u) && u >= 0 && u <= 0xffffffff);
      const x = random.next();
      assert.ok(x >= 0 && x < 1);
    }
  });

  test('next() is roughly uniform', () => {
    const random = new Random(3);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(random.next() * 10)]++;
    for (const count of buckets) assert.ok(count > 850 && count < 1150, `bucket ${count}`);
  });

  test('chance(0) and chance(1) draw nothing', () => {
    const a = new Random(11);
    const b = new Random(11);
    for (let i = 0; i < 5; i++) {
      assert.equal(a.chance(0), false);
      assert.equal(a.chance(-1), false);
      assert.equal(a.chance(1), true);
      assert.equal(a.chance(2), true);
    }
    assert.deepEqual(draw(a, 5), draw(b, 5));
  });

  test('chance(p) draws once and is true about p of the time', () => {
    const a = new Random(5);
    const b = new Random(5);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (a.chance(0.3)) hits++;
    for (let i = 0; i < 10_000; i++) b.next();
    assert.equal(a.nextU32(), b.nextU32());
    assert.ok(hits > 2800 && hits < 3200, `hits ${hits}`);
  });

  test('below(bound) stays below 64-bit bounds and reaches high values', () => {
    const random = new Random(9);
    for (const bound of [
      1n,
      2n,
      3n,
      1000n,
      0x1_0000_0000n,
      0x1_0000_0001n,
      1n << 63n,
      U64_MAX,
      U64_MAX + 1n,
    ]) {
      let max = 0n;
      for (let i = 0; i < 200; i++) {
        const value = random.below(bound);
        assert.ok(value >= 0n && value < bound, `${value} < ${bound}`);
        if (value > max) max = value;
      }
      if (bound >= 1000n) assert.ok(max > bound / 2n, `bound ${bound}: max ${max}`);
    }
    assert.equal(random.below(0n), 0n);
    assert.equal(random.below(-5n), 0n);
  });
});
