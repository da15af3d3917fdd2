/**
 * Issue 7, finding 15: the number forms memregion takes are exactly the documented ones (decimal, 0x
 * hex, the unit suffixes of the README, case included); anything else is refused with one line, never
 * read as another value. `0x` alone says it has no hex digits. Finding 12: a --root that is missing
 * (66), not a directory (66) or empty (64) is an error, not an "unknown" machine.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertRefused, cli, emu, parseJson, writeScratchFile } from '../helpers/cli.js';

describe('number forms (issue 7 finding 15)', () => {
  test('invalidate 0x 4K: "no hex digits" (65)', async () => {
    assertRefused(await emu(['invalidate', '0x', '4K']), 65, /"0x" has no hex digits/);
  });

  for (const [size, why] of [
    ['1_000', /no blanks or _/],
    ['4 K', /no blanks or _/],
    [' 4K', /no blanks or _/],
    ['4kb', /unknown unit "kb".*case matters/],
    ['4k', /unknown unit "k".*case matters/],
    ['4KIB', /unknown unit "KIB"/],
  ] as const) {
    test(`size ${JSON.stringify(size)} is refused (65)`, async () => {
      assertRefused(await emu(['invalidate', '0x80000000', size]), 65, why);
    });
  }

  test('counts and durations take plain digits only: --ops 1_000, --duration "1 s" → 64', async () => {
    assertRefused(
      await emu(['stress', '--virtual-time', '--ops', '1_000']),
      64,
      /--ops "1_000" is not a whole number/,
    );
    assertRefused(await emu(['stress', '--virtual-time', '--duration', '1 s']), 64, /--duration "1 s"/);
  });

  test('the documented forms: 4K = 4KiB = 4096, 4KB = kB = 4000', async () => {
    for (const [size, bytes] of [
      ['4K', '4096'],
      ['4KiB', '4096'],
      ['4KB', '4000'],
      ['4kB', '4000'],
    ]) {
      const doc = parseJson(await emu(['--json', 'invalidate', '0x80000000', size!]));
      assert.equal(doc.size, bytes, size);
    }
  });
});

describe('--root (issue 7 finding 12)', () => {
  test('--root /nonexistent: 66, one line, empty stdout even with --json', async () => {
    assertRefused(await cli(['--root', '/nonexistent/memregion', 'probe']), 66, /no such directory/);
    assertRefused(await cli(['--json', '--root', '/nonexistent/memregion', 'probe']), 66, /--root/);
  });

  test('--root that is a file: 66', async () => {
    assertRefused(await cli(['--root', writeScratchFile('plain', 'x'), 'regions']), 66, /not a directory/);
  });

  test("--root '' and an empty MEMREGION_ROOT: 64", async () => {
    assertRefused(await cli(['--root', '', 'probe']), 64, /empty/);
    assertRefused(await cli(['probe'], { env: { MEMREGION_ROOT: '' } }), 64, /MEMREGION_ROOT/);
  });

  test('the emulated backend does not read --root: an empty MEMREGION_ROOT does not matter there', async () => {
    const r = await emu(['--json', 'probe'], { env: { MEMREGION_ROOT: '' } });
    assert.equal(r.exitCode, 0);
  });
});
