import { RealClock } from '../../core/clock.js';
import { usageError } from '../../core/errors.js';
import { cycleErrno, cycleTally, preflightStress } from '../region-flow.js';
import type { InvalidationOutcome, StressTarget, StressTargetOptions } from '../types.js';
import { type RegionFlowDeps, sysfsRegionPrimitives } from './commit.js';
import type { SysRoot } from './fs.js';
import { findSymbols } from './kallsyms.js';
import { INVALIDATE_SYMBOL } from './tracefs.js';
import { locateTracefs, NoInvalidationFunction } from './tracefs-locate.js';

/** The by-status key of a cycle whose writes succeeded but whose invalidation nobody saw. */
export const UNTRACED = 'UNTRACED';

/**
 * `stress --region regionZ`: each "invalidation" is one decommit+commit cycle of a sacrificial CXL
 * region (the requested start and size are ignored: the kernel invalidates the region's range).
 * Cycles are serialized, since one region can only be in one state. Each cycle is written and traced as
 * `invalidate --region --cycle` is (sysfsRegionPrimitives), so a cycle whose invalidation failed counts
 * as failed although the kernel committed the region (Linux 7.2 ignores the result). There is no view of
 * firmware calls from userspace, so `firmwareCalls()` counts the cycles' results instead, by errno name
 * (UNTRACED: the writes succeeded, the invalidation was not seen).
 */
export async function regionStressTarget(
  options: StressTargetOptions,
  deps: RegionFlowDeps,
): Promise<StressTarget> {
  // An empty --region is a bad region name (65, as on the emulated backend), not a missing one.
  if (options.region === undefined)
    throw usageError('stress on the sysfs backend needs --region regionN (a sacrificial CXL region)');
  const preflight = sysfsRegionPrimitives(deps);
  const region = await preflightStress(preflight, options.region, options.confirm, options.signal);
  const cycles = await tracedCycles(deps);
  const plan = { decommit: true, commit: true, bind: preflight.bindAfter(region, true) };
  const clock = new RealClock();
  const results: Record<string, number> = {};
  let arrivals = 0;
  let chain: Promise<unknown> = Promise.resolve();
  return {
    clock,
    coalescing: false,
    firmwareCalls: () => ({ ...results }),
    reportFields: () => ({ cycle_tracing: cycles.report() }),
    invalidate(): Promise<InvalidationOutcome> {
      const arrival = arrivals++;
      const run = chain.then(async (): Promise<InvalidationOutcome> => {
        const outcome = await cycles.primitives.write(region, plan, true);
        const errno = cycleErrno(outcome);
        const traced = cycles.count(outcome);
        const key = errno ?? (traced ? 'SUCCESS' : UNTRACED);
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

/**
 * The region primitives every cycle writes with, and the tally of what tracing saw (cycleTally). tracefs is located
 * once for the run (not once per cycle, which would read kallsyms each time); when it cannot be, every
 * cycle goes untraced with that reason.
 */
async function tracedCycles(deps: RegionFlowDeps) {
  let trace = deps.trace;
  let untraced: RegionFlowDeps['untraced'] = { reason: 'tracing not requested' };
  if (trace !== false && trace?.target === undefined) {
    try {
      trace = { ...trace, target: await locateTracefs(deps.sys) };
    } catch (error) {
      trace = false;
      untraced = {
        reason: error instanceof Error ? error.message : String(error),
        invalidateFunction:
          error instanceof NoInvalidationFunction ? 'absent' : await invalidateFunction(deps.sys),
      };
    }
  }
  return { primitives: sysfsRegionPrimitives({ ...deps, trace, untraced }), ...cycleTally() };
}

/** Whether kallsyms lists the invalidation function (unset: unreadable), looked up once for the run. */
async function invalidateFunction(sys: SysRoot): Promise<'present' | 'absent' | undefined> {
  const symbols = await findSymbols(sys, [INVALIDATE_SYMBOL]);
  if (!symbols.readable) return undefined;
  return symbols.found.has(INVALIDATE_SYMBOL) ? 'present' : 'absent';
}
