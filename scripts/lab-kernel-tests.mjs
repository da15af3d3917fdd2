#!/usr/bin/env node
// `npm run test:kernel`: provisions the machine (scripts/lab-provision.mjs), then runs test/kernel/*.kernel.ts
// one file at a time (each boots real kernels through `memregion lab`; two VMs at once only slow a 2-core
// machine down), listing the files explicitly and failing when no test ran or one was skipped, as
// scripts/run-tests.mjs does. Extra arguments select files by substring.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readTap, tapCounts, tapRefusal, tapReporterArgs } from './tap-counts.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);
const provision = spawnSync(process.execPath, [path.join(root, 'scripts', 'lab-provision.mjs')], {
  stdio: 'inherit',
});
if (provision.status !== 0) process.exit(1);

const dir = path.join(root, 'test', 'kernel');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.kernel.ts'))
  .map((f) => path.join('test', 'kernel', f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('lab-kernel-tests: no test files found');
  process.exit(1);
}
const scratch = mkdtempSync(path.join(tmpdir(), 'memregion-kernel-tests-'));
const tapFile = path.join(scratch, 'report.tap');
const started = Date.now();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...tapReporterArgs(tapFile), ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } },
);
const counts = tapCounts(readTap(tapFile));
rmSync(scratch, { recursive: true, force: true });
// A scenario whose boot fails cancels its tests: tapCounts counts them as failed, not as nothing.
console.log(
  `\nkernel tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${Math.round((Date.now() - started) / 1000)} s)`,
);
const refusal = tapRefusal(counts);
if (refusal) {
  console.error(`lab-kernel-tests: ${refusal}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
