import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Tally } from '../../src/core/tally.js';

describe('Tally', () => {
  test('counts by key and by slot alike, read back in first-seen order', () => {
    const tally = new Tally<string>();
    const busy = tally.slot('BUSY');
    tally.add('SUCCESS');
    for (let i = 0; i < 3; i++) tally.addAt(busy);
    tally.add('SUCCESS');
    tally.add('RATE_LIMITED');
    assert.deepEqual(
      [...tally.toMap()],
      [
        ['BUSY', 3],
        ['SUCCESS', 2],
        ['RATE_LIMITED', 1],
      ],
    );
  });

  test('a slot made but never counted is not in the map; the map is a copy', () => {
    const tally = new Tally<number>();
    tally.slot(5);
    assert.equal(tally.toMap().size, 0);
    tally.add(5);
    const map = tally.toMap();
    map.set(5, 100);
    assert.equal(tally.toMap().get(5), 1);
  });
});
