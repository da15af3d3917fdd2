import { dataError, ExitCode, MemregionError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Errno } from '../errno.js';
import {
  alreadyCommitted,
  commitQuestion,
  firstInvalidationError,
  ignoredInvalidationWarning,
  unknownInvalidationWarning,
} from '../region-flow.js';
import type { InvalidateReport, RegionInvalidateOptions } from '../types.js';
import { type CxlRegion, readCxlRegion, regionPath } from './cxl.js';
import type { SysRoot } from './fs.js';
import { errorCode, type ProbeFn, requireConfirmation, requireProvider } from './guard.js';
import { findSymbols } from './kallsyms.js';
import { type KernelCalls, withKernelTrace } from './kernel-trace.js';
import { requireKernelName } from './names.js';
import { regionUsers } from './region-users.js';
import type { TraceTarget } from './tracefs-locate.js';
import { dec, hex } from './values.js';

/**
 * `invalidate --region regionZ` on the sysfs backend: the kernel invalidates a CXL region's range when
 * the region is committed (and again when it is decommitted), so this drives `regionZ/commit`.
 */

export interface RegionFlowDeps {
  sys: SysRoot;
  log: Logger;
  probe: ProbeFn;
  /** Tracing of the kernel's calls during the write: options, or false to skip it. */
  trace?: { target?: TraceTarget; group?: string; settleMs?: number } | false;
}

export interface WriteStep {
  file: string;
  value: string;
  ok: boolean;
  elapsed_us: number;
  error?: string;
}

/** Reads the region or refuses: a bad name or an unknown region is bad input (exit 65). */
export async function loadRegion(sys: SysRoot, name: string): Promise<CxlRegion> {
  requireKernelName('region', name);
  const region = await readCxlRegion(sys, name);
  if (!region) throw dataError(`no such region: ${name} (no ${regionPath(name)}; see \`memregion regions\`)`);
  return region;
}

export async function requireUnused(sys: SysRoot, region: CxlRegion): Promise<void> {
  const users = await regionUsers(sys, region);
  if (users.length > 0) {
    throw new MemregionError(
      `refusing to decommit ${region.name}: it is in use (${users.join('; ')}); stop using it first`,
      ExitCode.TEMP_FAIL,
    );
  }
}

/** A configured region has its size and every interleave position filled: otherwise commit fails with ENXIO. */
export function requireConfigured(region: CxlRegion): void {
  if (region.size === null)
    throw dataError(`${region.name} is not configured (size is 0): nothing to commit`);
  const ways = region.interleaveWays ?? 0;
  const empty = Array.from({ length: ways }, (_, i) => i).filter((i) => !region.targets[i]);
  if (ways === 0 || empty.length > 0) {
    throw dataError(
      `${region.name} is not fully configured (${ways === 0 ? 'no interleave ways' : `target${empty[0]} is empty`}): the kernel would refuse the commit`,
    );
  }
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

/**
 * The driver to bind after the commit: the one a cycle's decommit released (commit_store() in
 * drivers/cxl/core/region.c releases the driver itself), or with `enable` the region driver, which a
 * commit alone never binds: `cxl enable-region` (ndctl's cxl/region.c) binds it by writing the region's
 * name to drivers/cxl_region/bind, and only then do its DAX or pmem devices appear.
 */
export function driverToBind(region: CxlRegion, cycle: boolean, enable: boolean): string | null {
  if (cycle && region.driver && /^[a-z0-9_]+$/.test(region.driver)) return region.driver;
  return enable ? 'cxl_region' : null;
}

/**
 * The writes themselves: `commit` ← 1, or for a cycle `commit` ← 0 then ← 1, then the binding
 * driverToBind() names. Stops at the first failed write.
 */
export async function writeCommit(
  sys: SysRoot,
  region: CxlRegion,
  cycle: boolean,
  enable = false,
): Promise<WriteStep[]> {
  const commitFile = `${regionPath(region.name)}/commit`;
  const steps: WriteStep[] = [];
  if (cycle) {
    const off = await timedWrite(sys, commitFile, '0');
    steps.push(off);
    if (!off.ok) return steps;
  }
  const on = await timedWrite(sys, commitFile, '1');
  steps.push(on);
  const driver = driverToBind(region, cycle, enable);
  if (on.ok && driver) steps.push(await timedWrite(sys, `sys/bus/cxl/drivers/${driver}/bind`, region.name));
  return steps;
}

const ERRNOS: readonly Errno[] = ['EINVAL', 'EOPNOTSUPP', 'EAGAIN', 'EBUSY', 'EIO', 'ENODEV', 'ENXIO'];
export const toErrno = (code: string): Errno =>
  (ERRNOS as readonly string[]).includes(code) ? (code as Errno) : 'EIO';

/** One line saying what a failed write means, with the exit code that goes with it. */
export function commitFailure(region: string, step: WriteStep, steps: WriteStep[]): MemregionError {
  const code = step.error ?? 'EIO';
  const leftDecommitted =
    steps[0]?.value === '0' && steps[0].ok && step.value === '1' && step.file.endsWith('/commit')
      ? `; ${region} is left decommitted (commit reads 0)`
      : '';
  const target = `${step.file.split('/').slice(-2).join('/')} <- ${step.value}`;
  switch (code) {
    case 'ENXIO':
      return new MemregionError(
        `the kernel refused ${target} (ENXIO): no CPU cache invalidation provider, or the region is not ready; the kernel log says which ("Failed to synchronize CPU cache state")${leftDecommitted}`,
        ExitCode.UNAVAILABLE,
      );
    case 'EBUSY':
      return new MemregionError(
        `the kernel refused ${target} (EBUSY): busy, try again${leftDecommitted}`,
        ExitCode.TEMP_FAIL,
      );
    case 'EACCES':
    case 'EPERM':
      return new MemregionError(`cannot write ${target} (${code}): this needs root`, ExitCode.NO_PERM);
    case 'EINVAL':
      return new MemregionError(
        `the kernel rejected ${target} (EINVAL)${leftDecommitted}`,
        ExitCode.DATA_ERR,
      );
    default:
      return new MemregionError(`writing ${target} failed (${code})${leftDecommitted}`, ExitCode.IO_ERR);
  }
}

export async function invalidateRegion(
  name: string,
  options: RegionInvalidateOptions,
  deps: RegionFlowDeps,
): Promise<InvalidateReport> {
  const { sys, log } = deps;
  const region = await loadRegion(sys, name);
  let cycle = false;
  if (region.committed === null) throw new MemregionError(`cannot read ${name}/commit`, ExitCode.IO_ERR);
  if (region.committed) {
    if (!options.cycle) throw alreadyCommitted(name);
    await requireUnused(sys, region);
    cycle = true;
  } else {
    requireConfigured(region);
  }
  const forced = await requireProvider(deps.probe, options.force, log, `write ${name}/commit`);
  const enable = options.enable === true;
  const driver = driverToBind(region, cycle, enable);
  const plan = [...(cycle ? ['commit <- 0'] : []), 'commit <- 1', ...(driver ? [`bind ${driver}`] : [])];
  const base = {
    backend: 'sysfs' as const,
    start: hex(region.start) ?? 'unknown',
    size: dec(region.size) ?? 'unknown',
    region: name,
    action: cycle ? 'cycle' : 'commit',
    plan,
    ...(forced ? { warnings: [forced] } : {}),
  };
  if (options.dryRun) {
    return {
      ...base,
      dry_run: true,
      ok: true,
      errno: null,
      attempts: 0,
      retries: 0,
      elapsed_us: 0,
      status: null,
    };
  }
  await requireConfirmation(options.confirm, commitQuestion(name, cycle, describe(region)));
  const run = () => writeCommit(sys, region, cycle, enable);
  let steps: WriteStep[];
  let calls: KernelCalls;
  if (deps.trace === false) {
    steps = await run();
    calls = { count: null, reason: 'tracing not requested' };
  } else {
    ({ result: steps, calls } = await withKernelTrace(sys, log, run, deps.trace ?? {}));
  }
  const failed = steps.find((s) => !s.ok);
  if (failed?.file.endsWith('/commit')) throw commitFailure(name, failed, steps);
  const warnings = [...(forced ? [forced] : [])];
  if (failed)
    warnings.push(
      `${name} is committed but binding ${driver} failed (${failed.error}): bind it again with cxl enable-region ${name}`,
    );
  const committedNow = (await sys.value(`${regionPath(name)}/commit`)) ?? null;
  const after = await readCxlRegion(sys, name);
  const invalidated = await didInvalidate(sys, calls);
  // Linux 6.1 commits CXL regions without any cache invalidation: a success would claim one that never happened.
  const noInvalidation = invalidated === false && calls.count === null;
  // The kernel commits whatever its invalidation returned: the return probe is the only way to know.
  const invalidationErrno =
    calls.count === null
      ? null
      : firstInvalidationError((calls.events ?? []).filter((e) => e.kind === 'invalidate').map((e) => e.ret));
  if (noInvalidation)
    warnings.push(
      `${name} is committed, but this kernel has no cpu_cache_invalidate_memregion: nothing was invalidated`,
    );
  else if (calls.count === null)
    warnings.push(unknownInvalidationWarning(name, calls.reason ?? 'no tracing'));
  else if (invalidated === false)
    warnings.push(
      `${name} is committed, but the kernel made no cpu_cache_invalidate_memregion call (traced)`,
    );
  else if (invalidationErrno) warnings.push(ignoredInvalidationWarning(name, invalidationErrno));
  const errno = noInvalidation ? 'EOPNOTSUPP' : invalidationErrno;
  return {
    ...base,
    dry_run: false,
    ok: errno === null,
    errno,
    invalidation_errno: invalidationErrno,
    invalidated,
    attempts: 1,
    retries: 0,
    elapsed_us: Math.round(steps.reduce((sum, s) => sum + s.elapsed_us, 0)),
    status: committedNow === '1' ? 'committed' : `commit reads ${committedNow ?? 'nothing'}`,
    // A commit alone leaves the region unbound (no DAX or pmem device): --enable binds it.
    driver: after?.driver ?? null,
    steps,
    kernel_calls: calls.count === null ? { count: null, reason: calls.reason } : summarizeCalls(calls),
    warnings,
  };
}

/**
 * Whether the kernel invalidated: the traced call count when tracing worked; otherwise false only when
 * kallsyms shows the kernel has no cpu_cache_invalidate_memregion at all (null: cannot tell).
 */
async function didInvalidate(sys: SysRoot, calls: KernelCalls): Promise<boolean | null> {
  if (calls.count !== null) return calls.count > 0;
  const symbols = await findSymbols(sys, ['cpu_cache_invalidate_memregion']);
  if (!symbols.readable) return null;
  return symbols.found.has('cpu_cache_invalidate_memregion') ? null : false;
}

function summarizeCalls(calls: KernelCalls): Record<string, unknown> {
  return {
    count: calls.count,
    errors: calls.errors,
    latency_us: calls.latency_us,
    returns: calls.returns,
    events: calls.events,
  };
}

function describe(region: CxlRegion): string {
  const parts = [region.mode ?? 'mode unknown'];
  if (region.start !== null) parts.push(`at ${hex(region.start)}`);
  if (region.size !== null) parts.push(`${region.size} bytes`);
  if (region.memdevs.length > 0) parts.push(`on ${region.memdevs.join(', ')}`);
  return parts.join(', ');
}
