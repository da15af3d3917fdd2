import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type GoldenResult, goldenFile, runWorkload, WORKLOADS } from '../helpers/stress-golden.js';

// Each seeded workload gives exactly the report (and interval snapshots) the engine gave before the
// simulator was made fast: throughput, percentiles, firmware calls, retries, violations, all of it.
describe('stress on virtual time reproduces the golden reports', () => {
  for (const workload of WORKLOADS) {
    test(workload.name, async () => {
      const golden = JSON.parse(readFileSync(goldenFile(workload.name), 'utf8')) as GoldenResult;
      const result = JSON.parse(JSON.stringify(await runWorkload(workload))) as GoldenResult;
      assert.deepEqual(result, golden);
    });
  }
});

describe('stress on virtual time is reproducible', () => {
  test('the same seed gives the same report, run after run, in one process', async () => {
    const workload = WORKLOADS.find((w) => w.name === 'busy-rfc-64w')!;
    const first = await runWorkload(workload);
    const second = await runWorkload(workload);
    assert.deepEqual(second, first);
    assert.ok((first.report.retries as number) > 0, 'the workload draws faults');
  });

  test('another seed gives another report', async () => {
    const workload = WORKLOADS.find((w) => w.name === 'busy-rfc-64w')!;
    const other = await runWorkload({ ...workload, seed: workload.seed + 1 });
    const golden = JSON.parse(readFileSync(goldenFile(workload.name), 'utf8')) as GoldenResult;
    assert.notDeepEqual(other.report.firmware, golden.report.firmware);
  });
});
