import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { u64FromSafeInteger } from '../../src/core/u64.js';

describe('u64FromSafeInteger', () => {
  test('is BigInt(value) at the edges of each 32-bit half and of the safe range', () => {
    const edges = [
      0,
      1,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 32 + 1,
      2 ** 52,
      2 ** 53 - 2,
      2 ** 53 - 1,
    ];
    for (const value of edges) assert.equal(u64FromSafeInteger(value), BigInt(value), String(value));
  });

  test('is BigInt(value) for every safe non-negative integer, and each call gives its own value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.nat(), (value, other) => {
        const first = u64FromSafeInteger(value);
        const second = u64FromSafeInteger(other);
        return first === BigInt(value) && second === BigInt(other);
      }),
    );
  });
});
