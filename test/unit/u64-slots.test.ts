import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { U64_MAX } from '../../src/core/u64.js';
import { U64Slots } from '../../src/core/u64-slots.js';

describe('U64Slots', () => {
  test('keeps every value exactly, across growth, at its own slot', () => {
    const slots = new U64Slots();
    const values = Array.from({ length: 1000 }, (_, i) => (U64_MAX - BigInt(i) * 0x1_0000_0001n) ^ BigInt(i));
    const indexes = values.map(() => slots.add());
    assert.deepEqual(
      indexes,
      values.map((_, i) => i),
    );
    for (const [i, v] of values.entries()) slots.set(i, v);
    assert.deepEqual(
      indexes.map((i) => slots.get(i)),
      values,
    );
    assert.equal(slots.get(slots.add()), 0n, 'a new slot holds 0');
  });

  test('refuses values a BigUint64Array would wrap', () => {
    const slots = new U64Slots();
    const slot = slots.add();
    slots.set(slot, 7n);
    assert.throws(() => slots.set(slot, U64_MAX + 1n), RangeError);
    assert.throws(() => slots.set(slot, -1n), RangeError);
    assert.equal(slots.get(slot), 7n, 'a refused value leaves the slot as it was');
    slots.set(slot, U64_MAX);
    assert.equal(slots.get(slot), U64_MAX);
  });
});
