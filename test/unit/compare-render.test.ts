/**
 * Issue 10: `stress --compare` — the document (workload once, a row per variant) and the side-by-side
 * table, on fixed reports.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Chalk } from 'chalk';
import { renderCompare } from '../../src/render/compare.js';
import { buildCompareReport } from '../../src/stress/compare.js';
import type { StressReport } from '../../src/stress/report.js';

const ANSI = /\u001b\[[0-9;]*m/g;

function report(provider: string, over: Partial<StressReport>): StressReport {
  return {
    backend: 'emulated',
    profile: 'global',
    provider,
    workers: 16,
    virtual_time: true,
    seed: 1,
    pattern: 'random',
    base: '0x80000000',
    size: '4096',
    span: '1073741824',
    ops_requested: 20000,
    duration_requested_s: null,
    elapsed_s: 1,
    wall_s: 0.5,
    cpu_s: 0.5,
    requests: { issued: 20000, completed: 20000, failed: 0 },
    throughput_per_s: 20000,
    latency_us: { p50: 800.255, p90: 800.255, p99: 800.255, p999: 800.255, max: 800.255, mean: 799.7 },
    firmware: { calls: 20000, by_status: { SUCCESS: 20000 } },
    retries: 0,
    coalesced: 0,
    coalescing: false,
    coalescing_factor: 1,
    errors: {},
    verify: { checked: 20000, violations: 0, examples: [] },
    interrupted: false,
    ...over,
  };
}

const REPORTS = [
  report('v2', {}),
  report('rfc', {
    throughput_per_s: 320000,
    latency_us: { p50: 50.02, p90: 50.02, p99: 50.02, p999: 50.02, max: 50.02, mean: 50 },
    firmware: { calls: 1250, by_status: { SUCCESS: 1250 } },
    coalescing: true,
    coalescing_factor: 16,
    verify: { checked: 20000, violations: 4698, examples: [{ arrival_seq: 3, served_by_seq: 1 }] },
  }),
];

describe('stress --compare', () => {
  test('the document says the workload once and has one row per variant, in the order run', () => {
    const doc = buildCompareReport(REPORTS, false);
    assert.equal(doc.compare, true);
    assert.equal(doc.workers, 16);
    assert.equal(doc.seed, 1);
    assert.equal(doc.profile, 'global');
    assert.deepEqual(
      doc.variants.map((v) => v.provider),
      ['v2', 'rfc'],
    );
    const rfc = doc.variants[1]!;
    assert.equal(rfc.firmware.calls, 1250);
    assert.equal(rfc.verify?.violations, 4698);
    assert.equal(rfc.coalescing_factor, 16);
    for (const row of doc.variants) {
      assert.ok(
        !('workers' in row) && !('seed' in row) && !('backend' in row),
        'shared fields only at the top',
      );
    }
  });

  test('the table: right-aligned numbers, one line per variant, plain without colour', () => {
    const text = renderCompare(buildCompareReport(REPORTS, false), new Chalk({ level: 0 }));
    const lines = text.split('\n');
    assert.equal(
      lines[0],
      'stress --compare: 16 workers, 20000 requests each, profile global, seed 1 (virtual time)',
    );
    assert.equal(lines[1], '  provider     req/s    p50    p99    max  calls  retries  coalesce  violations');
    assert.equal(lines[2], '  v2         20000.0  800.3  800.3  800.3  20000        0      1.00           0');
    assert.equal(lines[3], '  rfc       320000.0  50.02  50.02  50.02   1250        0     16.00        4698');
    assert.match(lines[4]!, /latency in µs/);
    assert.doesNotMatch(text, ANSI);
    for (const line of lines.slice(1)) assert.ok(line.length <= 80, `too wide: ${line}`);
  });

  test('with colour the violations stand out, and alignment ignores the colour codes', () => {
    const text = renderCompare(buildCompareReport(REPORTS, true), new Chalk({ level: 1 }));
    assert.match(text, /\u001b\[31m4698\u001b\[39m/, 'violations in red');
    assert.match(text, /interrupted/);
    const rows = text.replace(ANSI, '').split('\n').slice(1, 4);
    assert.equal(new Set(rows.map((r) => r.length)).size, 1, 'all rows the same width');
  });
});
