import type { Clock } from '../../../core/clock.js';
import { LatencyRecorder } from '../../../core/latency.js';
import type { Errno } from '../../errno.js';
import {
  type CommitOutcome,
  type CommitPlan,
  cycleErrno,
  cycleTally,
  describeRegionFor,
  driverAfterCommit,
  type FlowRegion,
  type ProviderCheck,
  preflightStress,
  type RegionPrimitives,
  requireUnlocked,
  runCommitFlow,
  trackedWrite,
  type WriteProgress,
} from '../../region-flow.js';
import type {
  CommitStep,
  EmulatedRegionInvalidateReport,
  InvalidationOutcome,
  KernelCallsReport,
  ProviderVariant,
  RegionInvalidateOptions,
  StressTarget,
  StressTargetOptions,
} from '../../types.js';
import type { CacheMaint } from '../kernel/cache-maint.js';
import { type CxlRegionContext, commitStore, cxlRegionBind } from '../kernel/cxl-region.js';
import { boundUsers, type EmulatedRegion, emulatedSerial, findRegion, memdevsOf } from './regions.js';

/** What the region flows see of the emulated backend. */
export interface RegionContext {
  regions: EmulatedRegion[];
  clock: Clock;
  framework: CacheMaint;
  /** The provider's record of the request that entered it last. */
  lastRequest(): InvalidationOutcome | null;
  /** The kernel log (dev_WARN). */
  warn(line: string): void;
  firmwareCalls(): Record<string, number>;
  reportBase: { backend: 'emulated'; profile: string; provider: ProviderVariant };
}

/** One cpu_cache_invalidate_memregion() a commit write made, as a return probe would see it. */
interface KernelCall {
  ret: Errno | null;
  outcome: InvalidationOutcome | null;
  latency_us: number;
}

export interface EmulatedFlowRegion extends FlowRegion {
  emulated: EmulatedRegion;
  /** The region driver as it was before any write (a decommit releases it; a cycle binds it again). */
  boundDriver: string | null;
}

export interface EmulatedCommitOutcome extends CommitOutcome {
  calls: KernelCall[];
}

/** The provider rule's view of the emulated framework: "has invalidate" is the whole answer. */
export const emulatedProviderCheck = (hasInvalidate: boolean): ProviderCheck =>
  hasInvalidate
    ? { available: true }
    : {
        available: false,
        why: 'no cache invalidation provider is registered (cpu_cache_has_invalidate_memregion() is false)',
        needsPrivileges: false,
      };

/**
 * The emulated backend's primitives of the region-flow policy (region-flow.ts): the profile's regions,
 * the framework's "has invalidate" as the provider rule, `commit` writes through the kernel's
 * commit_store() with a return probe on cpu_cache_invalidate_memregion() that always sees, and the bind
 * the sysfs backend writes after them (driverAfterCommit(): a cycle binds again the driver its decommit
 * released; `enable` binds a newly committed region) through the kernel's bind_store().
 */
export function emulatedRegionPrimitives(
  context: RegionContext,
  enable = false,
): RegionPrimitives<EmulatedFlowRegion, EmulatedCommitOutcome> {
  return {
    async loadRegion(name) {
      const emulated = findRegion(context.regions, name);
      const { start, size } = emulated.spec;
      const memdevs = memdevsOf(emulated.spec);
      const region = {
        name,
        start,
        size,
        committed: emulated.kernel.committed,
        locked: emulated.kernel.locked,
        memdevs: memdevs.map((memdev) => ({ name: memdev, serial: emulatedSerial(memdev) })),
        description: describeRegionFor('ram', start, size, memdevs),
        emulated,
        boundDriver: emulated.kernel.driver,
      };
      // As the sysfs backend does (sysfs/commit.ts): every flow that would decommit it refuses it here.
      requireUnlocked(region);
      return region;
    },
    regionUsers: async (region) =>
      boundUsers(region.emulated).map((dax) => `${dax.name} is bound to ${dax.driver}`),
    notCommittable: () => null,
    provider: async () => emulatedProviderCheck(context.framework.cpuCacheHasInvalidateMemregion()),
    bindAfter: (region, cycle) => driverAfterCommit(region.boundDriver, cycle, enable),
    write: async (region, plan, _observe, progress) => writeCommits(context, region.emulated, plan, progress),
    committedNow: async (region) => region.emulated.kernel.committed,
    // The emulated kernel has no file modes: an EPERM is commit_store()'s own.
    failureContext: { filePermissions: false },
  };
}

/**
 * `invalidate --region` on the emulated backend, by the policy both backends share: a configured region
 * is committed (one invalidation, as the kernel's commit does); a committed one needs `--cycle`
 * (decommit and commit: two invalidations) and must be unused; without a provider, refuse unless
 * `--force`; confirmation before anything changes.
 */
export function invalidateEmulatedRegion(
  context: RegionContext,
  name: string,
  options: RegionInvalidateOptions,
): Promise<EmulatedRegionInvalidateReport> {
  const primitives = emulatedRegionPrimitives(context, options.enable === true);
  return runCommitFlow(primitives, name, options, ({ region, fields, outcome }) => ({
    ...context.reportBase,
    ...fields,
    // The emulated kernel's commit state is always known.
    status: fields.status === 'unknown' ? null : fields.status,
    ...attemptsOf(outcome?.calls ?? []),
    coalesced: false,
    elapsed_us: Math.round((outcome?.steps ?? []).reduce((sum, s) => sum + s.elapsed_us, 0)),
    // As on the sysfs backend, once the writes ran: the driver bound now (a commit alone binds none).
    ...(outcome ? { driver: region.emulated.kernel.driver } : {}),
    // A dry run makes no call: nothing was observed.
    kernel_calls: outcome ? kernelCallsReport(outcome.calls) : null,
  }));
}

/** The provider's attempts, retries and sleeps over every invalidation a flow's writes made. */
function attemptsOf(calls: KernelCall[]) {
  const outcomes = calls.flatMap((c) => (c.outcome ? [c.outcome] : []));
  return {
    attempts: outcomes.reduce((sum, r) => sum + r.attempts, 0),
    retries: outcomes.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
    sleeps: outcomes.reduce((sum, r) => sum + r.sleeps, 0),
    slept_us: outcomes.reduce((sum, r) => sum + r.slept_us, 0),
  };
}

export function kernelCallsReport(calls: KernelCall[]): KernelCallsReport {
  const latency = new LatencyRecorder();
  for (const call of calls) latency.recordUs(call.latency_us);
  return {
    count: calls.length,
    errors: calls.filter((c) => c.ret !== null).length,
    latency_us: latency.summary(),
    returns: calls.map((c) => c.ret ?? 0),
  };
}

/**
 * The writes of a plan (`commit` ← 0 and/or ← 1, then the bind), each through the kernel: commit_store()
 * with a return probe on cpu_cache_invalidate_memregion(), then bind_store() (cxlRegionBind()). Stops at
 * the first failed write. A commit whose invalidations all succeeded leaves no stale lines after an erase.
 */
export async function writeCommits(
  context: RegionContext,
  region: EmulatedRegion,
  plan: Pick<CommitPlan, 'decommit' | 'commit'> & Partial<Pick<CommitPlan, 'bind'>>,
  progress?: WriteProgress,
): Promise<EmulatedCommitOutcome> {
  const { clock, framework } = context;
  const calls: KernelCall[] = [];
  const kernel: CxlRegionContext = {
    cache: {
      cpuCacheHasInvalidateMemregion: () => framework.cpuCacheHasInvalidateMemregion(),
      async cpuCacheInvalidateMemregion(start, len) {
        const t0 = clock.now();
        const pending = framework.cpuCacheInvalidateMemregion(start, len);
        const outcome = context.lastRequest();
        const ret = await pending;
        calls.push({ ret, outcome: outcome ? { ...outcome } : null, latency_us: clock.now() - t0 });
        return ret;
      },
    },
    warn: (line) => context.warn(`cxl region${region.spec.name.slice('region'.length)}: ${line}`),
    // The profile has no CONFIG_CXL_REGION_INVALIDATION_TEST, so the bypass and its line never happen.
    infoOnce: (line) => context.warn(`cxl region${region.spec.name.slice('region'.length)}: ${line}`),
    invalidationTest: false,
  };
  const steps: CommitStep[] = [];
  const values = [...(plan.decommit ? ['0'] : []), ...(plan.commit ? ['1'] : [])];
  const file = `${region.spec.name}/commit`;
  for (const value of values) {
    const step = await trackedWrite(progress, file, value, async () => {
      const t0 = clock.now();
      const error = await commitStore(region.kernel, value === '1', kernel);
      return {
        file,
        value,
        ok: error === null,
        elapsed_us: Math.round(clock.now() - t0),
        ...(error ? { error } : {}),
      };
    });
    steps.push(step);
    if (!step.ok) break;
  }
  if (plan.bind && steps.every((s) => s.ok)) {
    const bindFile = `drivers/${plan.bind}/bind`;
    const step = await trackedWrite(progress, bindFile, region.spec.name, async () => {
      // The emulation has one region driver (cxl_region); its bind takes no time on the clock.
      const error = cxlRegionBind(region.kernel);
      return {
        file: bindFile,
        value: region.spec.name,
        ok: error === null,
        elapsed_us: 0,
        ...(error ? { error } : {}),
      };
    });
    steps.push(step);
  }
  const failedInvalidation = calls.find((c) => c.ret !== null)?.ret ?? null;
  if (plan.commit && region.kernel.committed && !failedInvalidation) region.needsInvalidation = false;
  return {
    steps,
    calls,
    invalidation: { kind: 'observed', calls: calls.length, errno: failedInvalidation },
  };
}

/**
 * `stress --region` on the emulated backend, by the shared policy: each request is one decommit+commit
 * cycle of a committed, unused region (two invalidations of its range), one at a time. A cycle whose
 * invalidation failed fails, though the kernel committed the region.
 */
export async function regionStressTarget(
  context: RegionContext,
  options: StressTargetOptions,
): Promise<StressTarget> {
  const primitives = emulatedRegionPrimitives(context);
  const region = await preflightStress(primitives, options.region!, options.confirm);
  // As the sysfs backend's stress (sysfs/stress.ts): each cycle binds again what its decommit released.
  const plan = { decommit: true, commit: true, bind: primitives.bindAfter(region, true) };
  const tally = cycleTally();
  let arrivals = 0;
  let chain: Promise<unknown> = Promise.resolve();
  return {
    clock: context.clock,
    coalescing: false,
    firmwareCalls: context.firmwareCalls,
    reportFields: () => ({ cycle_tracing: tally.report() }),
    invalidate(): Promise<InvalidationOutcome> {
      const arrival = arrivals++;
      const run = chain.then(async (): Promise<InvalidationOutcome> => {
        const outcome = await writeCommits(context, region.emulated, plan);
        const { retries, sleeps, slept_us } = attemptsOf(outcome.calls);
        tally.count(outcome);
        return {
          errno: cycleErrno(outcome),
          // One cycle is one request: its retries are those of the two invalidations it made.
          attempts: 1 + retries,
          sleeps,
          slept_us,
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
