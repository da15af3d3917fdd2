#!/usr/bin/env node
// `npm run test:kernel`: provisions the machine (scripts/lab-provision.mjs), then runs test/kernel/*.kernel.ts
// one file at a time (each boots real kernels through `memregion lab`; two VMs at once only slow a 2-core
// machine down), listing the files explicitly and failing when no test ran or one was skipped, as
// scripts/run-tests.mjs does. Extra arguments select files by substring.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

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
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } },
);
let tap = '';
try {
  tap = readFileSync(tapFile, 'utf8');
} catch {}
rmSync(scratch, { recursive: true, force: true });
const count = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
const skipped = count('skipped') + count('todo');
// A scenario whose boot fails cancels its tests: they count as failed, not as nothing.
const failed = count('fail') + count('cancelled');
console.log(
  `\nkernel tests: ${count('pass')} passed, ${failed} failed, ${skipped} skipped (${Math.round((Date.now() - started) / 1000)} s)`,
);
if (count('tests') === 0) {
  console.error('lab-kernel-tests: no test ran');
  process.exit(1);
}
if (skipped > 0) {
  console.error('lab-kernel-tests: skipped tests are not allowed');
  process.exit(1);
}
process.exit(result.status ?? 1);
