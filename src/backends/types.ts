/**
 * The backend interface every command talks to, and the report shapes it returns. Reports are the JSON
 * documents of the command-line contract (DESIGN §5): snake_case names, 64-bit values as strings
 * (`0x` hex for addresses, decimal for sizes).
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { Errno } from './errno.js';

export type { Errno };

export type BackendName = 'sysfs' | 'emulated';
export const BACKEND_NAMES: readonly BackendName[] = ['sysfs', 'emulated'];

export type ProviderVariant = 'v2' | 'v1' | 'rfc' | 'batched';
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

/** Something the probe looked at and what it showed (sysfs backend). */
export interface Evidence {
  source: string;
  found: boolean;
  detail: string;
}

export type Verdict = 'supported' | 'unsupported' | 'unknown';

export interface ProbeReport {
  backend: BackendName;
  profile?: string;
  supported: boolean;
  verdict: Verdict;
  smccc: { version: string | null; conduit: 'smc' | 'hvc' | 'none' | null };
  functions: { clean_inv_memregion: boolean | null; attributes: boolean | null };
  attributes: {
    global: boolean;
    latency_us: number;
    rate_limit: number;
    breakeven_bytes: string;
  } | null;
  provider: { registered: boolean | null; variant?: ProviderVariant; name?: string };
  reasons: string[];
  /** True when the verdict is unknown because evidence needed privileges (exit 77). */
  needs_privileges?: boolean;
  evidence?: Evidence[];
  warnings?: string[];
  [extra: string]: unknown;
}

export interface InvalidateOptions {
  dryRun: boolean;
}

export interface InvalidateReport {
  backend: BackendName;
  profile?: string;
  start: string;
  size: string;
  dry_run: boolean;
  ok: boolean;
  errno: Errno | string | null;
  attempts: number;
  retries: number;
  elapsed_us: number;
  /** Final firmware status name, where the backend sees it. */
  status?: string | null;
  region?: string;
  [extra: string]: unknown;
}

export interface RegionInfo {
  name: string;
  kind: 'cxl_region' | 'cxl_memdev' | 'nvdimm_dimm' | 'nvdimm_region' | 'iomem' | 'emulated';
  start: string | null;
  size: string | null;
  [extra: string]: unknown;
}

export interface RegionsReport {
  backend: BackendName;
  profile?: string;
  regions: RegionInfo[];
  warnings: string[];
  [extra: string]: unknown;
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

export type EraseMethod = 'sanitize' | 'secure-erase';

export interface EraseOptions {
  method: EraseMethod;
  timeoutMs: number;
  confirm: Confirm;
  signal: AbortSignal;
  /** Called while waiting, with the state the device reports. */
  onProgress?: (state: string, elapsedMs: number) => void;
  force: boolean;
}

export interface EraseReport {
  backend: BackendName;
  profile?: string;
  memdev: string;
  method: EraseMethod;
  ok: boolean;
  state: string;
  elapsed_ms: number;
  [extra: string]: unknown;
}

/** One invalidation as `trace` saw it. */
export interface TraceEvent {
  time_us: number;
  kind: string;
  start?: string;
  size?: string;
  latency_us?: number | null;
  ret?: number | string | null;
  [extra: string]: unknown;
}

export interface TraceOptions {
  durationMs?: number;
  command?: string[];
  signal: AbortSignal;
  onEvent?: (event: TraceEvent) => void;
  /** Where the traced command's stdout goes: ours, or our stderr (so that --json keeps stdout to one document). */
  commandStdout?: 'inherit' | 'stderr';
}

export interface TraceReport {
  backend: BackendName;
  profile?: string;
  events: TraceEvent[];
  summary: { invalidations: number; errors: number; latency_us: LatencySummary | null };
  command_exit_code?: number | null;
  [extra: string]: unknown;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
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

/** What `stress` drives: one invalidation at a time per worker, on the backend's clock. */
export interface StressTarget {
  readonly clock: Clock;
  invalidate(start: bigint, size: bigint): Promise<InvalidationOutcome>;
  /** Firmware calls so far, by status name. */
  firmwareCalls(): Record<string, number>;
  /** Whether requests can be coalesced (global firmware), for the report. */
  readonly coalescing: boolean;
}

export interface StressTargetOptions {
  region?: string;
  confirm: Confirm;
  signal: AbortSignal;
}

export interface Backend {
  readonly name: BackendName;
  readonly profileName?: string;
  probe(): Promise<ProbeReport>;
  invalidateRange(start: bigint, size: bigint, options: InvalidateOptions): Promise<InvalidateReport>;
  regions(): Promise<RegionsReport>;
  invalidateRegion(name: string, options: RegionInvalidateOptions): Promise<InvalidateReport>;
  erase(memdev: string, options: EraseOptions): Promise<EraseReport>;
  eraseRegion(name: string, options: RegionEraseOptions): Promise<RegionEraseReport>;
  trace(options: TraceOptions): Promise<TraceReport>;
  stressTarget(options: StressTargetOptions): Promise<StressTarget>;
  close(): Promise<void>;
}

/** One step of a discovery (emulated backend): what the initcall checked and what it found. */
export interface DiscoveryStepReport {
  step: 'version' | 'conduit' | 'features' | 'attributes';
  ok: boolean;
  detail: string;
}

/** `probe` on the emulated backend. */
export interface EmulatedProbeReport extends ProbeReport {
  backend: 'emulated';
  profile: string;
  discovery: DiscoveryStepReport[];
  retry_delay_us: number | null;
  coalescing: boolean;
}

/** `invalidate <start> <size>` on the emulated backend. */
export interface EmulatedInvalidateReport extends InvalidateReport {
  backend: 'emulated';
  profile: string;
  provider: ProviderVariant;
  errno: Errno | null;
  sleeps: number;
  slept_us: number;
  coalesced: boolean;
}

/** One write of a region flow (`regionN/commit <- 1`). */
export interface CommitStep {
  file: string;
  value: string;
  ok: boolean;
  elapsed_us: number;
  error?: string;
}

/** The cpu_cache_invalidate_memregion() calls a region flow's writes made, as a return probe saw them. */
export interface KernelCallsReport {
  count: number;
  errors: number;
  latency_us: LatencySummary | null;
  returns: Array<string | number>;
}

/**
 * `invalidate --region` on the emulated backend. `invalidation_errno`: the kernel's invalidation failed
 * and the kernel ignored it (the region is committed; `ok` is false).
 */
export interface EmulatedRegionInvalidateReport extends EmulatedInvalidateReport {
  region: string;
  invalidation_errno: Errno | null;
  action: 'commit' | 'cycle';
  plan: string[];
  status: 'committed' | 'configured' | 'decommitted' | null;
  steps: CommitStep[];
  kernel_calls: KernelCallsReport | null;
  warnings: string[];
}

/** `trace` on the emulated backend. */
export interface EmulatedTraceReport extends TraceReport {
  backend: 'emulated';
  profile: string;
  events_dropped: number;
  interrupted: boolean;
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

/** One memdev of an `erase --region`. */
export interface MemdevEraseResult {
  memdev: string;
  serial: string | null;
  ok: boolean;
  /** `security/state` when the wait for it ended. */
  state: string;
  /** Why it failed: the errno of the refused write, `timeout`, `interrupted` or `state unknown`; null when ok. */
  error: string | null;
  elapsed_ms: number;
}

/** The recommit of an `erase --region`, with the invalidation's outcome as `invalidate --region` reports it. */
export interface RegionRecommitReport {
  plan: string[];
  steps: CommitStep[];
  ok: boolean;
  errno: Errno | null;
  /** The kernel's invalidation failed and the kernel ignored it: the region committed, `ok` is false. */
  invalidation_errno: Errno | null;
  /** Whether the kernel invalidated (null: cannot tell). */
  invalidated: boolean | null;
}

export interface RegionEraseReport {
  backend: BackendName;
  profile?: string;
  region: string;
  method: EraseMethod;
  recommit: boolean;
  ok: boolean;
  /** The first failure as an errno name (a memdev's refused write, the recommit's), null otherwise. */
  errno: Errno | null;
  /** `done`, `failed` (a memdev or the recommit failed), `timeout` or `interrupted`. */
  outcome: 'done' | 'failed' | 'timeout' | 'interrupted';
  /** Whether this run decommitted the region (it was committed). */
  decommitted: boolean;
  memdevs: MemdevEraseResult[];
  /** How many memdevs were erased, and how many failed. */
  erased: number;
  failed: number;
  /** The region's commit state at the end. */
  status: 'committed' | 'configured' | 'decommitted' | 'unknown';
  commit: RegionRecommitReport | null;
  invalidation_errno: Errno | null;
  elapsed_ms: number;
  next_step: string;
  warnings: string[];
}
