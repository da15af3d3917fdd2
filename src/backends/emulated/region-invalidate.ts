import { ExitCode, MemregionError, usageError } from '../../core/errors.js';
import { LatencyRecorder } from '../../core/latency.js';
import type { InvalidateReport, InvalidationOutcome, RegionInvalidateOptions } from '../types.js';
import { NOTHING_DONE } from './framework.js';
import type { EmulatedBackend } from './index.js';
import { findRegion } from './regions.js';

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

  const clock = backend.clock;
  const began = clock.now();
  const calls: InvalidationOutcome[] = [];
  const latency = new LatencyRecorder();
  const steps: Array<{ file: string; value: string; ok: boolean; elapsed_us: number; error?: string }> = [];
  for (const value of cycle ? ['0', '1'] : ['1']) {
    const t0 = clock.now();
    // Decommit and commit both invalidate the region's range first; without a provider the kernel fails.
    if (!backend.framework.hasInvalidate()) {
      steps.push({
        file: `${name}/commit`,
        value,
        ok: false,
        elapsed_us: Math.round(clock.now() - t0),
        error: 'ENXIO',
      });
      break;
    }
    const result = await backend.framework.invalidateMemregion(start, size);
    latency.recordUs(clock.now() - t0);
    calls.push(result);
    const ok = result.errno === null;
    steps.push({
      file: `${name}/commit`,
      value,
      ok,
      elapsed_us: Math.round(clock.now() - t0),
      ...(ok ? {} : { error: result.errno! }),
    });
    if (!ok) break;
    region.committed = value === '1';
  }
  const failed = steps.find((s) => !s.ok);
  if (!failed) region.needsInvalidation = false;
  const attempts = calls.reduce((sum, r) => sum + r.attempts, 0);
  return {
    ...base,
    ok: !failed,
    errno: failed?.error ?? null,
    attempts,
    retries: calls.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
    elapsed_us: Math.round(clock.now() - began),
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
