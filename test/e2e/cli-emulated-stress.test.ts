/**
 * End-to-end tests of `memregion stress` on the emulated backend (DESIGN §3, §5): determinism on the
 * virtual clock, the coalescing guarantee (`--verify`), retries, --fail-on-error, bad options, a short
 * real-time run, and Ctrl-C (exit 130 with the report so far).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertExit,
  assertOneErrorLine,
  assertRefused,
  type Doc,
  describeResult,
  emu,
  parseJson,
  withoutHostMeasurements,
} from '../helpers/cli.js';
import { backendUp, stopRun } from '../helpers/stop-run.js';

const CONCURRENCY = 6;
const EX = { OK: 0, FAILURE: 1, USAGE: 64, DATA_ERR: 65, UNAVAILABLE: 69, INTERRUPTED: 130 } as const;

/** A virtual-time run: exact and reproducible, and fast. */
const sim = (args: string[], ops = 2000, seed = 7) => [
  'stress',
  '--virtual-time',
  '--ops',
  String(ops),
  '--seed',
  String(seed),
  '--json',
  ...args,
];

/** The stress contract of DESIGN §5. */
function assertStressContract(doc: Doc): void {
  assert.equal(doc.backend, 'emulated');
  assert.equal(typeof doc.profile, 'string');
  assert.ok(Number.isInteger(doc.workers) && doc.workers > 0, 'workers');
  assert.equal(typeof doc.virtual_time, 'boolean');
  assert.ok(Number.isInteger(doc.seed), 'seed');
  assert.ok(Number.isInteger(doc.requests.completed) && Number.isInteger(doc.requests.failed), 'requests');
  assert.equal(typeof doc.throughput_per_s, 'number');
  if (doc.requests.completed + doc.requests.failed > 0) {
    for (const key of ['p50', 'p90', 'p99', 'p999', 'max', 'mean'])
      assert.equal(typeof doc.latency_us[key], 'number', `latency_us.${key}`);
    assert.ok(
      doc.latency_us.p50 <= doc.latency_us.p99 && doc.latency_us.p99 <= doc.latency_us.max,
      'percentiles are ordered',
    );
  }
  assert.ok(Number.isInteger(doc.firmware.calls), 'firmware.calls');
  assert.equal(typeof doc.firmware.by_status, 'object');
  const byStatus = Object.values(doc.firmware.by_status as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(byStatus, doc.firmware.calls, 'firmware.by_status adds up to firmware.calls');
  assert.ok(Number.isInteger(doc.retries), 'retries');
  assert.ok(doc.coalescing_factor === null || typeof doc.coalescing_factor === 'number', 'coalescing_factor');
  assert.equal(typeof doc.errors, 'object');
  const errors = Object.values(doc.errors as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(errors, doc.requests.failed, 'errors by errno add up to requests.failed');
  assert.equal(typeof doc.interrupted, 'boolean');
}

describe('memregion stress on the emulated backend', { concurrency: CONCURRENCY }, () => {
  test('virtual time: the same seed gives the same report (but for host measurements); another seed another', async () => {
    // busy firmware: injected faults and retries depend on every random choice.
    const args = ['--profile', 'busy', ...sim(['--workers', '16', '--pattern', 'random'], 3000, 42)];
    const [a, b, other] = await Promise.all([
      emu(args),
      emu(args),
      emu(['--profile', 'busy', ...sim(['--workers', '16'], 3000, 43)]),
    ]);
    for (const r of [a, b, other]) {
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '', describeResult(r));
    }
    const [docA, docB, docOther] = [parseJson(a), parseJson(b), parseJson(other)];
    assertStressContract(docA);
    assert.equal(docA.virtual_time, true);
    assert.equal(docA.seed, 42);
    assert.equal(docA.requests.completed + docA.requests.failed, 3000);
    assert.deepEqual(withoutHostMeasurements(docA), withoutHostMeasurements(docB));
    assert.notDeepEqual(
      { ...withoutHostMeasurements(docA), seed: 0 },
      { ...withoutHostMeasurements(docOther), seed: 0 },
      'a different seed draws different faults',
    );
  });

  test('virtual time with --verify and the batched provider is deterministic too', async () => {
    const args = ['--provider', 'batched', ...sim(['--verify', '--workers', '32'], 2000, 11)];
    const [a, b] = await Promise.all([emu(args), emu(args)]);
    assert.deepEqual(withoutHostMeasurements(parseJson(a)), withoutHostMeasurements(parseJson(b)));
  });

  test('--provider batched --verify on a global firmware: exit 0, 0 violations, requests share firmware calls', async () => {
    const r = await emu(['--provider', 'batched', ...sim(['--verify', '--workers', '16'])]);
    assertExit(r, EX.OK);
    assert.equal(r.stderr, '');
    const doc = parseJson(r);
    assertStressContract(doc);
    assert.equal(doc.provider, 'batched');
    assert.equal(doc.verify.checked, 2000);
    assert.equal(doc.verify.violations, 0);
    assert.equal(doc.requests.completed, 2000);
    assert.ok(doc.coalescing_factor > 1, `requests share firmware calls (factor ${doc.coalescing_factor})`);
    assert.ok(doc.firmware.calls < 2000, 'fewer firmware calls than requests');
  });

  test('--provider rfc --verify: exit 1, violations > 0 (the race found in review), one error line', async () => {
    const r = await emu(['--provider', 'rfc', ...sim(['--verify', '--workers', '16'])]);
    assertExit(r, EX.FAILURE);
    const doc = parseJson(r);
    assertStressContract(doc);
    assert.equal(doc.provider, 'rfc');
    assert.ok(doc.verify.violations > 0, `violations: ${doc.verify.violations}`);
    assert.ok(doc.verify.violations <= doc.verify.checked);
    assertOneErrorLine(r, /verify/);
  });

  test('--provider v2 --verify: no coalescing, so no violation and one call per request', async () => {
    const r = await emu(['--provider', 'v2', ...sim(['--verify'], 500)]);
    assertExit(r, EX.OK);
    const doc = parseJson(r);
    assert.equal(doc.verify.violations, 0);
    assert.equal(doc.firmware.calls, 500);
    assert.equal(doc.coalescing_factor, 1);
  });

  test('range firmware: no coalescing in any variant, even batched', async () => {
    const r = await emu([
      '--profile',
      'range',
      '--provider',
      'batched',
      ...sim(['--verify', '--size', '4K'], 500),
    ]);
    assertExit(r, EX.OK);
    const doc = parseJson(r);
    assert.equal(doc.firmware.calls, 500);
    assert.equal(doc.verify.violations, 0);
  });

  test('busy firmware: the report shows retries and BUSY statuses; failures are counted, exit 0', async () => {
    const r = await emu(['--profile', 'busy', ...sim([])]);
    assertExit(r, EX.OK);
    const doc = parseJson(r);
    assertStressContract(doc);
    assert.ok(doc.retries > 0, `retries: ${doc.retries}`);
    assert.ok(doc.firmware.by_status.BUSY > 0, 'BUSY statuses counted');
    assert.ok(doc.firmware.calls > doc.requests.completed, 'more calls than completed requests');
  });

  test('stuck firmware: every request fails with EBUSY after 5 attempts; exit 0 without --fail-on-error', async () => {
    const r = await emu(['--profile', 'stuck', ...sim([], 40)]);
    assertExit(r, EX.OK);
    assert.equal(r.stderr, '');
    const doc = parseJson(r);
    assertStressContract(doc);
    assert.equal(doc.requests.completed, 0);
    assert.equal(doc.requests.failed, 40);
    assert.deepEqual(doc.errors, { EBUSY: 40 });
    assert.equal(doc.firmware.calls, 200);
    assert.equal(doc.retries, 160);
  });

  test('stuck firmware with --fail-on-error: exit 1, the report still on stdout, one error line', async () => {
    const r = await emu(['--profile', 'stuck', ...sim(['--fail-on-error'], 40)]);
    assertExit(r, EX.FAILURE);
    assert.equal(parseJson(r).requests.failed, 40);
    assertOneErrorLine(r, /failed/);
  });

  test('--fail-on-error with no failure: exit 0', async () => {
    const r = await emu(sim(['--fail-on-error'], 100));
    assertExit(r, EX.OK);
    assert.equal(parseJson(r).requests.failed, 0);
  });

  test('patterns sequential and same; human output', async () => {
    const [seq, same, human] = await Promise.all([
      emu(sim(['--pattern', 'sequential'], 100)),
      emu(sim(['--pattern', 'same', '--workers', '1'], 100)),
      emu(['stress', '--virtual-time', '--ops', '100', '--seed', '1']),
    ]);
    assertExit(seq, EX.OK);
    assert.equal(parseJson(seq).pattern, 'sequential');
    assertExit(same, EX.OK);
    assert.equal(parseJson(same).workers, 1);
    assertExit(human, EX.OK);
    assert.equal(human.stderr, '');
    assert.match(human.stdout, /^stress: 8 workers, .*virtual time.*seed 1/);
    assert.match(human.stdout, /requests\s+100 completed, 0 failed/);
  });

  const bad: Array<[string, string[], number, RegExp?]> = [
    ['--ops 0', ['stress', '--ops', '0'], EX.USAGE, /--ops/],
    ['--workers abc', ['stress', '--workers', 'abc'], EX.USAGE, /--workers/],
    ['--workers 0', ['stress', '--workers', '0', '--ops', '5'], EX.USAGE, /--workers/],
    ['--duration 0s', ['stress', '--duration', '0s'], EX.USAGE, /--duration/],
    ['--size 0', ['stress', '--size', '0', '--ops', '5'], EX.DATA_ERR, /--size/],
    ['--size garbage', ['stress', '--size', 'big', '--ops', '5'], EX.DATA_ERR, /big/],
    ['--interval without --json', ['stress', '--interval', '1s', '--ops', '5'], EX.USAGE, /--interval/],
    ['unsupported firmware', ['--profile', 'unsupported', 'stress', '--ops', '5'], EX.UNAVAILABLE],
  ];
  for (const [name, args, code, message] of bad) {
    test(`${name} → ${code}, nothing on stdout`, async () => {
      assertRefused(await emu(args), code, message);
    });
  }

  test('real time: --duration 300ms completes with a report (exit 0)', async () => {
    const r = await emu(['stress', '--duration', '300ms', '--workers', '4', '--seed', '5', '--json']);
    assertExit(r, EX.OK);
    assert.equal(r.stderr, '');
    const doc = parseJson(r);
    assertStressContract(doc);
    assert.equal(doc.virtual_time, false);
    assert.equal(doc.duration_requested_s, 0.3);
    assert.equal(doc.interrupted, false);
    assert.ok(doc.requests.completed > 0, 'some requests completed');
    assert.equal(doc.requests.failed, 0);
  });

  test('--interval with --json: one JSON line per interval, then the final report line', async () => {
    const r = await emu([
      'stress',
      '--virtual-time',
      '--duration',
      '50ms',
      '--interval',
      '10ms',
      '--seed',
      '3',
      '--json',
    ]);
    assertExit(r, EX.OK);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.ok(lines.length >= 2, `lines: ${lines.length}`);
    assert.ok(lines.slice(0, -1).every((line) => line.type === 'interval'));
    const last = lines.at(-1);
    assert.equal(last.type, 'report');
    assertStressContract(last);
  });

  test('Ctrl-C during a real-time run: exit 130, the report so far on stdout with interrupted: true', async () => {
    // -v makes the backend say when it is up, so SIGINT is sent to a running stress, not a starting node.
    const r = await stopRun(
      ['-b', 'emulated', '-v', 'stress', '--duration', '30s', '--workers', '4', '--seed', '9', '--json'],
      'SIGINT',
      backendUp(500),
    );
    assertExit(r, EX.INTERRUPTED);
    const doc = parseJson(r);
    assertStressContract(doc);
    assert.equal(doc.interrupted, true);
    assert.equal(doc.duration_requested_s, 30);
    assert.ok(doc.requests.completed > 0, 'requests completed before the interrupt are reported');
    assert.match(r.stderr, /^memregion: interrupted/m);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
});
