import { dataError, ExitCode, MemregionError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { requireKernelName } from '../../core/names.js';
import {
  type CommitOutcome,
  type CommitPlan,
  describeRegionFor,
  driverAfterCommit,
  type FlowRegion,
  firstInvalidationError,
  type InvalidationSeen,
  type RegionPrimitives,
  requireUnlocked,
  runCommitFlow,
  trackedWrite,
  type WriteProgress,
} from '../region-flow.js';
import type { CommitStep, RegionInvalidateOptions, SysfsKernelCalls, SysfsRegionReport } from '../types.js';
import {
  CXL_DECODER_MAX_INTERLEAVE,
  type CxlRegion,
  readCxlRegion,
  regionDriver,
  regionPath,
} from './cxl.js';
import { CXL_REGION_FILES } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { errorCode, type ProbeFn, providerOfProbe } from './guard.js';
import { findSymbols } from './kallsyms.js';
import { type KernelCalls, withKernelTrace } from './kernel-trace.js';
import { readRegionLocked } from './region-lock.js';
import { regionUsers } from './region-users.js';
import { INVALIDATE_SYMBOL } from './tracefs.js';
import type { TraceTarget } from './tracefs-locate.js';
import { parseKernelBool } from './values.js';

/**
 * `invalidate --region regionZ` on the sysfs backend: the kernel invalidates a CXL region's range when
 * the region is committed (and again when it is decommitted), so this drives `regionZ/commit`. The
 * policy (order of refusals, questions, report) is region-flow.ts; this module supplies its primitives.
 */

export interface RegionFlowDeps {
  sys: SysRoot;
  log: Logger;
  probe: ProbeFn;
  /** Tracing of the kernel's calls during the write: options, or false to skip it. */
  trace?: { target?: TraceTarget; group?: string; settleMs?: number } | false;
  /** With `trace: false`, why tracing is off and what its failed lookup found (so nobody reads kallsyms again). */
  untraced?: Pick<KernelCalls, 'reason' | 'invalidateFunction'>;
}

export type WriteStep = CommitStep;

/** Reads the region or refuses: a bad name or an unknown region is bad input (exit 65). */
export async function loadRegion(sys: SysRoot, name: string): Promise<CxlRegion> {
  requireKernelName('region', name);
  const region = await readCxlRegion(sys, name);
  if (!region) throw dataError(`no such region: ${name} (no ${regionPath(name)}; see \`memregion regions\`)`);
  return region;
}

/** A configured region has its size and every interleave position filled: otherwise commit fails with ENXIO. */
export function configurationProblem(region: CxlRegion): string | null {
  if (region.size === null) {
    return region.sizeUnreadable
      ? `${region.name} has no readable size (${regionPath(region.name)}/${CXL_REGION_FILES.size} is missing, unreadable or past 64 bits): nothing to commit`
      : `${region.name} is not configured (size is 0): nothing to commit`;
  }
  const ways = region.interleaveWays ?? 0;
  const empty = Array.from({ length: ways }, (_, i) => i).filter((i) => !region.targets[i]);
  if (ways === 0 || empty.length > 0) {
    const why =
      region.interleaveWays === null
        ? `no readable ${CXL_REGION_FILES.interleaveWays}: missing, or past the ${CXL_DECODER_MAX_INTERLEAVE} positions of a decoder`
        : ways === 0
          ? 'no interleave ways'
          : `target${empty[0]} is empty`;
    return `${region.name} is not fully configured (${why}): the kernel would refuse the commit`;
  }
  return null;
}

async function timedWrite(sys: SysRoot, file: string, value: string): Promise<WriteStep> {
  const t0 = process.hrtime.bigint();
  try {
    await sys.write(file, value);
    return { file, value, ok: true, elapsed_us: elapsedUs(t0) };
  } catch (error) {
    return { file, value, ok: false, elapsed_us: elapsedUs(t0), error: errorCode(error) };
  }
}

const elapsedUs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1000;

/** The driver to bind after the commit: region-flow.ts driverAfterCommit(), from the region's `driver` link. */
export const driverToBind = (region: CxlRegion, cycle: boolean, enable: boolean): string | null =>
  driverAfterCommit(region.driver, cycle, enable);

/** The writes of a plan, in order (`commit` ← 0, ← 1, then the bind); stops at the first failed write. */
export async function writePlan(
  sys: SysRoot,
  name: string,
  plan: CommitPlan,
  progress?: WriteProgress,
): Promise<WriteStep[]> {
  const commitFile = `${regionPath(name)}/commit`;
  const writes: Array<[string, string]> = [
    ...(plan.decommit ? [[commitFile, '0'] as [string, string]] : []),
    ...(plan.commit ? [[commitFile, '1'] as [string, string]] : []),
    ...(plan.bind ? [[`sys/bus/cxl/drivers/${plan.bind}/bind`, name] as [string, string]] : []),
  ];
  const steps: WriteStep[] = [];
  for (const [file, value] of writes) {
    const step = await trackedWrite(progress, file, value, () => timedWrite(sys, file, value));
    steps.push(step);
    if (!step.ok) break;
  }
  return steps;
}

/**
 * The writes of a commit (`commit` ← 1) or a cycle (← 0 then ← 1), then the binding driverToBind()
 * names. Stops at the first failed write.
 */
export function writeCommit(
  sys: SysRoot,
  region: CxlRegion,
  cycle: boolean,
  enable = false,
): Promise<WriteStep[]> {
  return writePlan(sys, region.name, {
    decommit: cycle,
    commit: true,
    bind: driverToBind(region, cycle, enable),
  });
}

/** A CXL region as the region-flow policy sees it, with the sysfs reading it came from. */
export interface SysfsFlowRegion extends FlowRegion {
  cxl: CxlRegion;
}

export interface SysfsCommitOutcome extends CommitOutcome {
  /** What the return probe saw (count null: not traced, and the reason). */
  calls: KernelCalls;
}

/** The region-flow primitives of the sysfs backend; `enable` binds the region driver after a commit. */
export function sysfsRegionPrimitives(
  deps: RegionFlowDeps,
  enable = false,
): RegionPrimitives<SysfsFlowRegion, SysfsCommitOutcome> {
  const { sys, log } = deps;
  return {
    async loadRegion(name) {
      const cxl = await loadRegion(sys, name);
      if (cxl.committed === null) throw new MemregionError(`cannot read ${name}/commit`, ExitCode.IO_ERR);
      const region = {
        name,
        start: cxl.start,
        size: cxl.size,
        committed: cxl.committed,
        locked: await readRegionLocked(sys, name),
        memdevs: cxl.memdevs.map((memdev, i) => ({ name: memdev, serial: cxl.serials[i] ?? null })),
        description: describe(cxl),
        cxl,
      };
      // Here rather than in each preflight: invalidate --cycle, stress and erase --region all load the
      // region through this, and each would decommit a committed one.
      requireUnlocked(region);
      return region;
    },
    regionUsers: (region) => regionUsers(sys, region.cxl),
    notCommittable: (region) => configurationProblem(region.cxl),
    provider: () => providerOfProbe(deps.probe),
    bindAfter: (region, cycle) => driverToBind(region.cxl, cycle, enable),
    async write(region, plan, observe, progress) {
      const run = () => writePlan(sys, region.name, plan, progress);
      if (!observe || deps.trace === false) {
        const calls: KernelCalls = observe
          ? { count: null, reason: 'tracing not requested', ...deps.untraced }
          : { count: null, reason: 'not traced' };
        return { steps: await run(), calls, invalidation: await invalidationSeen(sys, calls) };
      }
      const { result: steps, calls } = await withKernelTrace(sys, log, run, deps.trace ?? {});
      return { steps, calls, invalidation: await invalidationSeen(sys, calls) };
    },
    committedNow: async (region) => parseKernelBool(await sys.value(`${regionPath(region.name)}/commit`)),
    warn: (line) => log.warn(line),
  };
}

export async function invalidateRegion(
  name: string,
  options: RegionInvalidateOptions,
  deps: RegionFlowDeps,
): Promise<SysfsRegionReport> {
  const primitives = sysfsRegionPrimitives(deps, options.enable === true);
  return runCommitFlow(primitives, name, options, async ({ fields, outcome }) => ({
    backend: 'sysfs' as const,
    ...fields,
    attempts: outcome ? 1 : 0,
    retries: 0,
    elapsed_us: outcome ? Math.round(outcome.steps.reduce((sum, s) => sum + s.elapsed_us, 0)) : 0,
    ...(outcome
      ? {
          // A commit alone leaves the region unbound (no DAX or pmem device): --enable binds it.
          driver: await regionDriver(deps.sys, name),
          kernel_calls: kernelCallsReport(outcome.calls),
        }
      : {}),
  }));
}

/**
 * What the sysfs backend saw of the invalidation: the return probe's values when tracing worked;
 * otherwise "absent" only when kallsyms shows the kernel has no cpu_cache_invalidate_memregion at all
 * (Linux 6.1 commits CXL regions without one), else unknown.
 */
async function invalidationSeen(sys: SysRoot, calls: KernelCalls): Promise<InvalidationSeen> {
  if (calls.count !== null) {
    const returns = (calls.events ?? []).filter((e) => e.kind === 'invalidate').map((e) => e.ret);
    return { kind: 'observed', calls: calls.count, errno: firstInvalidationError(returns) };
  }
  const reason = calls.reason ?? 'no tracing';
  if (calls.invalidateFunction === 'absent') return { kind: 'absent' };
  if (calls.invalidateFunction === 'present') return { kind: 'unknown', reason };
  const symbols = await findSymbols(sys, [INVALIDATE_SYMBOL]);
  if (symbols.readable && !symbols.found.has(INVALIDATE_SYMBOL)) return { kind: 'absent' };
  return { kind: 'unknown', reason };
}

export function kernelCallsReport(calls: KernelCalls): SysfsKernelCalls {
  if (calls.count === null) return { count: null, reason: calls.reason };
  return {
    count: calls.count,
    errors: calls.errors,
    latency_us: calls.latency_us,
    returns: calls.returns,
    events: calls.events,
  };
}

export const describe = (region: CxlRegion): string =>
  describeRegionFor(region.mode, region.start, region.size, region.memdevs);
