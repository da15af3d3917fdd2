/**
 * `erase --region regionN`: the whole secure-erase flow of a CXL region, on the region-flow policy
 * (region-flow.ts) both backends share. The kernel refuses sanitize and secure erase with EBUSY while any
 * decoder of the device is committed (drivers/cxl/core/mbox.c cxl_mem_sanitize()) and leaves the cache
 * invalidation to the next region commit (commit_region() → cxl_region_invalidate_memregion()), so the
 * flow is: preflight, one confirmation naming every device, decommit, the erase on every memdev at once,
 * one wait for all of them, then with `--recommit` the commit that invalidates.
 */
import { dataError, ExitCode, exitCodeForErrno, MemregionError } from '../core/errors.js';
import type { Errno } from './errno.js';
import {
  type CommitOutcome,
  type CommitPlan,
  commitBaseFields,
  commitFailure,
  commitFields,
  type FlowRegion,
  inUse,
  type RegionCommitFields,
  type RegionPrimitives,
  readUnlessStopped,
  requireConfirmation,
  requireProviderOf,
  runningAsRoot,
  stopBeforeFirstWrite,
  toErrno,
  WritesInterrupted,
  writeUnlessStopped,
} from './region-flow.js';
import type {
  EraseMethod,
  MemdevEraseResult,
  RegionEraseFields,
  RegionEraseOptions,
  RegionEraseReport,
  RegionRecommitReport,
  ReportHead,
} from './types.js';

/** Whether one memdev can be erased now: a refusal carries its exit code; a warning does not refuse. */
export type MemdevCheck = { ok: true; warning?: string } | { ok: false; message: string; exitCode: number };

export interface MemdevPrimitives<R extends FlowRegion> {
  /** Supported method, not already sanitizing, no other region's decoder committed on it. */
  checkMemdev(region: R, memdev: string, method: EraseMethod): Promise<MemdevCheck>;
  /** Starts the erase (writes `security/sanitize` or `security/erase`): the refused write's errno code, or null. */
  startErase(memdev: string, method: EraseMethod): Promise<string | null>;
  /** `security/state`: `sanitize` while the operation runs; `unknown` when unreadable. */
  state(memdev: string): Promise<string>;
  /** Milliseconds on the backend's clock. */
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Where to watch a memdev's state, for the "keeps running" line. */
  stateFile(memdev: string): string;
  pollMs: number;
}

/** The next step of an erase that stopped waiting: the kernel's operation goes on without us. */
export const keepsRunning = (method: EraseMethod, stateFiles: string[]): string =>
  `the kernel's ${method} keeps running: watch ${stateFiles.join(', ')}`;

/** The refused write of `security/sanitize` or `security/erase`, by the errno the kernel returned. */
export function eraseRefused(memdev: string, method: EraseMethod, code: string): MemregionError {
  switch (code) {
    case 'EBUSY':
      return new MemregionError(
        `the kernel refused to ${method} ${memdev} (EBUSY): decoders are committed, no driver is bound to it, or a sanitize runs`,
        ExitCode.TEMP_FAIL,
      );
    case 'EACCES':
    case 'EPERM':
      return new MemregionError(
        runningAsRoot()
          ? `the kernel refused to ${method} ${memdev} (${code}) although running as root`
          : `cannot ${method} ${memdev} (${code}): this needs root`,
        ExitCode.NO_PERM,
      );
    case 'ENXIO':
    case 'EOPNOTSUPP':
    case 'ENOTTY':
      return new MemregionError(`the device refused to ${method} ${memdev} (${code})`, ExitCode.UNAVAILABLE);
    case 'ETIMEDOUT':
      return new MemregionError(
        `the kernel gave up waiting for ${memdev} to ${method} (ETIMEDOUT, its 2 s mailbox timeout): whether the device finished is unknown`,
        ExitCode.TEMP_FAIL,
      );
    case 'EINVAL':
      return new MemregionError(`the kernel rejected the ${method} of ${memdev} (EINVAL)`, ExitCode.DATA_ERR);
    default:
      return new MemregionError(`${method} of ${memdev} failed (${code})`, ExitCode.IO_ERR);
  }
}

/** Why `erase <memdev>` needs a provider: the erased device's next region commit invalidates. */
export const MEMDEV_ERASE_CONSEQUENCE =
  'the erased device needs a cache invalidation provider at its next region commit: without one that commit fails with ENXIO and the kernel WARNs "Failed to synchronize CPU cache state", which taints it';

export const methodVerb = (method: EraseMethod): string => (method === 'sanitize' ? 'sanitized' : 'erased');

const capitalized = (method: EraseMethod): string => (method === 'sanitize' ? 'Sanitize' : 'Secure-erase');

/** ndctl's habit: "sanitized 2 memdevs". */
export function eraseCount(method: EraseMethod, erased: number, failed: number): string {
  const n = (k: number) => `${k} memdev${k === 1 ? '' : 's'}`;
  return `${methodVerb(method)} ${n(erased)}${failed > 0 ? `, ${failed} failed` : ''}`;
}

const ERASE_CONSEQUENCE =
  'the erased devices need a cache invalidation provider at the next commit of the region: without one that commit fails with ENXIO and the kernel WARNs "Failed to synchronize CPU cache state", which taints it';

/** Each backend's head: the report is that backend's document (reports.ts). */
type Base = ReportHead<'sysfs'> | ReportHead<'emulated'>;

/**
 * Runs the flow. Refusals before anything is written throw (65 region, 75 in use or busy device,
 * 69/77 no provider, 64 no confirmation). After the decommit, every outcome is a report; a timeout or an
 * interruption throws with the report so far as `partial` (75, 130).
 */
export async function runRegionErase<R extends FlowRegion, O extends CommitOutcome, H extends Base>(
  p: RegionPrimitives<R, O>,
  m: MemdevPrimitives<R>,
  base: H,
  name: string,
  options: RegionEraseOptions,
): Promise<RegionEraseFields & H> {
  const { region, warnings } = await readUnlessStopped(preflightErase(p, m, name, options), options.signal);
  const memdevs = region.memdevs;
  const committed = region.committed;
  const devices = memdevs.map((d) => (d.serial ? `${d.name} serial ${d.serial}` : d.name)).join(', ');
  await requireConfirmation(
    options.confirm,
    `${capitalized(options.method)} ${name} (${devices})? ${committed ? 'It is decommitted first, then all' : 'All'} data on ${memdevs.length === 1 ? 'the device' : `these ${memdevs.length} devices`} is destroyed${options.recommit ? ', and the region is committed again' : ''}.`,
  );

  const began = m.now();
  const report = (
    outcome: RegionEraseReport['outcome'],
    status: RegionEraseReport['status'],
    results: MemdevEraseResult[] = [],
    nextStep?: string,
  ) =>
    buildReport(base, region, options, { outcome, status, results, committed, began, warnings, nextStep }, m);
  // A stop signal during a commit write (a firmware call of minutes): the report so far; what the region
  // is now is unknown once a write had started, else it is as it was before.
  const writes = async (
    plan: CommitPlan,
    observe: boolean,
    before: RegionEraseReport['status'],
    results: MemdevEraseResult[] = [],
  ): Promise<O> => {
    try {
      return await writeUnlessStopped(p, region, plan, observe, options.signal);
    } catch (error) {
      if (!(error instanceof WritesInterrupted)) throw error;
      const { running, done } = error.progress;
      const status = running || done.length > 0 ? 'unknown' : before;
      const partial = report('interrupted', status, results, error.message.replace(/^interrupted: /, ''));
      throw new MemregionError(error.message, error.exitCode, { partial: { ...partial } });
    }
  };
  if (committed) {
    const off = await writes({ decommit: true, commit: false, bind: null }, false, 'committed');
    const failed = off.steps.find((s) => !s.ok);
    if (failed)
      throw commitFailure(name, failed, off.steps, undefined, { ...p.failureContext, locked: region.locked });
  }
  // A committed region's first write is its decommit, which checks the signal itself.
  if (!committed) stopBeforeFirstWrite(options.signal);
  const results = await eraseAll(m, region, options);

  const stopped = results.find((r) => r.error === 'timeout' || r.error === 'interrupted')?.error;
  if (stopped) {
    const partial = report(
      stopped === 'timeout' ? 'timeout' : 'interrupted',
      committed ? 'decommitted' : 'configured',
      results,
    );
    const running = results.filter((r) => r.state === 'sanitize').map((r) => r.memdev);
    const watch = running.map((r) => m.stateFile(r)).join(', ');
    throw new MemregionError(
      stopped === 'timeout'
        ? `timed out after ${Math.round((m.now() - began) / 1000)} s waiting for ${running.join(', ')}: the kernel's ${options.method} keeps running (watch ${watch}); ${name} is left decommitted`
        : `interrupted: the kernel's ${options.method} of ${running.join(', ')} keeps running (watch ${watch}); ${name} is left decommitted`,
      stopped === 'timeout' ? ExitCode.TEMP_FAIL : ExitCode.INTERRUPTED,
      { partial: { ...partial } },
    );
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0 || !options.recommit) {
    return report(failed.length > 0 ? 'failed' : 'done', committed ? 'decommitted' : 'configured', results);
  }
  const plan = { decommit: false, commit: true, bind: p.bindAfter(region, committed) };
  const outcome = await writes(plan, true, committed ? 'decommitted' : 'configured', results);
  const fields = await commitFields(p, region, commitBaseFields(region, plan, false, []), plan, outcome);
  warnings.push(...fields.warnings);
  const done = report(fields.ok ? 'done' : 'failed', fields.status ?? 'unknown', results);
  return {
    ...done,
    ok: done.ok && fields.ok,
    errno: done.errno ?? fields.errno,
    commit: recommitReport(fields),
    invalidation_errno: fields.invalidation_errno,
    next_step: fields.ok
      ? fields.invalidated
        ? `${name} is committed again: the kernel invalidated CPU caches for its range`
        : `${name} is committed again; whether the kernel's cache invalidation succeeded cannot be known (see the warnings)`
      : fields.invalidation_errno && fields.status === 'committed'
        ? `${name} is committed, but its cache invalidation failed (${fields.invalidation_errno}): stale cache lines may remain; decommit and commit it again (memregion invalidate --region ${name} --cycle)`
        : `commit ${name} again before using it (memregion invalidate --region ${name})`,
  };
}

/**
 * Everything `erase --region` checks before it asks, in order: the region (65), its memdevs, who uses it
 * when committed (75), a configured region for `--recommit` (65), each memdev (69/75), the provider rule.
 */
async function preflightErase<R extends FlowRegion, O extends CommitOutcome>(
  p: RegionPrimitives<R, O>,
  m: MemdevPrimitives<R>,
  name: string,
  options: RegionEraseOptions,
): Promise<{ region: R; warnings: string[] }> {
  const region = await p.loadRegion(name);
  if (region.memdevs.length === 0)
    throw dataError(`${name} has no memdevs (no interleave position is set): nothing to erase`);
  if (region.committed) {
    const users = await p.regionUsers(region);
    if (users.length > 0) throw inUse(name, users);
  } else if (options.recommit) {
    const problem = p.notCommittable(region);
    if (problem) throw dataError(`${problem}; --recommit needs a configured region`);
  }
  const warnings: string[] = [];
  for (const memdev of region.memdevs) {
    const check = await m.checkMemdev(region, memdev.name, options.method);
    if (!check.ok) throw new MemregionError(check.message, check.exitCode);
    if (check.warning) warnings.push(check.warning);
  }
  const forced = await requireProviderOf(
    await p.provider(),
    options.force,
    `${options.method} ${name}`,
    ERASE_CONSEQUENCE,
  );
  if (forced) {
    p.warn?.(forced);
    warnings.push(forced);
  }
  return { region, warnings };
}

const recommitReport = (fields: RegionCommitFields): RegionRecommitReport => ({
  plan: fields.plan,
  steps: fields.steps,
  ok: fields.ok,
  errno: fields.errno,
  invalidation_errno: fields.invalidation_errno,
  invalidated: fields.invalidated,
});

/**
 * Starts the erase on every memdev at once, then waits for all of them in one loop (a device that failed
 * to start does not stop the wait for the others). A timeout or an interruption ends the wait for all.
 */
async function eraseAll<R extends FlowRegion>(
  m: MemdevPrimitives<R>,
  region: R,
  options: RegionEraseOptions,
): Promise<MemdevEraseResult[]> {
  const began = m.now();
  const errors = await Promise.all(region.memdevs.map((d) => m.startErase(d.name, options.method)));
  const results: MemdevEraseResult[] = region.memdevs.map((d, i) => ({
    memdev: d.name,
    serial: d.serial,
    ok: false,
    state: 'sanitize',
    error: errors[i] ?? null,
    elapsed_ms: 0,
  }));
  const waiting = new Set(results.filter((r) => r.error === null));
  for (const r of results) if (r.error !== null) r.state = await m.state(r.memdev);
  for (;;) {
    const states = await Promise.all([...waiting].map(async (r) => [r, await m.state(r.memdev)] as const));
    const elapsed = m.now() - began;
    for (const [r, state] of states) {
      r.state = state;
      r.elapsed_ms = Math.round(elapsed);
      if (state === 'sanitize') continue;
      waiting.delete(r);
      // Done when the state left `sanitize`; an unreadable state confirms nothing.
      r.ok = state !== 'unknown';
      if (!r.ok) r.error = 'state unknown';
    }
    options.onProgress?.(Object.fromEntries(results.map((r) => [r.memdev, r.state])), elapsed);
    if (waiting.size === 0) return results;
    const stop = options.signal.aborted ? 'interrupted' : elapsed >= options.timeoutMs ? 'timeout' : null;
    if (stop) {
      for (const r of waiting) r.error = stop;
      return results;
    }
    await m.sleep(Math.min(m.pollMs, Math.max(1, options.timeoutMs - elapsed)), options.signal);
  }
}

function buildReport<R extends FlowRegion, H extends Base>(
  base: H,
  region: R,
  options: RegionEraseOptions,
  run: {
    outcome: RegionEraseReport['outcome'];
    status: RegionEraseReport['status'];
    results: MemdevEraseResult[];
    committed: boolean;
    began: number;
    warnings: string[];
    /** What to do next when the flow's own rule does not say it (writes a signal cut short). */
    nextStep?: string;
  },
  m: MemdevPrimitives<R>,
): RegionEraseFields & H {
  const name = region.name;
  const failed = run.results.filter((r) => !r.ok);
  const warnings = [...run.warnings];
  if (failed.length > 0 && run.outcome === 'failed') {
    const what = failed.map((r) => `${r.memdev} (${r.error})`).join(', ');
    warnings.push(
      `${name} is left ${run.committed ? 'decommitted' : 'uncommitted'}: the ${options.method} of ${what} failed; erase ${failed.length === 1 ? 'it' : 'them'} again before committing ${name}`,
    );
  }
  const firstErrno = failed.map((r) => r.error).find((e): e is string => !!e && /^E[A-Z]+$/.test(e));
  const errno: Errno | null = firstErrno ? toErrno(firstErrno) : null;
  return {
    ...base,
    region: name,
    method: options.method,
    recommit: options.recommit,
    ok: failed.length === 0 && run.outcome === 'done',
    errno,
    outcome: run.outcome,
    decommitted: run.committed,
    memdevs: run.results,
    erased: run.results.length - failed.length,
    failed: failed.length,
    status: run.status,
    commit: null,
    invalidation_errno: null,
    elapsed_ms: Math.round(m.now() - run.began),
    next_step:
      run.nextStep ??
      (run.outcome === 'timeout' || run.outcome === 'interrupted'
        ? `${keepsRunning(
            options.method,
            failed.map((r) => m.stateFile(r.memdev)),
          )}, then commit ${name} again`
        : failed.length > 0
          ? `erase ${failed.map((r) => r.memdev).join(', ')} again (memregion erase --region ${name}), then commit ${name}`
          : `commit ${name} again before using it (memregion invalidate --region ${name}): the commit invalidates CPU caches for its range`),
    warnings,
  };
}

/** The exit code of an `erase --region` report: 0 only when every step succeeded. */
export function regionEraseExitCode(report: RegionEraseReport): number {
  if (report.ok) return ExitCode.OK;
  return report.errno ? exitCodeForErrno(report.errno) : ExitCode.IO_ERR;
}
