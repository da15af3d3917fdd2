/**
 * Issue 7, finding 5: output that cannot be written is never a silent success. A stdout write error other
 * than EPIPE ends the run with 74 and one line (a reader that goes away, EPIPE, stays the quiet 74: see
 * interval.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import {
  assertOneErrorLine,
  BIN,
  type CliResult,
  childEnv,
  describeResult,
  NODE,
  ROOT,
} from '../helpers/cli.js';

/** Runs memregion through sh with its stdout redirected as given (`> /dev/full`). */
async function shell(args: string[], redirect: string): Promise<CliResult> {
  const quoted = [NODE, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const script = `${quoted} ${redirect}; echo "exit=$?"`;
  const result = await execa('sh', ['-c', script], {
    cwd: ROOT,
    reject: false,
    extendEnv: false,
    env: childEnv(),
    stdin: 'ignore',
    stripFinalNewline: false,
    timeout: 30_000,
  });
  const code = /exit=(\d+)\n$/.exec(String(result.stdout));
  return {
    exitCode: code ? Number(code[1]) : undefined,
    signal: result.signal,
    stdout: String(result.stdout).replace(/exit=\d+\n$/, ''),
    stderr: String(result.stderr),
    command: `memregion ${args.join(' ')} ${redirect}`,
  };
}

describe('stdout write errors (issue 7 finding 5)', () => {
  test('probe > /dev/full: exit 74, one line naming ENOSPC', async () => {
    const r = await shell(['-b', 'emulated', 'probe'], '> /dev/full');
    assert.equal(r.exitCode, 74, describeResult(r));
    assertOneErrorLine(r, /stdout.*ENOSPC/);
  });

  test('--json probe > /dev/full: exit 74, one line', async () => {
    const r = await shell(['-b', 'emulated', '--json', 'probe'], '> /dev/full');
    assert.equal(r.exitCode, 74, describeResult(r));
    assertOneErrorLine(r, /ENOSPC/);
  });
});
