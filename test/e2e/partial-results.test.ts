/**
 * Issue 7, finding 9: a command that has a partial result prints it as its one JSON document
 * (`ok: false`, what happened), as stress does; a pure input error leaves stdout empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertOneErrorLine,
  assertRefused,
  type CliResult,
  describeResult,
  emu,
  parseJson,
  spawnCli,
  waitForOutput,
  writeScratchFile,
} from '../helpers/cli.js';

const slowProfile = () =>
  writeScratchFile('slow.json', {
    regions: [
      { name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', sanitize_ms: 60_000 },
    ],
  });

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
    const child = spawnCli(
      ['-b', 'emulated', '-v', '--profile', slowProfile(), '--json', 'erase', 'mem0', '--yes'],
      {
        timeoutMs: 30_000,
      },
    );
    await waitForOutput(child.stderr, (text) => text.includes('provider registered'));
    await sleep(300);
    child.kill('SIGINT');
    const result = await child;
    const r: CliResult = {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      command: 'erase mem0 (SIGINT)',
    };
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
