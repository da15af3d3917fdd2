import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { lineAndColumn, parseJsonText, syntaxErrorOffset } from '../../src/core/json-text.js';

describe('JSON text a person wrote', () => {
  test('the scan stops where JSON.parse says it stopped, wherever V8 gives a position', () => {
    // Texts near JSON: valid ones with a character dropped, doubled or replaced.
    const nearJson = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', '}', ']', '"', ':', '-', '0', 'e', '.', ' ', '\\', 'x'),
      )
      .map(([json, at, c]) => {
        const cut = at % (json.length + 1);
        return json.slice(0, cut) + c + json.slice(cut + (at % 2));
      });
    fc.assert(
      fc.property(nearJson, (text) => {
        let stated: number | null = null;
        let valid = true;
        try {
          JSON.parse(text);
        } catch (error) {
          valid = false;
          const at = /at position (\d+)/.exec((error as Error).message);
          if (at) stated = Number(at[1]);
        }
        const offset = syntaxErrorOffset(text);
        if (valid) assert.equal(offset, null, text);
        else assert.notEqual(offset, null, text);
        if (stated !== null) assert.equal(offset, stated, text);
      }),
      { numRuns: 2000 },
    );
  });

  test('one leading byte-order mark is dropped', () => {
    assert.deepEqual(parseJsonText('\ufeff{"a": 1}'), { value: { a: 1 } });
    assert.deepEqual(parseJsonText('\ufeff\ufeff{}'), { error: ' at line 1, column 1' });
  });

  test('lines and columns count from 1, columns in characters', () => {
    assert.equal(lineAndColumn('{\n  x', 4), 'line 2, column 3');
    assert.equal(lineAndColumn('"😀" x', 5), 'line 1, column 5');
  });

  test('too deep to scan: no position rather than a stack overflow', () => {
    assert.deepEqual(parseJsonText('['.repeat(100_000)), { error: '' });
  });
});
