import type { Clock } from '../../../core/clock.js';
import { dataError, ExitCode, MemregionError, usageError } from '../../../core/errors.js';
import { LatencyRecorder } from '../../../core/latency.js';
import { formatHex } from '../../../core/units.js';
import type { Errno } from '../../errno.js';
import { alreadyCommitted, commitQuestion, ignoredInvalidationWarning } from '../../region-flow.js';
import type {
  CommitStep,
  EmulatedRegionInvalidateReport,
  InvalidationOutcome,
  ProviderVariant,
  RegionInvalidateOptions,
  StressTarget,
  StressTargetOptions,
} from '../../types.js';
import type { CacheMaint } from '../kernel/cache-maint.js';
import { type CxlRegionContext, commitStore } from '../kernel/cxl-region.js';
import { type EmulatedRegion, findRegion } from './regions.js';

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

/**
 * `invalidate --region` on the emulated backend, with the sysfs backend's rules and report shape, so a
 * script sees the same answers: a configured region is committed (one invalidation, as the kernel's
 * commit does); a committed one needs `--cycle` (decommit and commit: two invalidations) and must be
 * unused; without a provider, refuse unless `--force`; confirmation before anything changes.
 */
export async function invalidateEmulatedRegion(
  context: RegionContext,
  name: string,
  options: RegionInvalidateOptions,
): Promise<EmulatedRegionInvalidateReport> {
  const region = findRegion(context.regions, name);
  const { start, size } = region.spec;
  const cycle = region.kernel.committed;
  if (cycle && !options.cycle) throw alreadyCommitted(name);
  if (cycle && region.spec.used_by.length > 0) {
    throw new MemregionError(
      `refusing to decommit ${name}: it is in use (${region.spec.used_by.join(', ')})`,
      ExitCode.TEMP_FAIL,
    );
  }
  const warnings: string[] = [];
  if (!context.framework.cpuCacheHasInvalidateMemregion()) {
    if (!options.force) {
      throw new MemregionError(
        `refusing to write ${name}/commit: no cache invalidation provider, so the kernel would fail the commit with ENXIO and WARN "Failed to synchronize CPU cache state", which taints it (use --force to write anyway)`,
        ExitCode.UNAVAILABLE,
      );
    }
    warnings.push('--force: writing without a cache invalidation provider');
  }
  const plan = cycle ? ['commit <- 0', 'commit <- 1'] : ['commit <- 1'];
  const base: EmulatedRegionInvalidateReport = {
    ...context.reportBase,
    start: formatHex(start),
    size: size.toString(),
    dry_run: options.dryRun,
    ok: true,
    errno: null,
    invalidation_errno: null,
    attempts: 0,
    retries: 0,
    sleeps: 0,
    slept_us: 0,
    coalesced: false,
    elapsed_us: 0,
    region: name,
    action: cycle ? 'cycle' : 'commit',
    plan,
    status: null,
    steps: [],
    kernel_calls: null,
    warnings,
  };
  if (options.dryRun) return base;

  if (!(await options.confirm(commitQuestion(name, cycle, `${base.start}, ${base.size} bytes`))))
    throw usageError('cancelled');

  const began = context.clock.now();
  const { steps, calls } = await writeCommits(context, region, cycle);
  const failedWrite = steps.find((s) => !s.ok);
  const failedInvalidation = calls.find((c) => c.ret !== null)?.ret ?? null;
  if (!failedWrite && !failedInvalidation) region.needsInvalidation = false;
  if (failedInvalidation && region.kernel.committed)
    warnings.push(ignoredInvalidationWarning(name, failedInvalidation));
  const outcomes = calls.flatMap((c) => (c.outcome ? [c.outcome] : []));
  const latency = new LatencyRecorder();
  for (const call of calls) latency.recordUs(call.latency_us);
  return {
    ...base,
    ok: !failedWrite && !failedInvalidation,
    errno: (failedWrite?.error as Errno | undefined) ?? failedInvalidation,
    invalidation_errno: failedInvalidation,
    attempts: outcomes.reduce((sum, r) => sum + r.attempts, 0),
    retries: outcomes.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
    sleeps: outcomes.reduce((sum, r) => sum + r.sleeps, 0),
    slept_us: outcomes.reduce((sum, r) => sum + r.slept_us, 0),
    elapsed_us: Math.round(context.clock.now() - began),
    status: region.kernel.committed ? 'committed' : cycle ? 'decommitted' : 'configured',
    steps,
    kernel_calls: {
      count: calls.length,
      errors: calls.filter((c) => c.ret !== null).length,
      latency_us: latency.summary(),
      returns: calls.map((c) => c.ret ?? 0),
    },
    warnings,
  };
}

/**
 * The writes of a commit (`1`) or a cycle (`0` then `1`), each through the kernel's commit_store(), with a
 * return probe on cpu_cache_invalidate_memregion(). Stops at the first failed write.
 */
export async function writeCommits(context: RegionContext, region: EmulatedRegion, cycle: boolean) {
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
    invalidationTest: false,
  };
  const steps: CommitStep[] = [];
  for (const value of cycle ? ['0', '1'] : ['1']) {
    const t0 = clock.now();
    const error = await commitStore(region.kernel, value === '1', kernel);
    steps.push({
      file: `${region.spec.name}/commit`,
      value,
      ok: error === null,
      elapsed_us: Math.round(clock.now() - t0),
      ...(error ? { error } : {}),
    });
    if (error) break;
  }
  return { steps, calls };
}

/**
 * `stress --region` on the emulated backend, with the sysfs backend's rules: each request is one
 * decommit+commit cycle of a committed, unused region (two invalidations of its range), one at a time.
 * A cycle whose invalidation failed fails, though the kernel committed the region.
 */
export async function regionStressTarget(
  context: RegionContext,
  options: StressTargetOptions,
): Promise<StressTarget> {
  const region = findRegion(context.regions, options.region!);
  const name = region.spec.name;
  if (!region.kernel.committed) throw dataError(`${name} is not committed: stress cycles a committed region`);
  if (region.spec.used_by.length > 0) {
    throw new MemregionError(
      `refusing to decommit ${name}: it is in use (${region.spec.used_by.join(', ')})`,
      ExitCode.TEMP_FAIL,
    );
  }
  if (!context.framework.cpuCacheHasInvalidateMemregion()) {
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
    clock: context.clock,
    coalescing: false,
    firmwareCalls: context.firmwareCalls,
    invalidate(): Promise<InvalidationOutcome> {
      const arrival = arrivals++;
      const run = chain.then(async (): Promise<InvalidationOutcome> => {
        const { steps, calls } = await writeCommits(context, region, true);
        const failed = steps.find((step) => !step.ok);
        const outcomes = calls.flatMap((c) => (c.outcome ? [c.outcome] : []));
        return {
          errno: (failed?.error as Errno | undefined) ?? calls.find((c) => c.ret !== null)?.ret ?? null,
          // One cycle is one request: its retries are those of the two invalidations it made.
          attempts: 1 + outcomes.reduce((sum, r) => sum + Math.max(0, r.attempts - 1), 0),
          sleeps: outcomes.reduce((sum, r) => sum + r.sleeps, 0),
          slept_us: outcomes.reduce((sum, r) => sum + r.slept_us, 0),
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
