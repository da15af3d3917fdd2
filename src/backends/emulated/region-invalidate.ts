import { ExitCode, MemregionError, usageError } from '../../core/errors.js';
import type { InvalidateReport, InvalidationOutcome, RegionInvalidateOptions } from '../types.js';
import type { EmulatedBackend } from './index.js';
import { findRegion } from './regions.js';

/**
 * `invalidate --region` on the emulated backend, with the sysfs backend's rules so that a script sees the
 * same answers: a configured region is committed (one invalidation); a committed one needs `--cycle`
 * (decommit and commit: two invalidations) and must be unused; without a provider, refuse unless
 * `--force`; confirmation before anything changes.
 */
export async function invalidateEmulatedRegion(
  backend: EmulatedBackend,
  name: string,
  options: RegionInvalidateOptions,
): Promise<InvalidateReport> {
  const region = findRegion(backend.regionState, name);
  const { start, size } = region.spec;
  if (region.committed && !options.cycle) {
    throw usageError(`${name} is committed: its range is invalidated on commit; use --cycle to decommit and commit it again`);
  }
  if (region.committed && region.spec.used_by.length > 0) {
    throw new MemregionError(`${name} is in use by ${region.spec.used_by.join(', ')}: refusing to decommit it`, ExitCode.TEMP_FAIL);
  }
  if (!backend.framework.hasInvalidate() && !options.force) {
    throw new MemregionError(
      `no cache invalidation provider: committing ${name} would fail with ENXIO and make the kernel WARN (taint); use --force to write anyway`,
      ExitCode.UNAVAILABLE,
    );
  }
  const actions = region.committed ? ['decommit', 'commit'] : ['commit'];
  const base = backend.invalidateReport(start, size, options.dryRun, emptyOutcome(), 0);
  if (options.dryRun) return { ...base, region: name, actions, invalidations: [] };

  if (!(await options.confirm(`${actions.join(' then ')} ${name} (${base.start}, ${base.size} bytes)?`))) {
    throw usageError('cancelled: nothing was written');
  }
  const began = backend.clock.now();
  const invalidations: InvalidationOutcome[] = [];
  let errno: InvalidationOutcome['errno'] = null;
  for (const action of actions) {
    if (!backend.framework.hasInvalidate()) {
      errno = 'ENXIO';
      break;
    }
    const result = await backend.framework.invalidateMemregion(start, size);
    invalidations.push(result);
    errno = result.errno;
    if (errno !== null) break;
    region.committed = action === 'commit';
  }
  if (errno === null) region.needsInvalidation = false;
  const attempts = invalidations.reduce((sum, r) => sum + r.attempts, 0);
  return {
    ...base,
    ok: errno === null,
    errno,
    attempts,
    retries: invalidations.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
    sleeps: invalidations.reduce((sum, r) => sum + r.sleeps, 0),
    slept_us: invalidations.reduce((sum, r) => sum + r.slept_us, 0),
    elapsed_us: Math.round(backend.clock.now() - began),
    region: name,
    actions,
    commit: region.committed ? 'committed' : 'configured',
    invalidations: invalidations.map((r) => ({ errno: r.errno, attempts: r.attempts })),
  };
}

const emptyOutcome = (): InvalidationOutcome => ({
  errno: null,
  attempts: 0,
  sleeps: 0,
  slept_us: 0,
  coalesced: false,
  arrival_seq: 0,
  served_by_seq: null,
});
