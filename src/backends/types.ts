/**
 * The backend interface every command talks to. Its report documents, typed per command and backend,
 * are in reports.ts; `Backend<B>` returns backend B's.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Errno } from './errno.js';
import type {
  BackendName,
  EraseMethod,
  ProviderVariant,
  ReportsOf,
  StressTargetFields,
  TraceEvent,
} from './reports.js';

export type * from './reports.js';
export type { Errno };

export const BACKEND_NAMES: readonly BackendName[] = ['sysfs', 'emulated'];
export const PROVIDER_VARIANTS: readonly ProviderVariant[] = ['v2', 'v1', 'rfc', 'batched'];

export interface BackendOptions {
  backend: BackendName;
  /** Emulated firmware profile: a built-in name or a JSON file. */
  profile?: string;
  /** Root the sysfs backend reads instead of `/`. */
  root: string;
  seed: number;
  provider: ProviderVariant;
  /** Emulated backend: run on the virtual clock (a simulation). */
  virtualTime: boolean;
  log: Logger;
}

/** Asks the user to confirm a destructive action; resolves false when refused. */
export type Confirm = (question: string) => Promise<boolean>;

export interface InvalidateOptions {
  dryRun: boolean;
}

export interface RegionInvalidateOptions {
  dryRun: boolean;
  cycle: boolean;
  force: boolean;
  /** Sysfs backend: bind the region (cxl_region driver) after the commit, as `cxl enable-region` does. */
  enable?: boolean;
  confirm: Confirm;
  signal: AbortSignal;
}

export interface EraseOptions {
  method: EraseMethod;
  timeoutMs: number;
  confirm: Confirm;
  signal: AbortSignal;
  /** Called while waiting, with the state the device reports. */
  onProgress?: (state: string, elapsedMs: number) => void;
  force: boolean;
}

export interface TraceOptions {
  durationMs?: number;
  command?: string[];
  signal: AbortSignal;
  onEvent?: (event: TraceEvent) => void;
  /** Where the traced command's stdout goes: ours, or our stderr (so that --json keeps stdout to one document). */
  commandStdout?: 'inherit' | 'stderr';
}

/** What one invalidation through the provider did: the stress engine aggregates these. */
export interface InvalidationOutcome {
  errno: Errno | null;
  attempts: number;
  sleeps: number;
  slept_us: number;
  /** True when the request was satisfied by another request's firmware call. */
  coalesced: boolean;
  /** Order number of the request's arrival and of the start of the call that served it (verify). */
  arrival_seq: number;
  served_by_seq: number | null;
}

/**
 * Who waits for an invalidation given to StressTarget.submit: an object the caller makes once and gives
 * with every request, so that nothing is made per request (nor a closure per worker).
 */
export interface OutcomeReceiver {
  /** The outcome; valid only during this call (the target may use its object again). */
  onOutcome(outcome: InvalidationOutcome): void;
  onError(error: unknown): void;
}

/** What `stress` drives: one invalidation at a time per worker, on the backend's clock. */
export interface StressTarget {
  readonly clock: Clock;
  invalidate(start: bigint, size: bigint): Promise<InvalidationOutcome>;
  /**
   * `invalidate` with callbacks, where the target has them: `receiver` may hear before `submit` returns
   * (the simulator's path: no promise per request).
   */
  submit?(start: bigint, size: bigint, receiver: OutcomeReceiver): void;
  /**
   * True when every `submit` answer comes inside `submit` or from a timer of the virtual clock, never
   * from a promise: the stress run may then step the clock itself (StressRun.drive).
   */
  readonly synchronous?: boolean;
  /** Firmware calls so far, by status name. */
  firmwareCalls(): Record<string, number>;
  /** Whether requests can be coalesced (global firmware), for the report. */
  readonly coalescing: boolean;
  /** Fields this target adds to the report (sysfs --region: how its cycles were traced). */
  reportFields?(): StressTargetFields;
}

export interface StressTargetOptions {
  region?: string;
  confirm: Confirm;
  signal: AbortSignal;
}

/**
 * A backend; `Backend` alone is either, and its reports are the unions (discriminated by `backend`).
 * Inputs arrive validated by the API (api.ts): a backend checks only what is about the machine.
 */
export interface Backend<B extends BackendName = BackendName> {
  readonly name: B;
  readonly profileName?: string;
  probe(): Promise<ReportsOf[B]['probe']>;
  invalidateRange(
    start: bigint,
    size: bigint,
    options: InvalidateOptions,
  ): Promise<ReportsOf[B]['invalidateRange']>;
  regions(): Promise<ReportsOf[B]['regions']>;
  invalidateRegion(name: string, options: RegionInvalidateOptions): Promise<ReportsOf[B]['invalidateRegion']>;
  erase(memdev: string, options: EraseOptions): Promise<ReportsOf[B]['erase']>;
  eraseRegion(name: string, options: RegionEraseOptions): Promise<ReportsOf[B]['eraseRegion']>;
  trace(options: TraceOptions): Promise<ReportsOf[B]['trace']>;
  stressTarget(options: StressTargetOptions): Promise<StressTarget>;
  close(): Promise<void>;
}

/** `erase --region`: the whole secure-erase flow of a region (every memdev behind it). */
export interface RegionEraseOptions {
  method: EraseMethod;
  /** Commit the region again after every memdev was erased (the commit invalidates CPU caches). */
  recommit: boolean;
  timeoutMs: number;
  force: boolean;
  confirm: Confirm;
  signal: AbortSignal;
  /** Called while waiting, with each memdev's state. */
  onProgress?: (states: Record<string, string>, elapsedMs: number) => void;
}
