import { dataError, ExitCode, MemregionError, usageError } from '../../core/errors.js';
import { LatencyRecorder } from '../../core/latency.js';
import type {
  InvalidateReport,
  InvalidationOutcome,
  RegionInvalidateOptions,
  StressTarget,
  StressTargetOptions,
} from '../types.js';
import { NOTHING_DONE } from './framework.js';
import type { EmulatedBackend } from './index.js';
import { type EmulatedRegion, findRegion } from './regions.js';

/**
 * `invalidate --region` on the emulated backend, with the sysfs backend's rules and report shape, so a
 * script sees the same answers: a configured region is committed (one invalidation, as the kernel's
 * commit does); a committed one needs `--cycle` (decommit and commit: two invalidations) and must be
 * unused; without a provider, refuse unless `--force`; confirmation before anything changes.
 */
export async function invalidateEmulatedRegion(
  backend: EmulatedBackend,
  name: string,
  options: RegionInvalidateOptions,
): Promise<InvalidateReport> {
  const region = findRegion(backend.regionState, name);
  const { start, size } = region.spec;
  const cycle = region.committed;
  if (cycle && !options.cycle) {
    throw usageError(
      `${name} is already committed: the kernel invalidated its range when it was committed; use --cycle to decommit and commit it again (only when nothing uses it)`,
    );
  }
  if (cycle && region.spec.used_by.length > 0) {
    throw new MemregionError(
      `refusing to decommit ${name}: it is in use (${region.spec.used_by.join(', ')})`,
      ExitCode.TEMP_FAIL,
    );
  }
  const warnings: string[] = [];
  if (!backend.framework.hasInvalidate()) {
    if (!options.force) {
      throw new MemregionError(
        `refusing to write ${name}/commit: no cache invalidation provider, so the kernel would fail the commit with ENXIO and WARN "Failed to synchronize CPU cache state", which taints it (use --force to write anyway)`,
        ExitCode.UNAVAILABLE,
      );
    }
    warnings.push('--force: writing without a cache invalidation provider');
  }
  const plan = cycle ? ['commit <- 0', 'commit <- 1'] : ['commit <- 1'];
  const base = {
    ...backend.invalidateReport(start, size, options.dryRun, NOTHING_DONE, 0),
    region: name,
    action: cycle ? 'cycle' : 'commit',
    plan,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  if (options.dryRun) return { ...base, status: null };

  const question = cycle
    ? `Decommit and recommit ${name} (${base.start}, ${base.size} bytes)? The kernel invalidates CPU caches for its range.`
    : `Commit ${name} (${base.start}, ${base.size} bytes)? The kernel invalidates CPU caches for its range and the region starts decoding.`;
  if (!(await options.confirm(question))) throw usageError('cancelled');

  const began = backend.clock.now();
  const { steps, calls, latency } = await writeCommits(backend, region, cycle);
  const failed = steps.find((s) => !s.ok);
  if (!failed) region.needsInvalidation = false;
  const attempts = calls.reduce((sum, r) => sum + r.attempts, 0);
  return {
    ...base,
    ok: !failed,
    errno: failed?.error ?? null,
    attempts,
    retries: calls.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
    elapsed_us: Math.round(backend.clock.now() - began),
    status: region.committed ? 'committed' : 'decommitted',
    steps,
    kernel_calls: {
      count: calls.length,
      errors: calls.filter((r) => r.errno !== null).length,
      latency_us: latency.summary(),
      returns: calls.map((r) => r.errno ?? 0),
    },
  };
}

export interface CommitStep {
  file: string;
  value: string;
  ok: boolean;
  elapsed_us: number;
  error?: string;
}

/**
 * The kernel's part of a commit (`1`) or a cycle (`0` then `1`): each write invalidates the region's
 * range first, and fails with ENXIO without a provider. Stops at the first failed write.
 */
export async function writeCommits(backend: EmulatedBackend, region: EmulatedRegion, cycle: boolean) {
  const { clock, framework } = backend;
  const { start, size, name } = region.spec;
  const calls: InvalidationOutcome[] = [];
  const latency = new LatencyRecorder();
  const steps: CommitStep[] = [];
  for (const value of cycle ? ['0', '1'] : ['1']) {
    const t0 = clock.now();
    const file = `${name}/commit`;
    if (!framework.hasInvalidate()) {
      steps.push({ file, value, ok: false, elapsed_us: Math.round(clock.now() - t0), error: 'ENXIO' });
      break;
    }
    const result = await framework.invalidateMemregion(start, size);
    latency.recordUs(clock.now() - t0);
    calls.push(result);
    const ok = result.errno === null;
    steps.push({
      file,
      value,
      ok,
      elapsed_us: Math.round(clock.now() - t0),
      ...(ok ? {} : { error: result.errno! }),
    });
    if (!ok) break;
    region.committed = value === '1';
  }
  return { steps, calls, latency };
}

/**
 * `stress --region` on the emulated backend, with the sysfs backend's rules: each request is one
 * decommit+commit cycle of a committed, unused region (two invalidations of its range), one at a time.
 */
export async function regionStressTarget(
  backend: EmulatedBackend,
  options: StressTargetOptions,
): Promise<StressTarget> {
  const region = findRegion(backend.regionState, options.region!);
  const name = region.spec.name;
  if (!region.committed) throw dataError(`${name} is not committed: stress cycles a committed region`);
  if (region.spec.used_by.length > 0) {
    throw new MemregionError(
      `refusing to decommit ${name}: it is in use (${region.spec.used_by.join(', ')})`,
      ExitCode.TEMP_FAIL,
    );
  }
  if (!backend.framework.hasInvalidate()) {
    throw new MemregionError(
      `refusing to cycle ${name}: no cache invalidation provider`,
      ExitCode.UNAVAILABLE,
    );
  }
  if (
    !(await options.confirm(
      `Decommit and recommit ${name} repeatedly? Nothing may use it while the stress runs.`,
    ))
  ) {
    throw usageError('cancelled');
  }
  let arrivals = 0;
  let chain: Promise<unknown> = Promise.resolve();
  return {
    clock: backend.clock,
    coalescing: false,
    firmwareCalls: () => Object.fromEntries(backend.firmware.invalidateCalls),
    invalidate(): Promise<InvalidationOutcome> {
      const arrival = arrivals++;
      const run = chain.then(async (): Promise<InvalidationOutcome> => {
        const { steps, calls } = await writeCommits(backend, region, true);
        const failed = steps.find((step) => !step.ok);
        return {
          errno: failed ? ((failed.error ?? 'EIO') as InvalidationOutcome['errno']) : null,
          // One cycle is one request: its retries are those of the two invalidations it made.
          attempts: 1 + calls.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
          sleeps: calls.reduce((sum, r) => sum + r.sleeps, 0),
          slept_us: calls.reduce((sum, r) => sum + r.slept_us, 0),
          coalesced: false,
          arrival_seq: arrival,
          served_by_seq: arrival,
        };
      });
      chain = run.catch(() => {});
      return run;
    },
  };
}
