/**
 * `stress --json --interval T`: NDJSON while the run goes on (one `interval` line per T of the run's
 * clock), then the final `report` line, which is the report `stress --json` prints for the same run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertOneErrorLine,
  assertRefused,
  type CliResult,
  describeResult,
  emu,
  finished,
  parseJson,
  spawnCli,
  waitForOutput,
  withoutHostMeasurements,
} from '../helpers/cli.js';
import { stopRun } from '../helpers/stop-run.js';

interface Line {
  type: string;
  [key: string]: unknown;
}

/** Every line of stdout is one JSON object; intervals first, the report last. */
function ndjson(r: CliResult): Line[] {
  assert.ok(r.stdout.endsWith('\n'), `stdout must end with a newline\n${describeResult(r)}`);
  const lines = r.stdout.slice(0, -1).split('\n');
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line) as Line;
    } catch (error) {
      return assert.fail(`line ${i + 1} is not JSON (${(error as Error).message}): ${line}`);
    }
  });
  for (const line of parsed) assert.ok(line && typeof line === 'object' && !Array.isArray(line));
  assert.equal(parsed.at(-1)!.type, 'report', 'the last line is the report');
  assert.ok(
    parsed.slice(0, -1).every((line) => line.type === 'interval'),
    'every line before the last is an interval line',
  );
  return parsed;
}

const withoutTimes = (report: Record<string, unknown>) => {
  const { type: _t, started_at: _s, finished_at: _f, ...rest } = withoutHostMeasurements(report);
  return rest;
};

describe('stress --json --interval', () => {
  const run = [
    '--seed',
    '3',
    '--profile',
    'busy',
    'stress',
    '--virtual-time',
    '--duration',
    '100ms',
    '--workers',
    '4',
  ];

  test('virtual time: one line per interval of simulated time, then the report of the same run as --json', async () => {
    const r = await emu(['--json', ...run, '--interval', '10ms']);
    assert.equal(r.exitCode, 0, describeResult(r));
    assert.equal(r.stderr, '');
    const lines = ndjson(r);
    const intervals = lines.slice(0, -1);
    assert.ok(
      intervals.length >= 9 && intervals.length <= 10,
      `${intervals.length} interval lines for 100 ms / 10 ms`,
    );
    let previous = { elapsed_us: 0, completed: 0, issued: 0 };
    intervals.forEach((line, i) => {
      const current = line as unknown as typeof previous & {
        failed: number;
        errors: object;
        latency_us: object;
      };
      assert.ok(current.elapsed_us >= (i + 1) * 10_000, `interval ${i + 1} at ${current.elapsed_us} µs`);
      assert.ok(current.elapsed_us > previous.elapsed_us, 'time moves on');
      assert.ok(
        current.completed >= previous.completed && current.issued >= previous.issued,
        'counters only grow',
      );
      assert.equal(typeof current.failed, 'number');
      assert.equal(typeof current.errors, 'object');
      previous = current;
    });
    const report = lines.at(-1)!;
    assert.ok((report.requests as { completed: number }).completed >= previous.completed);
    // The final line is the very report that --json prints for the same seed (host measurements aside).
    const plain = parseJson(await emu(['--json', ...run]));
    assert.deepEqual(withoutTimes(report), withoutTimes(plain));
  });

  test('real time: interval lines arrive while the run is still going', async () => {
    const child = spawnCli([
      '-b',
      'emulated',
      '--json',
      'stress',
      '--duration',
      '1500ms',
      '--workers',
      '2',
      '--interval',
      '100ms',
    ]);
    let exited = false;
    void child.then(() => {
      exited = true;
    });
    const first = await waitForOutput(child.stdout, (text) => text.includes('\n'));
    assert.equal(exited, false, 'the first interval line came before the end of the run');
    assert.equal((JSON.parse(first.split('\n')[0]!) as Line).type, 'interval');
    const r = await finished(child, 'stress --interval 100ms');
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = ndjson(r);
    assert.ok(lines.length >= 6, `${lines.length - 1} interval lines in 1.5 s at 100 ms`);
  });

  test('Ctrl-C: the report so far is the last line (interrupted), exit 130', async () => {
    const r = await stopRun(
      ['-b', 'emulated', '--json', 'stress', '--duration', '30s', '--interval', '50ms'],
      'SIGINT',
      (child) => waitForOutput(child.stdout, (text) => text.split('\n').length > 2),
    );
    assert.equal(r.exitCode, 130, r.stderr);
    const lines = ndjson(r);
    assert.equal(lines.at(-1)!.interrupted, true);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });

  test('a reader that goes away (| head -1) stops the run: exit 74, no stack trace', async () => {
    const child = spawnCli(['-b', 'emulated', '--json', 'stress', '--duration', '30s', '--interval', '20ms']);
    await waitForOutput(child.stdout, (text) => text.includes('\n'));
    child.stdout!.destroy();
    const r = await finished(child, 'stress --interval (stdout closed)');
    assert.equal(r.exitCode, 74, describeResult(r));
    assert.doesNotMatch(r.stderr, /^\s+at |EPIPE/m, describeResult(r));
    if (r.stderr !== '') assertOneErrorLine(r);
  });

  test('refused before any work: without --json, with --output, with a zero interval', async () => {
    assertRefused(
      await emu(['stress', '--virtual-time', '--ops', '10', '--interval', '1s']),
      64,
      /--interval/,
    );
    assertRefused(
      await emu(['--json', '--output', '/tmp/x.json', 'stress', '--ops', '10', '--interval', '1s']),
      64,
      /--interval/,
    );
    const zero = await emu(['--json', 'stress', '--virtual-time', '--ops', '10', '--interval', '0s']);
    assert.equal(zero.stdout, '');
    assert.ok(zero.exitCode === 64 || zero.exitCode === 65, describeResult(zero));
    assertOneErrorLine(zero);
  });
});
