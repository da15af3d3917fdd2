/**
 * The report documents, typed per command and per backend: the JSON of the command-line contract
 * (DESIGN §5), snake_case names, 64-bit values as strings (`0x` hex for addresses, decimal for sizes).
 *
 * Each command has a core both backends fill, and a part of its own per backend; the union is
 * discriminated by `backend`. A builder annotated with its backend's type that forgets a field, or adds
 * one the type does not name, does not compile (test/types/reports.ts proves it under `npm run lint`).
 */
import type { ProviderEvent } from './emulated/harness/events.js';
import type { Errno } from './errno.js';

export type BackendName = 'sysfs' | 'emulated';
export type ProviderVariant = 'v2' | 'v1' | 'rfc' | 'batched';

/** What every document starts with: its backend, and on the emulated backend the profile it ran. */
export type ReportHead<B extends BackendName> = B extends 'emulated'
  ? { backend: 'emulated'; profile: string }
  : // `profile?: undefined`: readable on the union, never written by the sysfs backend.
    { backend: 'sysfs'; profile?: undefined };

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

// ---------------------------------------------------------------------------------------------- probe

/** Something the probe looked at and what it showed (sysfs backend). */
export interface Evidence {
  source: string;
  found: boolean;
  detail: string;
}

export type Verdict = 'supported' | 'unsupported' | 'unknown';

export interface ProbeAttributes {
  global: boolean;
  latency_us: number;
  rate_limit: number;
  breakeven_bytes: string;
}

export interface ProbeProvider {
  registered: boolean | null;
  variant?: ProviderVariant;
  name?: string;
}

/** The fields of DESIGN §5 that `probe` carries on both backends. */
export interface ProbeCore {
  supported: boolean;
  verdict: Verdict;
  smccc: { version: string | null; conduit: 'smc' | 'hvc' | 'none' | null };
  functions: { clean_inv_memregion: boolean | null; attributes: boolean | null };
  attributes: ProbeAttributes | null;
  provider: ProbeProvider;
  reasons: string[];
}

/** One step of a discovery (emulated backend): what the initcall checked and what it found. */
export interface DiscoveryStepReport {
  step: 'version' | 'conduit' | 'features' | 'attributes';
  ok: boolean;
  detail: string;
}

/** `probe` on the emulated backend: what the emulated initcalls saw. */
export interface EmulatedProbeReport extends ReportHead<'emulated'>, ProbeCore {
  discovery: DiscoveryStepReport[];
  retry_delay_us: number | null;
  coalescing: boolean;
}

/** `probe` on the sysfs backend: the verdict and the evidence behind it (DESIGN §6). */
export interface SysfsProbeReport extends ReportHead<'sysfs'>, ProbeCore {
  /** True when the verdict is unknown because evidence needed privileges (exit 77). */
  needs_privileges: boolean;
  evidence: Evidence[];
  warnings: string[];
  kernel: { release: string | null; arch: string | null };
  soc_id: { id: string; family: string | null; revision: string | null; machine: string | null } | null;
  lockdown: 'none' | 'integrity' | 'confidentiality' | null;
  tracing: { kprobes: boolean; tracefs: string | null; reason: string };
  kernel_log: { readable: boolean; complete_from_boot: boolean | null; source: string };
  /** Present when the SMCCC provider registered: why `attributes` is null anyway. */
  attributes_note?: string;
  /** What a region commit without a provider depends on (guard.ts); absent from a caller's partial document. */
  region_commit?: RegionCommitFacts;
}

/**
 * The facts behind what a CXL region commit does without a provider, as the probe read them; null when
 * the source was not read or not readable. `kernel.release` and `kernel.arch` complete them.
 */
export interface RegionCommitFacts {
  /** `cpu_cache_invalidate_memregion` is listed in /proc/kallsyms. */
  invalidate_symbol: boolean | null;
  /** The config sets CONFIG_ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION (false: not set, or no such line). */
  arch_has_invalidate: boolean | null;
  /** The config sets CONFIG_CXL_REGION_INVALIDATION_TEST. */
  invalidation_test: boolean | null;
  /** The kernel log has `Bypassing cpu_cache_invalidate_memregion() for testing!`. */
  bypass_logged: boolean | null;
}

export type ProbeReport = EmulatedProbeReport | SysfsProbeReport;

// ----------------------------------------------------------------------------------------- invalidate

/** The fields of DESIGN §5 that every invalidation report carries. */
export interface InvalidateCore {
  start: string;
  size: string;
  dry_run: boolean;
  ok: boolean;
  errno: Errno | null;
  attempts: number;
  retries: number;
  elapsed_us: number;
}

/** `invalidate <start> <size>` on the emulated backend (the sysfs backend has no range interface). */
export interface EmulatedInvalidateReport extends ReportHead<'emulated'>, InvalidateCore {
  provider: ProviderVariant;
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

/** The fields every region commit report carries, on both backends (region-flow.ts fills them). */
export interface RegionCommitFields {
  region: string;
  start: string;
  size: string;
  action: 'commit' | 'cycle';
  plan: string[];
  dry_run: boolean;
  ok: boolean;
  errno: Errno | null;
  /** The kernel's invalidation failed and the kernel ignored it: the region committed, `ok` is false. */
  invalidation_errno: Errno | null;
  /** Whether the kernel invalidated (null: cannot tell). */
  invalidated: boolean | null;
  status: 'committed' | 'configured' | 'decommitted' | 'unknown' | null;
  steps: CommitStep[];
  warnings: string[];
}

/** `invalidate --region` on the emulated backend: the shared fields and the provider's counts. */
export interface EmulatedRegionInvalidateReport
  extends EmulatedInvalidateReport,
    Omit<RegionCommitFields, 'status'> {
  /** The emulated kernel's commit state is always known. */
  status: 'committed' | 'configured' | 'decommitted' | null;
  /** Once the writes ran: the driver the region is bound to (a commit alone binds none). */
  driver?: string | null;
  /** The calls the writes made (null on a dry run, which makes none). */
  kernel_calls: KernelCallsReport | null;
}

/** The kernel calls of a sysfs region flow, as its return probe saw them, or why they could not be seen. */
export type SysfsKernelCalls =
  | { count: null; reason: string | undefined }
  | {
      count: number;
      errors: number | undefined;
      latency_us: LatencySummary | null | undefined;
      returns: Record<string, number> | undefined;
      events: SysfsTraceEvent[] | undefined;
    };

/** `invalidate --region` on the sysfs backend. */
export interface SysfsRegionReport extends ReportHead<'sysfs'>, RegionCommitFields {
  attempts: number;
  retries: number;
  elapsed_us: number;
  /** Once the writes ran: the driver the region is bound to (a commit alone binds none). */
  driver?: string | null;
  /** Once the writes ran: the kernel's invalidation calls. */
  kernel_calls?: SysfsKernelCalls;
}
export type RegionInvalidateReport = EmulatedRegionInvalidateReport | SysfsRegionReport;
/** Every document `invalidate` prints: a range (emulated) or a region (both backends). */
export type InvalidateReport = EmulatedInvalidateReport | RegionInvalidateReport;

// -------------------------------------------------------------------------------------------- regions

/** The columns `regions` shows for every kind. */
interface RegionInfoCore {
  name: string;
  start: string | null;
  size: string | null;
}

export interface BoundDeviceInfo {
  name: string;
  driver: string | null;
}

/** A CXL region, as both backends describe it. */
export interface CxlRegionInfoCore extends RegionInfoCore {
  kind: 'cxl_region';
  mode: string | null;
  committed: boolean | null;
  interleave_ways: number | null;
  targets: (string | null)[];
  memdevs: string[];
  /** The memdevs' serial numbers, in the same order: the names that survive a reboot. */
  serials: (string | null)[];
  driver: string | null;
  dax_devices: BoundDeviceInfo[];
  pmem_region: BoundDeviceInfo | null;
}

/** A CXL memdev, as both backends describe it. */
export interface CxlMemdevInfoCore extends RegionInfoCore {
  kind: 'cxl_memdev';
  serial: string | null;
  ram_size: string | null;
  pmem_size: string | null;
  security_state: string | null;
  sanitize: boolean;
  secure_erase: boolean;
  endpoint: string | null;
  decoders_committed: number | null;
}

/** `locked`: `regionZ/locked` (Linux 7.1+), null when the kernel has none or it cannot be read. */
export type SysfsCxlRegionInfo = CxlRegionInfoCore & { locked: boolean | null };
export type SysfsCxlMemdevInfo = CxlMemdevInfoCore;

export interface NvdimmDimmInfo extends RegionInfoCore {
  kind: 'nvdimm_dimm';
  security: string | null;
  state: string | null;
  flags: string | null;
}

export interface NvdimmRegionInfo extends RegionInfoCore {
  kind: 'nvdimm_region';
  dimms: string[];
  nstype: string | null;
  enabled: boolean;
  driver: string | null;
}

/** A `/proc/iomem` range that matters for invalidation (DESIGN §5). */
export interface IomemInfo extends RegionInfoCore {
  kind: 'iomem';
  end: string | null;
  parent: string | null;
  depth: number;
}

export interface EmulatedCxlRegionInfo extends CxlRegionInfoCore {
  /** The profile's `locked` (CXL_REGION_F_LOCK): the kernel refuses to decommit it. */
  locked: boolean;
  /** An erase of one of its memdevs left its caches stale until the next commit. */
  needs_invalidation: boolean;
}

export type EmulatedCxlMemdevInfo = CxlMemdevInfoCore;

export type SysfsRegionInfo =
  | SysfsCxlRegionInfo
  | SysfsCxlMemdevInfo
  | NvdimmDimmInfo
  | NvdimmRegionInfo
  | IomemInfo;
export type EmulatedRegionInfo = EmulatedCxlRegionInfo | EmulatedCxlMemdevInfo;
export type RegionInfo = SysfsRegionInfo | EmulatedRegionInfo;

export interface SysfsRegionsReport extends ReportHead<'sysfs'> {
  regions: SysfsRegionInfo[];
  warnings: string[];
}

export interface EmulatedRegionsReport extends ReportHead<'emulated'> {
  regions: EmulatedRegionInfo[];
  warnings: string[];
}

export type RegionsReport = SysfsRegionsReport | EmulatedRegionsReport;

// ---------------------------------------------------------------------------------------------- erase

export type EraseMethod = 'sanitize' | 'secure-erase';

/** The fields of an erase report on both backends, finished or not. */
export interface EraseCore {
  memdev: string;
  method: EraseMethod;
  state: string;
  elapsed_ms: number;
}

/** What a finished erase adds on both backends. */
export interface EraseDoneFields {
  ok: boolean;
  next_step: string;
  warnings: string[];
}

export interface SysfsEraseReport extends ReportHead<'sysfs'>, EraseCore, EraseDoneFields {}

export interface EmulatedEraseReport extends ReportHead<'emulated'>, EraseCore, EraseDoneFields {
  /** The regions of the memdev, which need an invalidation at their next commit. */
  regions: string[];
}

/** An erase that timed out or was interrupted: the report so far, printed before the error line. */
export interface ErasePartialFields {
  ok: false;
  outcome: 'timeout' | 'interrupted';
  /** Where to watch the operation, which keeps running in the kernel. */
  next_step: string;
}

export interface SysfsErasePartialReport extends ReportHead<'sysfs'>, EraseCore, ErasePartialFields {}

export interface EmulatedErasePartialReport extends ReportHead<'emulated'>, EraseCore, ErasePartialFields {}

export type EraseReport = SysfsEraseReport | EmulatedEraseReport;
export type ErasePartialReport = SysfsErasePartialReport | EmulatedErasePartialReport;

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

/** `erase --region`, the same fields on both backends. */
export interface RegionEraseFields {
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

export interface SysfsRegionEraseReport extends ReportHead<'sysfs'>, RegionEraseFields {}
export interface EmulatedRegionEraseReport extends ReportHead<'emulated'>, RegionEraseFields {}
export type RegionEraseReport = SysfsRegionEraseReport | EmulatedRegionEraseReport;

// ---------------------------------------------------------------------------------------------- trace

/** One kernel call as the sysfs backend's kprobes saw it (entry and return paired). */
export interface SysfsTraceEvent {
  time_us: number;
  kind: 'invalidate' | 'provider';
  /** The probed symbol. */
  function: string;
  start?: string;
  size?: string;
  latency_us: number | null;
  /** The return value (s32); null when the return was not seen. */
  ret: number | null;
  pid: number;
  comm: string;
  cpu: number;
  /** Both the entry and the return were seen. */
  complete: boolean;
}

/**
 * The provider events of the emulated backend (harness/events.ts) as `trace` reports them: `type` becomes
 * `kind`, and a completion carries `ret` (the errno name, or 0: the shape of the sysfs backend's `ret`).
 */
export type EmulatedTraceEventBody = ProviderEvent extends infer E
  ? E extends { type: infer K; time_us: number }
    ? { kind: K } & Omit<E, 'type' | 'time_us'> & (K extends 'complete' ? { ret: string | 0 } : unknown)
    : never
  : never;

export type EmulatedTraceEvent = EmulatedTraceEventBody & {
  /** When it happened, on this trace's timeline. */
  time_us: number;
  /** When it happened on the clock of the process that sent it. */
  source_time_us: number;
  /** The emulated memregion process it came from (relayed events only). */
  pid?: number;
};

export type TraceEvent = SysfsTraceEvent | EmulatedTraceEvent;

/** The summary of DESIGN §5 both backends give. */
export interface TraceSummaryCore {
  invalidations: number;
  errors: number;
  latency_us: LatencySummary | null;
}

export interface SysfsTraceSummary extends TraceSummaryCore {
  /** Return codes of the kernel's invalidation calls, by value. */
  returns: Record<string, number>;
  providers: Record<string, { calls: number; errors: number }>;
}

export interface TraceCore {
  interrupted: boolean;
  /**
   * The traced command's exit code (`-- <command>`): 128 + the signal when a signal killed it; null when
   * the trace's own stop signal ended it first.
   */
  command_exit_code?: number | null;
  /** The signal that killed the traced command. */
  command_signal?: string;
}

export interface SysfsTraceReport extends ReportHead<'sysfs'>, TraceCore {
  events: SysfsTraceEvent[];
  summary: SysfsTraceSummary;
  command?: string[];
  duration_ms: number;
  /** The kprobe group of this session, and the probe definitions it wrote. */
  group: string;
  probes: string[];
  /** The signal that ended the session (the session handles SIGTERM and SIGHUP itself). */
  signal?: string;
  warnings: string[];
}

export interface EmulatedTraceReport extends ReportHead<'emulated'>, TraceCore {
  events: EmulatedTraceEvent[];
  /** Events left out of `events` (the summary counts them). */
  events_dropped: number;
  summary: TraceSummaryCore;
}

export type TraceReport = SysfsTraceReport | EmulatedTraceReport;

// --------------------------------------------------------------------------------- per-backend index

/** Each backend's document for each command: `Backend<B>` returns these. */
export interface ReportsOf {
  sysfs: {
    probe: SysfsProbeReport;
    /** The sysfs backend has no range interface: `invalidate <start> <size>` always refuses. */
    invalidateRange: never;
    invalidateRegion: SysfsRegionReport;
    regions: SysfsRegionsReport;
    erase: SysfsEraseReport;
    eraseRegion: SysfsRegionEraseReport;
    trace: SysfsTraceReport;
  };
  emulated: {
    probe: EmulatedProbeReport;
    invalidateRange: EmulatedInvalidateReport;
    invalidateRegion: EmulatedRegionInvalidateReport;
    regions: EmulatedRegionsReport;
    erase: EmulatedEraseReport;
    eraseRegion: EmulatedRegionEraseReport;
    trace: EmulatedTraceReport;
  };
}

// ------------------------------------------------------------------------------------------- stress

/**
 * `stress --region` on the sysfs backend: how its cycles' invalidations were seen, by the return probe
 * `invalidate --region` uses. An untraced cycle counts by its writes alone (by_status UNTRACED).
 */
export interface CycleTracingReport {
  /** Cycles whose cpu_cache_invalidate_memregion() calls were traced. */
  traced: number;
  /** Cycles whose invalidation outcome is unknown. */
  untraced: number;
  /** Why cycles went untraced (the last reason); null when every cycle was traced. */
  reason: string | null;
  /** Traced cycles the kernel committed although an invalidation failed: counted as failed requests. */
  ignored_failures: number;
}

/** What a stress target adds to the stress report of DESIGN §5. */
export interface StressTargetFields {
  cycle_tracing?: CycleTracingReport;
}
