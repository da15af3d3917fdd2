/**
 * The region-flow policy both backends follow for `invalidate --region`, `stress --region` and
 * `erase --region`: the order of the refusals and their exit codes, the confirmation questions, the plan
 * of writes, and the report of what the writes did. Each backend supplies only its primitives
 * (RegionPrimitives): read the region, who uses it, whether a provider exists, and the commit writes with
 * whatever it could observe of the kernel's invalidation. Linux 7.x commits the region whatever
 * cpu_cache_invalidate_memregion() returned (drivers/cxl/core/region.c cxl_region_invalidate_memregion()),
 * so the report says so.
 */
import { dataError, ExitCode, MemregionError } from '../core/errors.js';
import { unlessStopped } from '../core/stop.js';
import { formatHex } from '../core/units.js';
import { type Errno, errnoOfReturn, isErrno } from './errno.js';
import type { CommitStep, Confirm, CycleTracingReport, RegionCommitFields } from './types.js';

/** A region as the policy needs it; a backend may carry more (its own handle) in a subtype. */
export interface FlowRegion {
  name: string;
  start: bigint | null;
  size: bigint | null;
  committed: boolean;
  /** `regionZ/locked` (sysfs): true, false, null when unreadable (before Linux 7.1); absent: no such thing. */
  locked?: boolean | null;
  /** The memdevs behind its interleave positions, with their serials (the names that survive a reboot). */
  memdevs: Array<{ name: string; serial: string | null }>;
  /** For the question: mode, range, devices. */
  description: string;
}

/** Whether a cache invalidation provider exists, as the backend can tell. */
export type ProviderCheck =
  | { available: true }
  | {
      available: false;
      /** Why not, e.g. `the probe verdict is "unknown" (…)`. */
      why: string;
      /** The backend could not tell for want of privileges (exit 77, as for `probe`). */
      needsPrivileges: boolean;
      /** What this kernel would do with the write instead (sysfs: from the probe's evidence). */
      consequence?: string;
    };

/** What a backend saw of the kernel's cpu_cache_invalidate_memregion() calls during a flow's writes. */
export type InvalidationSeen =
  | { kind: 'observed'; calls: number; errno: Errno | null }
  | { kind: 'unknown'; reason: string }
  /** The kernel has no cpu_cache_invalidate_memregion at all (Linux 6.1): nothing was invalidated. */
  | { kind: 'absent' };

/** The writes of one flow: `commit` ← 0, `commit` ← 1, then binding a driver, each optional. */
export interface CommitPlan {
  decommit: boolean;
  commit: boolean;
  bind: string | null;
}

export interface CommitOutcome {
  steps: CommitStep[];
  invalidation: InvalidationSeen;
}

/** The writes of a plan as they happen: where a stop signal found them. */
export interface WriteProgress {
  /** The write that has not returned yet (null between writes). */
  running: { file: string; value: string } | null;
  /** The writes that returned, in order. */
  done: CommitStep[];
  /** A stop signal ended the flow: the writes it left running in the background start no further write. */
  stopped?: true;
}

/** One write of a plan, told to `progress` as it starts and as it returns. */
export async function trackedWrite(
  progress: WriteProgress | undefined,
  file: string,
  value: string,
  write: () => Promise<CommitStep>,
): Promise<CommitStep> {
  // The flow has already said what the region is left as (a trace set-up that ran on after the signal).
  if (progress?.stopped)
    throw new MemregionError(`interrupted: ${file} <- ${value} not written`, ExitCode.INTERRUPTED);
  if (progress) progress.running = { file, value };
  const step = await write();
  if (progress) {
    progress.running = null;
    progress.done.push(step);
  }
  return step;
}

/** A flow's writes that a stop signal ended before they returned; `progress` says how far they got. */
export class WritesInterrupted extends MemregionError {
  readonly progress: WriteProgress;

  constructor(message: string, progress: WriteProgress) {
    super(message, ExitCode.INTERRUPTED);
    this.progress = progress;
  }
}

/**
 * `p.write(...)`, or at the first stop signal a WritesInterrupted error naming the write it found running
 * and what the region is left as, as far as the writes that returned tell: a commit whose firmware call
 * takes minutes must not need a second Ctrl-C. The write itself is the kernel's to finish (the process
 * ends without waiting for it). A signal that came before the first write stops the flow before it.
 */
export function writeUnlessStopped<R extends FlowRegion, O extends CommitOutcome>(
  p: RegionPrimitives<R, O>,
  region: R,
  plan: CommitPlan,
  observe: boolean,
  signal: AbortSignal | undefined,
): Promise<O> {
  const progress: WriteProgress = { running: null, done: [] };
  const stopped = () => {
    const error = new WritesInterrupted(interruptedWrites(region.name, progress), progress);
    progress.stopped = true;
    return error;
  };
  if (signal?.aborted) return Promise.reject(stopped());
  const work = p.write(region, plan, observe, progress);
  return signal ? unlessStopped(work, signal, stopped) : work;
}

const NOTHING_WRITTEN = 'interrupted before any write: nothing was written';

/**
 * A preflight read (the region, its memdevs and users, the probe: a --root tree may list tens of
 * thousands of endpoints or memory blocks), or at the first stop signal an INTERRUPTED error: before the
 * first write there is nothing to report but that.
 */
export function readUnlessStopped<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal ? unlessStopped(work, signal, NOTHING_WRITTEN) : work;
}

/**
 * Right before a flow's first write: a stop signal that came meanwhile (an answered question, `--yes`
 * after a preflight the signal did not cut short) ends the flow there, so that no erase starts after it.
 */
export function stopBeforeFirstWrite(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MemregionError(NOTHING_WRITTEN, ExitCode.INTERRUPTED);
}

/** What a signal found: the writes that returned, the one running, and what is unknown because of it. */
export function interruptedWrites(name: string, progress: WriteProgress): string {
  const done = progress.done.filter((step) => step.ok).map((step) => writeDone(name, step));
  const running = progress.running;
  if (!running)
    return done.length === 0
      ? `interrupted before any write: ${name} is as it was`
      : `interrupted after the writes returned (${done.join('; ')}): the report was not finished`;
  const before = done.length > 0 ? `${done.join('; ')}; ` : '';
  return `interrupted: ${before}${writeRunning(name, running)}`;
}

const writeDone = (name: string, step: CommitStep): string =>
  step.file.endsWith('/commit')
    ? `${name} was ${step.value === '0' ? 'decommitted' : 'committed'} (${step.file} <- ${step.value})`
    : `${step.file} <- ${step.value} returned`;

function writeRunning(name: string, write: { file: string; value: string }): string {
  const w = `${write.file} <- ${write.value}`;
  if (!write.file.endsWith('/commit'))
    return `binding the driver (${w}) had not returned: whether ${name} is bound is unknown (cxl enable-region ${name} binds it)`;
  if (write.value === '0')
    return `the decommit (${w}, which invalidates the range on teardown) had not returned: whether ${name} is still committed is unknown (read ${write.file})`;
  return `the commit (${w}, which invalidates the range) had not returned: whether ${name} is committed, and its caches invalidated, is unknown (read ${write.file}; then memregion invalidate --region ${name}, with --cycle if it reads 1)`;
}

export interface RegionPrimitives<R extends FlowRegion, O extends CommitOutcome = CommitOutcome> {
  /** The region, or a refusal (a bad name or an unknown region is exit 65). */
  loadRegion(name: string): Promise<R>;
  /** What keeps it from being decommitted (bound DAX devices, online memory...), one phrase each. */
  regionUsers(region: R): Promise<string[]>;
  /** Why a region that is not committed cannot be (null: it can). */
  notCommittable(region: R): string | null;
  provider(): Promise<ProviderCheck>;
  /** The driver to bind after the commit (null: none). */
  bindAfter(region: R, cycle: boolean): string | null;
  /**
   * The writes, stopping at the first that fails; `observe`: watch the invalidation during them; each
   * write told to `progress` (trackedWrite) as it starts and returns.
   */
  write(region: R, plan: CommitPlan, observe: boolean, progress?: WriteProgress): Promise<O>;
  /** `commit` as it reads after the writes (null: unreadable). */
  committedNow(region: R): Promise<boolean | null>;
  /** Where a `--force` warning is also said at once (the sysfs backend's log). */
  warn?(line: string): void;
  /** What a failed write's message may lean on besides the region's `locked` (default: none). */
  failureContext?: FailureContext;
}

/**
 * The driver to bind after the commit, the same rule on both backends: the one bound before a cycle,
 * since commit_store() (drivers/cxl/core/region.c) releases it on `commit` <- 0 and `commit` <- 1 binds
 * nothing; with `enable`, the region driver, as `cxl enable-region` (ndctl's cxl/region.c) binds it by
 * writing the region's name to drivers/cxl_region/bind. `bound`: the driver read before any write.
 */
export function driverAfterCommit(bound: string | null, cycle: boolean, enable: boolean): string | null {
  if (cycle && bound && /^[a-z0-9_]+$/.test(bound)) return bound;
  return enable ? 'cxl_region' : null;
}

export type { RegionCommitFields };

export const alreadyCommitted = (name: string): MemregionError =>
  new MemregionError(
    `${name} is already committed: the kernel invalidated its range when it was committed; use --cycle to decommit and commit it again (only when nothing uses it)`,
    ExitCode.USAGE,
  );

/**
 * A locked region (built from decoders the platform locked) cannot be decommitted: commit_store() in
 * drivers/cxl/core/region.c returns EPERM for `commit` ← 0 whoever writes it, until the platform resets.
 * That is neither a missing privilege (77) nor temporary (75): the operation is not available for this
 * region, 69 as for an interface that is not there.
 */
export const lockedRegion = (name: string): MemregionError =>
  new MemregionError(
    `refusing to decommit ${name}: it is locked (${name}/locked reads 1: its decoders were locked by the platform firmware, and the kernel refuses commit <- 0 with EPERM until a reset)`,
    ExitCode.UNAVAILABLE,
  );

/** Every flow that finds a region committed decommits it (or refuses): a locked one is refused first. */
export function requireUnlocked(region: FlowRegion): void {
  if (region.committed && region.locked === true) throw lockedRegion(region.name);
}

export const inUse = (name: string, users: string[], action = 'decommit'): MemregionError =>
  new MemregionError(
    `refusing to ${action} ${name}: it is in use (${users.join('; ')}); stop using it first`,
    ExitCode.TEMP_FAIL,
  );

export const commitQuestion = (name: string, cycle: boolean, what: string): string =>
  cycle
    ? `Decommit and recommit ${name} (${what})? The kernel invalidates CPU caches for its range.`
    : `Commit ${name} (${what})? The kernel invalidates CPU caches for its range and the region starts decoding.`;

export const stressQuestion = (name: string): string =>
  `Decommit and recommit ${name} repeatedly? Nothing may use it while the stress runs.`;

export const ignoredInvalidationWarning = (name: string, errno: string): string =>
  `the kernel ignored the failed cache invalidation of ${name} (${errno}) and committed it: stale cache lines may remain for its range`;

export const unknownInvalidationWarning = (name: string, reason: string): string =>
  `the outcome of ${name}'s cache invalidation cannot be known (${reason}): the kernel commits the region even when it fails`;

/** The error line of a commit whose invalidation the kernel ignored: the user's intent failed. */
export const ignoredInvalidationError = (name: string, errno: string): string =>
  `${name} is committed, but the kernel ignored its failed cache invalidation (${errno}): stale cache lines may remain`;

export const PROVIDER_CONSEQUENCE =
  'without a cache invalidation provider the kernel fails the region commit with ENXIO and WARNs ' +
  '"Failed to synchronize CPU cache state", which taints it';

/**
 * The provider rule: refuse (69, or 77 when privileges were missing) unless `force`, which returns the
 * warning to report. Checked before any confirmation, so a script without a provider learns that first.
 */
export async function requireProviderOf(
  check: ProviderCheck,
  force: boolean | null,
  what: string,
  given?: string,
): Promise<string | null> {
  if (check.available) return null;
  // A commit's consequence is the kernel's (check.consequence); an erase gives its own.
  const consequence = given ?? check.consequence ?? PROVIDER_CONSEQUENCE;
  if (!force) {
    // null: the command has no --force.
    const hint = force === null ? '' : ' (use --force to write anyway)';
    throw new MemregionError(
      `refusing to ${what}: ${check.why}; ${consequence}${hint}`,
      check.needsPrivileges ? ExitCode.NO_PERM : ExitCode.UNAVAILABLE,
    );
  }
  return `--force: writing although ${check.why}; ${consequence}`;
}

/** Asks; a refusal ends the action before any write (exit 64). */
export async function requireConfirmation(confirm: Confirm, question: string): Promise<void> {
  if (!(await confirm(question))) throw new MemregionError('cancelled', ExitCode.USAGE);
}

/**
 * The first failure among the return values of cpu_cache_invalidate_memregion() a flow's writes made
 * (as the return probe saw them), as an errno name: null when every call returned 0.
 */
export function firstInvalidationError(
  returns: ReadonlyArray<number | string | null | undefined>,
): Errno | null {
  for (const ret of returns) {
    if (ret === 0 || ret === '0' || ret === null || ret === undefined) continue;
    const value = typeof ret === 'number' ? ret : Number(ret);
    if (Number.isInteger(value)) return errnoOfReturn(value) ?? 'EIO';
    if (typeof ret === 'string' && /^E[A-Z]+$/.test(ret)) return ret as Errno;
  }
  return null;
}

const ERRNOS: readonly Errno[] = ['EINVAL', 'EOPNOTSUPP', 'EAGAIN', 'EBUSY', 'EIO', 'ENODEV', 'ENXIO'];
/** A failed write's error code as one of the errnos a region flow reports. */
export const toErrno = (code: string): Errno =>
  (ERRNOS as readonly string[]).includes(code) ? (code as Errno) : isErrno(code) ? code : 'EIO';

/** What a failed write's message may lean on: the region's `locked`, and whether we run as root. */
export interface FailureContext {
  locked?: boolean | null;
  root?: boolean;
  /**
   * false: a write cannot fail for want of privileges (the emulated kernel has no file modes), so an
   * EPERM is the kernel's own refusal, not "needs root".
   */
  filePermissions?: boolean;
}

export const runningAsRoot = (): boolean => process.geteuid?.() === 0;

/**
 * EPERM on `commit`: without root, the file's mode (0644) refused it; as root (or where no file mode
 * applies), commit_store() (drivers/cxl/core/region.c) refused to decommit a locked region, which a
 * kernel without `locked` cannot say.
 */
function permissionFailure(
  target: string,
  code: string,
  context: FailureContext,
  options: { partial: Record<string, unknown> } | undefined,
): MemregionError {
  const privileged = context.filePermissions === false || (context.root ?? runningAsRoot());
  if (!privileged)
    return new MemregionError(`cannot write ${target} (${code}): this needs root`, ExitCode.NO_PERM, options);
  const asRoot = context.filePermissions === false ? '' : ' although running as root';
  if (code === 'EPERM' && target.endsWith('/commit <- 0') && context.locked === true)
    return new MemregionError(
      `the kernel refused ${target} (EPERM)${asRoot}: the region is locked (built from decoders the platform firmware locked), which the kernel refuses to decommit until a reset`,
      ExitCode.UNAVAILABLE,
      options,
    );
  if (code === 'EPERM' && target.endsWith('/commit <- 0') && context.locked !== false)
    return new MemregionError(
      `the kernel refused ${target} (EPERM)${asRoot}: the region may be locked (built from decoders the platform firmware locked), which the kernel refuses to decommit; this kernel has no readable locked attribute to tell`,
      ExitCode.UNAVAILABLE,
      options,
    );
  return new MemregionError(`the kernel refused ${target} (${code})${asRoot}`, ExitCode.NO_PERM, options);
}

/** One line saying what a failed write means, with the exit code that goes with it. */
export function commitFailure(
  region: string,
  step: CommitStep,
  steps: CommitStep[],
  partial?: object,
  context: FailureContext = {},
): MemregionError {
  const code = step.error ?? 'EIO';
  const leftDecommitted =
    steps[0]?.value === '0' && steps[0].ok && step.value === '1' && step.file.endsWith('/commit')
      ? `; ${region} is left decommitted (commit reads 0)`
      : '';
  const target = `${step.file.split('/').slice(-2).join('/')} <- ${step.value}`;
  const options = partial ? { partial: partial as Record<string, unknown> } : undefined;
  switch (code) {
    case 'ENXIO':
      return new MemregionError(
        `the kernel refused ${target} (ENXIO): no CPU cache invalidation provider, or the region is not ready; the kernel log says which ("Failed to synchronize CPU cache state")${leftDecommitted}`,
        ExitCode.UNAVAILABLE,
        options,
      );
    case 'EBUSY':
      return new MemregionError(
        `the kernel refused ${target} (EBUSY): busy, try again${leftDecommitted}`,
        ExitCode.TEMP_FAIL,
        options,
      );
    case 'EACCES':
    case 'EPERM':
      return permissionFailure(target, code, context, options);
    case 'EINVAL':
      return new MemregionError(
        `the kernel rejected ${target} (EINVAL)${leftDecommitted}`,
        ExitCode.DATA_ERR,
        options,
      );
    default:
      return new MemregionError(
        `writing ${target} failed (${code})${leftDecommitted}`,
        ExitCode.IO_ERR,
        options,
      );
  }
}

/** The writes a plan makes, as the report lists them. */
export const planText = (plan: CommitPlan): string[] => [
  ...(plan.decommit ? ['commit <- 0'] : []),
  ...(plan.commit ? ['commit <- 1'] : []),
  ...(plan.bind ? [`bind ${plan.bind}`] : []),
];

export interface CommitRequest {
  dryRun: boolean;
  cycle: boolean;
  force: boolean;
  confirm: Confirm;
  /** A stop signal ends the writes where they are (writeUnlessStopped). */
  signal?: AbortSignal;
}

export interface CommitFlowResult<R extends FlowRegion, O extends CommitOutcome> {
  region: R;
  fields: RegionCommitFields;
  /** null on a dry run. */
  outcome: O | null;
}

/**
 * The preflight of a commit or a cycle, in this order: the region (65), already committed without
 * `--cycle` (64), in use (75), not configured (65), no provider (69/77, unless `--force`).
 */
async function preflightCommit<R extends FlowRegion, O extends CommitOutcome>(
  p: RegionPrimitives<R, O>,
  name: string,
  request: CommitRequest,
): Promise<{ region: R; cycle: boolean; warnings: string[] }> {
  const region = await p.loadRegion(name);
  const cycle = region.committed;
  if (cycle) {
    if (!request.cycle) throw alreadyCommitted(name);
    const users = await p.regionUsers(region);
    if (users.length > 0) throw inUse(name, users);
  } else {
    const problem = p.notCommittable(region);
    if (problem) throw dataError(problem);
  }
  const forced = await requireProviderOf(await p.provider(), request.force, `write ${name}/commit`);
  if (forced) p.warn?.(forced);
  return { region, cycle, warnings: forced ? [forced] : [] };
}

/**
 * `invalidate --region`: preflight → plan → (dry run: stop) → confirm → writes → report. A failed
 * `commit` write is an error whose `partial` is the report (`finish` builds the backend's document).
 */
export async function runCommitFlow<R extends FlowRegion, O extends CommitOutcome, Report extends object>(
  p: RegionPrimitives<R, O>,
  name: string,
  request: CommitRequest,
  finish: (result: CommitFlowResult<R, O>) => Report | Promise<Report>,
): Promise<Report> {
  const { region, cycle, warnings } = await readUnlessStopped(
    preflightCommit(p, name, request),
    request.signal,
  );
  const plan: CommitPlan = { decommit: cycle, commit: true, bind: p.bindAfter(region, cycle) };
  const base = commitBaseFields(region, plan, request.dryRun, warnings);
  if (request.dryRun) return finish({ region, fields: base, outcome: null });
  await requireConfirmation(request.confirm, commitQuestion(name, cycle, region.description));
  let outcome: O;
  try {
    outcome = await writeUnlessStopped(p, region, plan, true, request.signal);
  } catch (error) {
    if (!(error instanceof WritesInterrupted)) throw error;
    // The report so far: the writes that returned; once one had started, the state is unknown.
    const { running, done } = error.progress;
    const started = running !== null || done.length > 0;
    const fields = { ...base, ok: false, status: started ? ('unknown' as const) : null, steps: done };
    const partial = await finish({ region, fields, outcome: null });
    throw new MemregionError(error.message, error.exitCode, { partial: { ...partial, interrupted: true } });
  }
  const fields = await commitFields(p, region, base, plan, outcome);
  const report = await finish({ region, fields, outcome });
  const failed = outcome.steps.find((s) => !s.ok);
  if (failed?.file.endsWith('/commit'))
    throw commitFailure(name, failed, outcome.steps, report, { ...p.failureContext, locked: region.locked });
  return report;
}

/** A commit report's fields before its writes (a dry run's report). */
export function commitBaseFields(
  region: FlowRegion,
  plan: CommitPlan,
  dryRun: boolean,
  warnings: string[],
): RegionCommitFields {
  return {
    region: region.name,
    start: region.start === null ? 'unknown' : formatHex(region.start),
    size: region.size === null ? 'unknown' : region.size.toString(),
    action: plan.decommit ? 'cycle' : 'commit',
    plan: planText(plan),
    dry_run: dryRun,
    ok: true,
    errno: null,
    invalidation_errno: null,
    invalidated: null,
    status: null,
    steps: [],
    warnings,
  };
}

/** What the writes did, as the report says it: status, the invalidation's outcome, warnings. */
export async function commitFields<R extends FlowRegion, O extends CommitOutcome>(
  p: RegionPrimitives<R, O>,
  region: R,
  base: RegionCommitFields,
  plan: CommitPlan,
  outcome: CommitOutcome,
): Promise<RegionCommitFields> {
  const name = region.name;
  const warnings = [...base.warnings];
  const failed = outcome.steps.find((s) => !s.ok);
  if (failed && !failed.file.endsWith('/commit'))
    warnings.push(
      `${name} is committed but binding ${plan.bind} failed (${failed.error}): bind it again with cxl enable-region ${name}`,
    );
  const committed = await p.committedNow(region);
  const seen = outcome.invalidation;
  const commitFailed = failed?.file.endsWith('/commit') === true;
  // The kernel commits whatever its invalidation returned: only the return probe can tell.
  const invalidationErrno = seen.kind === 'observed' ? seen.errno : null;
  if (!commitFailed) {
    if (seen.kind === 'absent')
      warnings.push(
        `${name} is committed, but this kernel has no cpu_cache_invalidate_memregion: nothing was invalidated`,
      );
    else if (seen.kind === 'unknown') warnings.push(unknownInvalidationWarning(name, seen.reason));
    else if (seen.calls === 0)
      warnings.push(
        `${name} is committed, but the kernel made no cpu_cache_invalidate_memregion call (traced)`,
      );
    else if (invalidationErrno && committed)
      warnings.push(ignoredInvalidationWarning(name, invalidationErrno));
  }
  const errno: Errno | null = commitFailed
    ? toErrno(failed?.error ?? 'EIO')
    : seen.kind === 'absent'
      ? 'EOPNOTSUPP'
      : invalidationErrno;
  return {
    ...base,
    ok: errno === null,
    errno,
    invalidation_errno: invalidationErrno,
    invalidated: seen.kind === 'observed' ? seen.calls > 0 : seen.kind === 'absent' ? false : null,
    status: statusOf(committed, plan.decommit && outcome.steps[0]?.ok === true),
    steps: outcome.steps,
    warnings,
  };
}

/** How a question names a region: mode, range, size, devices. */
export function describeRegionFor(
  mode: string | null,
  start: bigint | null,
  size: bigint | null,
  memdevs: string[],
): string {
  const parts = [mode ?? 'mode unknown'];
  if (start !== null) parts.push(`at ${formatHex(start)}`);
  if (size !== null) parts.push(`${size} bytes`);
  if (memdevs.length > 0) parts.push(`on ${memdevs.join(', ')}`);
  return parts.join(', ');
}

const statusOf = (committed: boolean | null, decommitted: boolean): RegionCommitFields['status'] =>
  committed === null ? 'unknown' : committed ? 'committed' : decommitted ? 'decommitted' : 'configured';

/**
 * `stress --region`: a committed (65), unused (75) region, a provider (69, no --force), one
 * confirmation (64) for the whole run. A stop signal ends the checks at once, as in the other flows.
 */
export async function preflightStress<R extends FlowRegion, O extends CommitOutcome>(
  p: RegionPrimitives<R, O>,
  name: string,
  confirm: Confirm,
  signal?: AbortSignal,
): Promise<R> {
  const region = await readUnlessStopped(stressChecks(p, name), signal);
  await requireConfirmation(confirm, stressQuestion(name));
  return region;
}

async function stressChecks<R extends FlowRegion, O extends CommitOutcome>(
  p: RegionPrimitives<R, O>,
  name: string,
): Promise<R> {
  const region = await p.loadRegion(name);
  if (!region.committed) throw dataError(`${name} is not committed: stress cycles a committed region`);
  const users = await p.regionUsers(region);
  if (users.length > 0) throw inUse(name, users);
  await requireProviderOf(await p.provider(), null, `cycle ${name}`);
  return region;
}

/** The errno a stress cycle counts: a failed write's, else the invalidation the kernel ignored. */
export function cycleErrno(outcome: CommitOutcome): Errno | null {
  const failed = outcome.steps.find((s) => !s.ok);
  if (failed) return toErrno(failed.error ?? 'EIO');
  return outcome.invalidation.kind === 'observed' ? outcome.invalidation.errno : null;
}

/**
 * The tally of a `stress --region` run: how many cycles' invalidations were seen (traced, or the
 * emulation's own), and how many of those the kernel committed although an invalidation failed.
 */
export function cycleTally() {
  const tally: CycleTracingReport = { traced: 0, untraced: 0, reason: null, ignored_failures: 0 };
  return {
    /** Counts one cycle; true when its invalidation was seen. */
    count(outcome: CommitOutcome): boolean {
      const seen = outcome.invalidation;
      if (seen.kind !== 'observed') {
        tally.untraced += 1;
        tally.reason =
          seen.kind === 'unknown' ? seen.reason : 'this kernel has no cpu_cache_invalidate_memregion';
        return false;
      }
      tally.traced += 1;
      const committed = !outcome.steps.some((s) => !s.ok);
      if (committed && seen.errno !== null) tally.ignored_failures += 1;
      return true;
    },
    report: (): CycleTracingReport => ({ ...tally, reason: tally.untraced > 0 ? tally.reason : null }),
  };
}
