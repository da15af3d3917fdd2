/**
 * The streamed kallsyms scan (Buffer.indexOf over 256 KiB blocks) answers exactly as the line-by-line
 * parse it replaced (`text.split('\n')`, `line.trim().split(/\s+/)`), on any text, at any block boundary.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { findSymbols } from '../../src/backends/sysfs/kallsyms.js';
import { scratchFolders } from '../helpers/temp-trees.js';

const WANTED = ['cpu_cache_invalidate_memregion', 'smccc_cache_wbinv', 'hisi_soc_hha_wbinv'];
const dir = scratchFolders('memregion-kallsyms-')();
mkdirSync(path.join(dir, 'proc'));

/** The parse of memregion 0.1 before streaming, kept as the oracle. */
function oracle(text: string) {
  const wanted = new Set(WANTED);
  const found = new Set<string>();
  let sawAddress = false;
  let sawLine = false;
  for (const line of text.split('\n')) {
    const [address, type, name] = line.trim().split(/\s+/);
    if (!address || !type || !name || !/^[0-9a-fA-F]+$/.test(address)) continue;
    sawLine = true;
    if (!sawAddress && /[1-9a-fA-F]/.test(address)) sawAddress = true;
    if (wanted.has(name)) found.add(name);
  }
  return { found: [...found].sort(), addressesHidden: sawLine && !sawAddress };
}

async function scan(text: string) {
  writeFileSync(path.join(dir, 'proc/kallsyms'), text);
  const result = await findSymbols(new SysRoot(dir), WANTED);
  return { found: [...result.found].sort(), addressesHidden: result.addressesHidden };
}

const token = fc.constantFrom(
  '0000000000000000',
  'ffffffff81000000',
  '00000000',
  'zz',
  'T',
  't',
  'd',
  '[cxl_core]',
  ...WANTED,
  `${WANTED[0]}x`,
  `_${WANTED[1]}`,
  'é',
  'caché_x',
  '',
);
const space = fc.constantFrom(' ', '\t', '  ', '\r', '\v', '\u00a0', '\u2028');
const line = fc
  .array(fc.tuple(token, space), { maxLength: 5 })
  .map((parts) => parts.map(([t, s]) => t + s).join(''));

describe('kallsyms scan', () => {
  test('agrees with the line-by-line parse on any text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 30 }), async (lines) => {
        const text = lines.join('\n');
        assert.deepEqual(await scan(text), oracle(text));
      }),
      { numRuns: 300, seed: 0x5eed },
    );
  });

  test('finds a name cut by the 256 KiB block boundary, whatever the cut', async () => {
    // Hidden addresses (every line parsed) and real ones (only the lines where a name occurs).
    for (const address of ['0000000000000000', 'ffffffff81000000']) {
      const filler = `${address} T filler_symbol_name\n`;
      for (let shift = 0; shift < 60; shift += 3) {
        const before = `${filler.repeat(Math.floor((256 * 1024) / filler.length))}${'x'.repeat(shift)}\n`;
        const text = `${before}${address} T ${WANTED[0]}\n${filler}`;
        assert.deepEqual(await scan(text), oracle(text), `shift ${shift}`);
        assert.deepEqual((await scan(text)).found, [WANTED[0]]);
      }
    }
  });
});
