/**
 * Issue 7, finding 9: a command that has a partial result prints it as its one JSON document
 * (`ok: false`, what happened), as stress does; a pure input error leaves stdout empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertOneErrorLine, assertRefused, describeResult, emu, parseJson } from '../helpers/cli.js';
import { backendUp, slowEraseProfile, stopRun } from '../helpers/stop-run.js';

describe('--json partial results (issue 7 finding 9)', () => {
  test('erase --timeout 1ms: one JSON document with ok false, outcome timeout; exit 75 and one line', async () => {
    const r = await emu(['--json', 'erase', 'mem0', '--yes', '--timeout', '1ms']);
    assert.equal(r.exitCode, 75, describeResult(r));
    const doc = parseJson(r);
    assert.equal(doc.ok, false);
    assert.equal(doc.outcome, 'timeout');
    assert.equal(doc.memdev, 'mem0');
    assert.equal(doc.state, 'sanitize');
    assertOneErrorLine(r, /timed out/);
  });

  test('erase interrupted by SIGINT: one JSON document with outcome interrupted; exit 130', async () => {
    const r = await stopRun(
      ['-b', 'emulated', '-v', '--profile', slowEraseProfile(), '--json', 'erase', 'mem0', '--yes'],
      'SIGINT',
      backendUp(),
      { timeoutMs: 30_000 },
    );
    assert.equal(r.exitCode, 130, describeResult(r));
    const doc = parseJson(r);
    assert.equal(doc.ok, false);
    assert.equal(doc.outcome, 'interrupted');
  });

  test('pure input errors leave stdout empty under --json', async () => {
    assertRefused(await emu(['--json', 'erase', 'mem9', '--yes']), 65);
    assertRefused(await emu(['--json', 'erase', 'mem0']), 64, /--yes/);
    assertRefused(await emu(['--json', 'erase', 'mem0', '--yes', '--timeout', 'soon']), 64);
  });
});
