import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NO_RESOURCE, parseKernelInt } from '../../src/backends/sysfs/values.js';

describe('parseKernelInt: a sysfs value as the kernel prints it', () => {
  test('hex with or without 0x (radix 16), decimal otherwise, up to 2^64 - 1', () => {
    assert.equal(parseKernelInt('0x4080000000\n', 16), 0x4080000000n);
    assert.equal(parseKernelInt('8000000', 16), 0x8000000n);
    assert.equal(parseKernelInt('0', 16), 0n);
    assert.equal(parseKernelInt('42'), 42n);
    assert.equal(parseKernelInt('0xffffffffffffffff', 16), NO_RESOURCE);
    assert.equal(parseKernelInt('18446744073709551615'), NO_RESOURCE);
  });

  // Session 7: a --root tree's region size of 0x10000000000000000 was listed as 18446744073709551616 bytes.
  test('past 64 bits is no kernel value: null, as any other malformed value', () => {
    for (const [text, radix] of [
      ['0x10000000000000000', 16],
      ['10000000000000000', 16],
      ['18446744073709551616', 10],
      [`0x${'f'.repeat(100)}`, 16],
    ] as const)
      assert.equal(parseKernelInt(text, radix), null, text);
    assert.equal(parseKernelInt('-1'), null);
    assert.equal(parseKernelInt('0x'), null);
    assert.equal(parseKernelInt(null), null);
  });
});
