/**
 * Session 14 audit of the command line and the emulated backend as a hostile or careless user drives them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertRefused, emu, parseJson, writeScratchFile } from '../helpers/cli.js';

describe('stress --virtual-time --duration on a firmware that takes no time (session 14)', () => {
  const ZERO_TIME = /answers in zero time/;
  const run = (profile: object, ...extra: string[]) =>
    emu(
      [
        '--profile',
        writeScratchFile('profile.json', profile),
        '--json',
        'stress',
        '--virtual-time',
        '--workers',
        '1',
        ...(extra.includes('--duration') ? extra : ['--duration', '1s', ...extra]),
      ],
      { timeoutMs: 30_000 },
    );

  test('a global firmware with only per_gib_us (which a global call ignores): 64, not a run that never ends', async () => {
    const r = await run({ timing: { call_us: 0, per_gib_us: 100 }, attributes: { latency_us: 0 } });
    assertRefused(r, 64, ZERO_TIME);
  });

  test('a call of a fraction of a nanosecond, which the clock stops adding: 64', async () => {
    const r = await run({ timing: { call_us: 1e-300 }, attributes: { latency_us: 0 } });
    assertRefused(r, 64, ZERO_TIME);
  });

  test('a range firmware whose call for --size is under 1 ns: 64; for a size it spends time on, the run ends', async () => {
    const range = { timing: { call_us: 0, per_gib_us: 100 }, attributes: { global: false, latency_us: 0 } };
    assertRefused(await run(range, '--size', '4K'), 64, ZERO_TIME);
    const r = await run(range, '--size', '1G', '--span', '1G', '--duration', '10ms');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(parseJson(r).interrupted, false);
  });
});

describe('stress --virtual-time --duration on a firmware that fails every call at once (session 14)', () => {
  const STANDS_STILL = /virtual time stands still at 0 µs: .* answered in zero time \(errors: EINVAL\)/;
  const profiles: Array<[string, object]> = [
    ['faults.always invalid_parameter', { faults: { always: 'invalid_parameter' } }],
    ['an align_bytes no --size meets', { checks: { align_bytes: '0x100000000' } }],
  ];
  for (const [label, profile] of profiles)
    test(`${label}: 64 with one line, not a clock that never reaches the deadline`, async () => {
      const r = await emu(
        [
          '--profile',
          writeScratchFile('fails-at-once.json', profile),
          '--json',
          'stress',
          '--virtual-time',
          '--duration',
          '1s',
          '--workers',
          '2',
        ],
        { timeoutMs: 60_000 },
      );
      assertRefused(r, 64, STANDS_STILL);
    });

  test('with --ops the same firmware still runs to its count, every request failed', async () => {
    const r = await emu(
      [
        '--profile',
        writeScratchFile('fails-at-once.json', { faults: { always: 'invalid_parameter' } }),
        '--json',
        'stress',
        '--virtual-time',
        '--ops',
        '2000',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const { requests } = parseJson(r);
    assert.deepEqual([requests.completed, requests.failed], [0, 2000]);
  });
});
