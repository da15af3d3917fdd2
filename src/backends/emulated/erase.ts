import { ExitCode, MemregionError, usageError } from '../../core/errors.js';
import type { EraseOptions, EraseReport } from '../types.js';
import type { EmulatedBackend } from './index.js';
import { findMemdevRegions } from './regions.js';

const POLL_MS = 100;

/**
 * `erase` on the emulated backend: the sysfs flow's preflight and confirmation, then a sanitize that
 * takes the profile's `sanitize_ms` on the backend's clock, after which the memdev's regions need an
 * invalidation on their next commit.
 */
export async function eraseMemdev(
  backend: EmulatedBackend,
  memdev: string,
  options: EraseOptions,
): Promise<EraseReport> {
  const regions = findMemdevRegions(backend.regionState, memdev);
  const committed = regions.filter((r) => r.committed).map((r) => r.spec.name);
  if (committed.length > 0) {
    throw new MemregionError(
      `${memdev} has committed decoders (${committed.join(', ')}): the kernel refuses ${options.method} with EBUSY; decommit first`,
      ExitCode.TEMP_FAIL,
    );
  }
  if (!backend.framework.hasInvalidate() && !options.force) {
    throw new MemregionError(
      `no cache invalidation provider: after ${options.method}, committing a region of ${memdev} would fail; use --force to erase anyway`,
      ExitCode.UNAVAILABLE,
    );
  }
  if (!(await options.confirm(`${options.method} ${memdev}? All data on it is destroyed.`))) {
    throw usageError('cancelled: nothing was written');
  }
  const durationMs = Math.max(...regions.map((r) => r.spec.sanitize_ms));
  const clock = backend.clock;
  const began = clock.now();
  const elapsedMs = () => (clock.now() - began) / 1000;
  backend.sanitizing.add(memdev);
  try {
    await waitForSanitize(clock, durationMs, elapsedMs, memdev, options);
  } catch (error) {
    // A timeout or an interruption still has a report (ok: false), which the command prints.
    if (!(error instanceof MemregionError)) throw error;
    const outcome = error.exitCode === ExitCode.INTERRUPTED ? 'interrupted' : 'timeout';
    throw new MemregionError(error.message, error.exitCode, {
      partial: {
        backend: 'emulated',
        profile: backend.profile.name,
        memdev,
        method: options.method,
        ok: false,
        outcome,
        state: 'sanitize',
        elapsed_ms: Math.round(elapsedMs()),
      },
    });
  } finally {
    backend.sanitizing.delete(memdev);
  }
  for (const region of regions) region.needsInvalidation = true;
  return {
    backend: 'emulated',
    profile: backend.profile.name,
    memdev,
    method: options.method,
    ok: true,
    state: 'disabled',
    elapsed_ms: Math.round(elapsedMs()),
    next_step: 'the next commit of a region on this device invalidates CPU caches for its range',
    warnings: [],
    regions: regions.map((r) => r.spec.name),
  };
}

/** Waits out the sanitize on the backend's clock, reporting progress; timeout → 75, abort → 130. */
async function waitForSanitize(
  clock: EmulatedBackend['clock'],
  durationMs: number,
  elapsedMs: () => number,
  memdev: string,
  options: EraseOptions,
): Promise<void> {
  while (elapsedMs() < durationMs) {
    if (options.signal.aborted) {
      throw new MemregionError(
        `interrupted: the ${options.method} of ${memdev} keeps running`,
        ExitCode.INTERRUPTED,
      );
    }
    if (elapsedMs() >= options.timeoutMs) {
      throw new MemregionError(
        `timed out after ${options.timeoutMs} ms waiting for ${memdev} to leave state sanitize`,
        ExitCode.TEMP_FAIL,
      );
    }
    options.onProgress?.('sanitize', elapsedMs());
    await clock.sleep(Math.min(POLL_MS, durationMs - elapsedMs(), options.timeoutMs - elapsedMs()) * 1000);
  }
}
