import { RealClock } from '../../core/clock.js';
import { usageError } from '../../core/errors.js';
import { preflightStress, toErrno } from '../region-flow.js';
import type { InvalidationOutcome, StressTarget, StressTargetOptions } from '../types.js';
import { type RegionFlowDeps, sysfsRegionPrimitives, writeCommit } from './commit.js';

/**
 * `stress --region regionZ`: each "invalidation" is one decommit+commit cycle of a sacrificial CXL
 * region (the requested start and size are ignored: the kernel invalidates the region's range).
 * Cycles are serialized, since one region can only be in one state. There is no view of firmware calls
 * from userspace, so `firmwareCalls()` counts the cycles' results instead, by errno name.
 */
export async function regionStressTarget(
  options: StressTargetOptions,
  deps: RegionFlowDeps,
): Promise<StressTarget> {
  // An empty --region is a bad region name (65, as on the emulated backend), not a missing one.
  if (options.region === undefined)
    throw usageError('stress on the sysfs backend needs --region regionN (a sacrificial CXL region)');
  const region = (await preflightStress(sysfsRegionPrimitives(deps), options.region, options.confirm)).cxl;
  const clock = new RealClock();
  const results: Record<string, number> = {};
  let arrivals = 0;
  let chain: Promise<unknown> = Promise.resolve();
  return {
    clock,
    coalescing: false,
    firmwareCalls: () => ({ ...results }),
    invalidate(): Promise<InvalidationOutcome> {
      const arrival = arrivals++;
      const run = chain.then(async (): Promise<InvalidationOutcome> => {
        const steps = await writeCommit(deps.sys, region, true);
        const failed = steps.find((s) => !s.ok);
        const errno = failed ? toErrno(failed.error ?? 'EIO') : null;
        const key = errno ?? 'SUCCESS';
        results[key] = (results[key] ?? 0) + 1;
        return {
          errno,
          attempts: 1,
          sleeps: 0,
          slept_us: 0,
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
