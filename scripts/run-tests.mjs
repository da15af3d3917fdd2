#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test + tsx, listing the files explicitly (on Node 20 a folder
// argument finds no test and exits 0), and fails when no test ran. Extra arguments select files by
// substring: `npm test -- provider`. First it provisions the tools the selected tests drive
// (scripts/provision.mjs). Bounds: one test may take TEST_TIMEOUT_MS, the whole run RUN_TIMEOUT_MS, after
// which the runner's process group (every test file and what it spawned) is killed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { provision } from './provision.mjs';
import { readTap, tapCounts, tapRefusal, tapReporterArgs } from './tap-counts.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : find(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = find(path.join(root, 'test'))
  .map((f) => path.relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}

const TEST_TIMEOUT_MS = 5 * 60_000;
const RUN_TIMEOUT_MS = 30 * 60_000;

const unprovisioned = provision(files);
if (unprovisioned) {
  console.error(`run-tests: ${unprovisioned}`);
  process.exit(1);
}

const scratch = mkdtempSync(path.join(tmpdir(), 'memregion-tests-'));
const tapFile = path.join(scratch, 'report.tap');
const runner = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-timeout=${TEST_TIMEOUT_MS}`, ...tapReporterArgs(tapFile), ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' }, detached: true },
);
const killRunner = (signal) => {
  try {
    process.kill(-runner.pid, signal);
  } catch {}
};
let timedOut = false;
const timer = setTimeout(() => {
  timedOut = true;
  killRunner('SIGKILL');
}, RUN_TIMEOUT_MS);
// The runner leads its own group (so that a timeout can kill all of it): pass a Ctrl-C or kill on to it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => killRunner(signal));
const status = await new Promise((resolve) => runner.on('exit', (code) => resolve(code)));
clearTimeout(timer);
killRunner('SIGKILL');
const counts = tapCounts(readTap(tapFile));
rmSync(scratch, { recursive: true, force: true });
console.log(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
if (timedOut) {
  console.error(`run-tests: the run took longer than ${RUN_TIMEOUT_MS / 60_000} min and was killed`);
  process.exit(1);
}
const refusal = tapRefusal(counts);
if (refusal) {
  console.error(`run-tests: ${refusal}`);
  process.exit(1);
}
process.exit(status ?? 1);
