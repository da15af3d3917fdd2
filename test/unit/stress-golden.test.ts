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
