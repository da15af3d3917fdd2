/**
 * Session 6 hostile audit: text from the user or from files reaching the terminal.
 * - The bidirectional formatting characters (U+202E and friends) reached the terminal raw inside an error
 *   line, so that the rest of the line showed reversed ("Trojan Source", CVE-2021-42574).
 * - An error quoting a huge argument (a 100 KB option name, a 120 KB path) was one line of that size.
 * - A profile file's `name` with an ESC or a newline was printed raw in the human reports (probe, stress,
 *   stress --compare): colours, cursor moves and a forged second line, from a file.
 * - The first kernel log record that probe quotes as evidence was printed raw: a `--root` tree collected
 *   elsewhere can hold escape sequences there (the kernel's own /dev/kmsg escapes them).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  assertOneErrorLine,
  assertRefused,
  cli,
  describeResult,
  emu,
  writeScratchFile,
} from '../helpers/cli.js';
import { copyFixture } from '../unit/helpers/sysfs-fixture.js';

const ESC = '\u001b';
const RLO = '\u202e';

describe('hostile text on the terminal (session 6)', () => {
  test('bidirectional formatting characters in an argument are shown escaped in the error line', async () => {
    for (const args of [
      ['invalidate', '--region', `region${RLO}0`],
      ['invalidate', `0x10${RLO}00`, '4K'],
      [`--\u2066bogus`],
    ]) {
      const r = await emu(args);
      assertOneErrorLine(r);
      assert.doesNotMatch(r.stderr, /[\u202a-\u202e\u2066-\u2069]/, describeResult(r));
      assert.match(r.stderr, /\\u(202e|2066)/, describeResult(r));
    }
  });

  test('an error quoting a huge argument is one bounded line that keeps its end', async () => {
    const cases: [string[], number][] = [
      [[`--${'x'.repeat(100_000)}`, 'probe'], 64],
      [['--profile', 'a/'.repeat(60_000), 'probe'], 66],
    ];
    for (const [args, code] of cases) {
      const r = await emu(args);
      assertRefused(r, code);
      assert.ok(r.stderr.length < 2100, `${r.stderr.length} characters\n${describeResult(r)}`);
      assert.match(r.stderr, /…/, describeResult(r));
    }
    const r = await emu(['--profile', 'a/'.repeat(60_000), 'probe']);
    assert.match(r.stderr, /\(ENAMETOOLONG\)\n$/, describeResult(r));
  });

  // Session 7: such a name never reaches a report: the profile is refused when it is loaded (the report
  // headers still escape what they print, for text that comes another way).
  test("a profile's name with escape sequences and a newline is refused (65) by every command, the line escaped", async () => {
    const profile = writeScratchFile('hostile-name.json', {
      name: `lab${ESC}[31mRED${ESC}[0m\nmemregion invalidation: not supported`,
    });
    for (const args of [
      ['probe'],
      ['stress', '--ops', '20', '--virtual-time', '--seed', '1'],
      ['stress', '--ops', '20', '--virtual-time', '--seed', '1', '--compare'],
    ]) {
      const r = await emu(['--profile', profile, ...args], { timeoutMs: 30_000 });
      assertRefused(r, 65, /: name: contains a control character \(\\x1b\)/);
      assert.ok(!r.stderr.includes(ESC), describeResult(r));
    }
  });

  test('a kernel log record with escape sequences in a --root tree is quoted escaped in the evidence', async () => {
    const fixture = copyFixture('cxl');
    try {
      writeFileSync(
        path.join(fixture.root, 'dev/kmsg'),
        `6,0,0,-;Linux version ${ESC}]0;owned\u0007${ESC}[2J ${RLO}evil\n`,
      );
      const r = await cli(['--root', fixture.root, 'probe']);
      assert.ok([0, 69].includes(r.exitCode ?? -1), describeResult(r));
      assert.ok(!r.stdout.includes(ESC) && !r.stdout.includes(RLO), describeResult(r));
      assert.match(r.stdout, /first: seq 0 "Linux version \\x1b\]0;owned\\x07\\x1b\[2J \\u202eevil"/);
    } finally {
      fixture.cleanup();
    }
  });
});
