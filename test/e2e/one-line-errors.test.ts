/**
 * Issue 7, finding 11: an error is always one line. User text with a newline, an ESC byte or another
 * control character is shown escaped, wherever it appears in the message (our quoting, commander's
 * parse errors, warnings).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertOneErrorLine, assertRefused, cli, describeResult, emu } from '../helpers/cli.js';

/** No raw control character on stderr except the line ends. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

describe('errors are one line, control characters escaped (issue 7 finding 11)', () => {
  test('a newline and an ESC in an address: one line, shown as \\n and \\x1b', async () => {
    const r = await emu(['invalidate', 'a\nb\u001b[31mred', '4K']);
    assertRefused(r, 65);
    assert.doesNotMatch(r.stderr, RAW_CONTROL, describeResult(r));
    assert.ok(r.stderr.includes('"a\\nb\\x1b[31mred"'), describeResult(r));
  });

  test('an unknown option with a newline (commander parse error): one line, escaped', async () => {
    const r = await emu(['--x\ny', 'probe']);
    assertRefused(r, 64, /unknown option/);
    assert.doesNotMatch(r.stderr, RAW_CONTROL, describeResult(r));
  });

  test('commander suggestion stays on the same line', async () => {
    const r = await emu(['--jsn', 'probe']);
    assertRefused(r, 64, /unknown option '--jsn' \(Did you mean --json\?\)/);
  });

  test('C1 controls, DEL and U+2028 in a profile name are escaped too', async () => {
    const r = await emu(['--profile', 'x\u009b2J\u007f\u2028y', 'probe']);
    assert.equal(r.stdout, '', describeResult(r));
    assertOneErrorLine(r);
    assert.doesNotMatch(r.stderr, RAW_CONTROL, describeResult(r));
  });

  test('a CR in a duration and a backspace in a count are escaped', async () => {
    for (const args of [
      ['stress', '--duration', '1s\r2s'],
      ['stress', '--workers', '4\b'],
    ]) {
      const r = await emu(args);
      assertRefused(r, 64);
      assert.doesNotMatch(r.stderr, RAW_CONTROL, describeResult(r));
    }
  });

  test('a sysfs memdev name with an ESC byte: one line, escaped', async () => {
    const r = await cli(['--root', 'test/fixtures/cxl', 'erase', 'mem\u001b]0;x\u0007', '--yes']);
    assert.equal(r.stdout, '', describeResult(r));
    assertOneErrorLine(r);
    assert.doesNotMatch(r.stderr, RAW_CONTROL, describeResult(r));
  });

  test('no command, and help for an unknown command: 64 with one line, not the whole help', async () => {
    assertRefused(await cli([]), 64, /no command given/);
    assertRefused(await emu([]), 64, /no command given/);
    assertRefused(await cli(['help', 'bo\ngus']), 64, /unknown command "bo\\ngus"/);
  });

  test('asked-for help still goes to stdout with 0', async () => {
    const r = await cli(['--help']);
    assert.equal(r.exitCode, 0, describeResult(r));
    assert.match(r.stdout, /^Usage: memregion/);
    assert.equal(r.stderr, '');
  });
});
