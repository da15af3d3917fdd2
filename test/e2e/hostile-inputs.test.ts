/**
 * Session 4 hostile audit: inputs that used to get the wrong answer.
 * - `help <unknown>` after a global option with a value (`-b emulated help bogus`) said "no command
 *   given": the option's value was taken for the command.
 * - A /proc/iomem line with a range far wider than 64 bits (a hostile --root tree) made `regions` spin
 *   in BigInt arithmetic for minutes: such a line is not the kernel's (it prints 64-bit addresses) and is
 *   skipped.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertExit, assertRefused, cli, parseJson } from '../helpers/cli.js';
import { copyFixture } from '../unit/helpers/sysfs-fixture.js';

describe('hostile inputs (session 4)', () => {
  test('help for an unknown command after a global option names that command', async () => {
    const r = await cli(['-b', 'emulated', '--seed', '3', 'help', 'bogus']);
    assertRefused(r, 64, /unknown command "bogus"/);
  });

  test('a /proc/iomem range wider than 64 bits is skipped, and regions ends at once', async () => {
    const fixture = copyFixture('cxl');
    try {
      writeFileSync(
        path.join(fixture.root, 'proc/iomem'),
        `0-${'f'.repeat(2_000_000)} : region0\n4080000000-40bfffffff : region0\n`,
      );
      const r = await cli(['--root', fixture.root, '--json', 'regions'], { timeoutMs: 20_000 });
      assertExit(r, 0);
      const iomem = parseJson(r).regions.filter((entry: { kind: string }) => entry.kind === 'iomem');
      assert.deepEqual(
        iomem.map((entry: { start: string }) => entry.start),
        ['0x4080000000'],
      );
    } finally {
      fixture.cleanup();
    }
  });
});
