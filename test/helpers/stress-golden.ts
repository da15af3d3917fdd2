/**
 * The golden stress workloads: seeded virtual-time runs whose reports (and interval snapshots) were
 * captured from the engine as it was before the simulator was made fast (test/fixtures/stress-golden/),
 * so that a faster engine is checked to give exactly the same answers. Regenerate only on purpose:
 * `node --import tsx test/helpers/stress-golden.ts --write`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stack, stressRun } from '../../bench/emulation.js';
import { createBackend, type StressOptions, stress } from '../../src/api.js';
import type { ProfileFile } from '../../src/backends/emulated/profile-schema.js';
import type { ProviderVariant } from '../../src/backends/types.js';
import type { StressSnapshot } from '../../src/stress/engine.js';

export const GOLDEN_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../fixtures/stress-golden',
);

export interface ApiWorkload {
  kind: 'api';
  name: string;
  profile: string | ProfileFile;
  provider: ProviderVariant;
  seed: number;
  options: StressOptions;
}

/**
 * The bench's own construction (bench/emulation.ts: the stress target as the emulated backend makes it),
 * firmware seed 1, range seed `seed`, 64 workers, --verify.
 */
export interface BenchWorkload {
  kind: 'bench';
  name: string;
  provider: ProviderVariant;
  ops: number;
  seed: number;
}

export type Workload = ApiWorkload | BenchWorkload;

const ZERO_TIME: ProfileFile = { attributes: { latency_us: 0 }, timing: { call_us: 0 } };

function api(
  name: string,
  profile: string | ProfileFile,
  provider: ProviderVariant,
  options: StressOptions,
  seed = 11,
): ApiWorkload {
  return { kind: 'api', name, profile, provider, seed, options: { verify: true, ...options } };
}

export const WORKLOADS: Workload[] = [
  { kind: 'bench', name: 'bench-sim-v2-64w-200k', provider: 'v2', ops: 200_000, seed: 3 },
  { kind: 'bench', name: 'bench-memory-batched-64w-100k', provider: 'batched', ops: 100_000, seed: 7 },
  ...(['v2', 'v1', 'rfc', 'batched'] as const).flatMap((variant) => [
    api(`global-${variant}-64w`, 'global', variant, { workers: 64, ops: 30_000 }),
    api(`global-${variant}-8w-duration`, 'global', variant, { workers: 8, durationMs: 200 }),
    api(`busy-${variant}-64w`, 'busy', variant, { workers: 64, ops: 20_000 }, 5),
    api(
      `rate-limited-${variant}-64w-duration`,
      'rate-limited',
      variant,
      { workers: 64, durationMs: 3000 },
      6,
    ),
    api(`range-${variant}-16w`, 'range', variant, { workers: 16, ops: 10_000 }),
    api(`zero-time-${variant}-64w`, ZERO_TIME, variant, { workers: 64, ops: 20_000 }),
  ]),
  api('global-v2-1w-sequential', 'global', 'v2', { workers: 1, ops: 5000, pattern: 'sequential' }),
  api('global-batched-1000w', 'global', 'batched', { workers: 1000, ops: 50_000 }),
  api('global-rfc-1000w', 'global', 'rfc', { workers: 1000, ops: 30_000 }),
  api('busy-batched-1000w-same', 'busy', 'batched', { workers: 1000, ops: 30_000, pattern: 'same' }, 9),
  api('stuck-v1-8w', 'stuck', 'v1', { workers: 8, ops: 500 }),
  api('stuck-v2-8w-duration', 'stuck', 'v2', { workers: 8, durationMs: 300 }),
  api('range-v2-misaligned', 'range', 'v2', { workers: 8, ops: 2000, size: 100n, span: 1n << 20n }),
  api('global-batched-100000w', 'global', 'batched', { workers: 100_000, ops: 300_000 }),
  api('zero-time-batched-100000w', ZERO_TIME, 'batched', { workers: 100_000, ops: 200_000 }),
  api('global-v2-10000w', 'global', 'v2', { workers: 10_000, ops: 40_000 }),
  api('busy-v2-64w-interval', 'busy', 'v2', { workers: 64, durationMs: 100, intervalMs: 10 }, 4),
  api('global-batched-500w-interval', 'global', 'batched', { workers: 500, durationMs: 50, intervalMs: 5 }),
  api('rate-limited-rfc-8w-interval', 'rate-limited', 'rfc', {
    workers: 8,
    durationMs: 2500,
    intervalMs: 500,
  }),
];

/** What must not change: the report without its wall-clock and CPU figures, and every interval snapshot. */
export interface GoldenResult {
  report: Record<string, unknown>;
  intervals: StressSnapshot[];
}

const VOLATILE = ['wall_s', 'cpu_s', 'simulated_requests_per_cpu_s', 'started_at', 'finished_at'];

export function stable(report: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...report };
  for (const key of VOLATILE) delete copy[key];
  return copy;
}

export async function runWorkload(workload: Workload): Promise<GoldenResult> {
  if (workload.kind === 'bench') return runBench(workload);
  const backend = await createBackend({
    backend: 'emulated',
    profile: workload.profile,
    provider: workload.provider,
    seed: workload.seed,
    virtualTime: true,
  });
  const intervals: StressSnapshot[] = [];
  try {
    const report = await stress(backend, {
      ...workload.options,
      onInterval: workload.options.intervalMs ? (s) => intervals.push(s) : undefined,
    });
    return { report: stable(report), intervals };
  } finally {
    await backend.close();
  }
}

async function runBench(workload: BenchWorkload): Promise<GoldenResult> {
  const run = stressRun(await stack(workload.provider, {}, true), workload.ops, workload.seed);
  return { report: { ...(await run.run()) }, intervals: [] };
}

export const goldenFile = (name: string) => path.join(GOLDEN_DIR, `${name}.json`);

if (process.argv.includes('--write')) {
  const only = process.argv.slice(2).filter((a) => a !== '--write');
  for (const workload of WORKLOADS) {
    if (only.length > 0 && !only.includes(workload.name)) continue;
    const t0 = performance.now();
    const result = await runWorkload(workload);
    writeFileSync(goldenFile(workload.name), `${JSON.stringify(result, null, 1)}\n`);
    console.log(`${workload.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
