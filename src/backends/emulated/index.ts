import { type Clock, RealClock, VirtualClock } from '../../core/clock.js';
import { unavailableError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { formatHex } from '../../core/units.js';
import type {
  Backend,
  BackendOptions,
  EmulatedEraseReport,
  EmulatedInvalidateReport,
  EmulatedProbeReport,
  EmulatedRegionEraseReport,
  EmulatedRegionInvalidateReport,
  EmulatedRegionsReport,
  EmulatedTraceReport,
  EraseOptions,
  InvalidateOptions,
  InvalidationOutcome,
  RegionEraseOptions,
  RegionInvalidateOptions,
  StressTarget,
  StressTargetOptions,
  TraceOptions,
} from '../types.js';
import type { DiscoveryResult } from './harness/discovery.js';
import { eraseEmulatedRegion, eraseErrorOf, eraseMemdev } from './harness/erase.js';
import { EventBus } from './harness/events.js';
import { EmulatedFirmware } from './harness/firmware.js';
import {
  invalidateEmulatedRegion,
  type RegionContext,
  regionStressTarget,
} from './harness/region-invalidate.js';
import { describeMemdevs, describeRegion, type EmulatedRegion } from './harness/regions.js';
import { bootProviderStack, type EmulatedProvider } from './harness/stack.js';
import { traceEmulated } from './harness/trace.js';
import { relayToTraceSessions } from './harness/trace-relay.js';
import { REGISTERED_MESSAGE } from './kernel/arm-smccc-cache.js';
import type { CacheMaint } from './kernel/cache-maint.js';
import { loadProfile, type Profile } from './profiles.js';

export { REGISTERED_MESSAGE };

/** The emulated kernel (kernel/) booted against an emulated firmware, observed by the harness. */
export class EmulatedBackend implements Backend<'emulated'> {
  readonly name = 'emulated' as const;
  readonly profile: Profile;
  readonly clock: Clock;
  readonly events: EventBus;
  readonly firmware: EmulatedFirmware;
  readonly framework: CacheMaint;
  readonly discovery: DiscoveryResult;
  readonly provider: EmulatedProvider | null;
  readonly regionState: EmulatedRegion[];
  /** Memdevs whose sanitize is running. */
  readonly sanitizing = new Set<string>();
  /** Kernel log lines (pr_info, dev_WARN) of this run. */
  readonly kernelLog: string[];
  private readonly options: BackendOptions;
  private closeRelay: () => Promise<void> = async () => {};

  private constructor(
    options: BackendOptions,
    parts: {
      profile: Profile;
      clock: Clock;
      events: EventBus;
      firmware: EmulatedFirmware;
      stack: Awaited<ReturnType<typeof bootProviderStack>>;
    },
  ) {
    this.options = options;
    this.profile = parts.profile;
    this.clock = parts.clock;
    this.events = parts.events;
    this.firmware = parts.firmware;
    this.framework = parts.stack.framework;
    this.discovery = parts.stack.discovery;
    this.provider = parts.stack.provider;
    this.kernelLog = parts.stack.log;
    this.regionState = parts.profile.regions.map((spec) => ({
      spec,
      kernel: {
        name: spec.name,
        res: { start: spec.start, size: spec.size },
        committed: spec.committed,
        // A profile's committed region is enabled, as auto-assembly or `cxl create-region` leave it.
        driver: spec.committed ? 'cxl_region' : null,
        locked: spec.locked,
      },
      needsInvalidation: false,
    }));
  }

  /** Loads the profile, builds the firmware and boots the emulated kernel, as the initcalls would. */
  static async create(options: BackendOptions, profile?: Profile): Promise<EmulatedBackend> {
    const resolved = profile ?? (await loadProfile(options.profile ?? 'global'));
    const clock = options.virtualTime ? new VirtualClock() : new RealClock();
    const events = new EventBus();
    const closeRelay = relayToTraceSessions(events, options.log);
    const firmware = new EmulatedFirmware(resolved, clock, new Random(options.seed));
    const stack = await bootProviderStack(firmware, clock, events, options.provider);
    const backend = new EmulatedBackend(options, { profile: resolved, clock, events, firmware, stack });
    backend.closeRelay = closeRelay;
    if (stack.provider) {
      options.log.debug(REGISTERED_MESSAGE);
      if (events.enabled)
        events.emit({ type: 'registered', time_us: clock.now(), message: REGISTERED_MESSAGE });
    } else {
      options.log.debug(`provider not registered: ${stack.discovery.reasons.join('; ')}`);
    }
    return backend;
  }

  get profileName(): string {
    return this.profile.name;
  }

  /** Runs `task` on this backend's clock: driven to completion when time is virtual. */
  run<T>(task: Promise<T>): Promise<T> {
    return this.clock instanceof VirtualClock ? this.clock.run(task) : task;
  }

  async probe(): Promise<EmulatedProbeReport> {
    const d = this.discovery;
    const a = d.attributes;
    const registered = this.provider !== null;
    return {
      backend: 'emulated',
      profile: this.profile.name,
      supported: registered,
      verdict: registered ? 'supported' : 'unsupported',
      smccc: { version: `${d.version.major}.${d.version.minor}`, conduit: d.conduit },
      functions: d.functions,
      attributes: a
        ? {
            global: a.global,
            latency_us: a.latency_us,
            rate_limit: a.rate_limit,
            breakeven_bytes: a.breakeven_bytes.toString(),
          }
        : null,
      provider: { registered, variant: this.options.provider, name: 'arm_smccc_cache' },
      reasons: registered
        ? []
        : [
            ...d.reasons,
            'no provider registered: cpu_cache_has_invalidate_memregion() is false (there is no software fallback)',
          ],
      discovery: d.steps,
      retry_delay_us: this.provider?.delayUs ?? null,
      coalescing: this.provider?.coalescing ?? false,
    };
  }

  private requireProvider(): EmulatedProvider {
    if (!this.provider || !this.framework.cpuCacheHasInvalidateMemregion()) {
      throw unavailableError(`no cache invalidation provider: ${this.discovery.reasons.join('; ')}`);
    }
    return this.provider;
  }

  async invalidateRange(
    start: bigint,
    size: bigint,
    options: InvalidateOptions,
  ): Promise<EmulatedInvalidateReport> {
    // The API checked the range; the emulated kernel answers the rest as Linux does (size 0: EINVAL).
    const provider = this.requireProvider();
    const began = this.clock.now();
    const result = await this.run(provider.wbinv(start, size, options.dryRun));
    return this.invalidateReport(start, size, options.dryRun, result, this.clock.now() - began);
  }

  private invalidateReport(
    start: bigint,
    size: bigint,
    dryRun: boolean,
    result: InvalidationOutcome,
    elapsedUs: number,
  ): EmulatedInvalidateReport {
    return {
      backend: 'emulated',
      profile: this.profile.name,
      provider: this.options.provider,
      start: formatHex(start),
      size: size.toString(),
      dry_run: dryRun,
      ok: result.errno === null,
      errno: result.errno,
      attempts: result.attempts,
      retries: Math.max(0, result.attempts - 1),
      sleeps: result.sleeps,
      slept_us: result.slept_us,
      coalesced: result.coalesced,
      elapsed_us: Math.round(elapsedUs),
    };
  }

  async regions(): Promise<EmulatedRegionsReport> {
    return {
      backend: 'emulated',
      profile: this.profile.name,
      regions: [
        ...this.regionState.map(describeRegion),
        ...describeMemdevs(this.regionState, this.sanitizing),
      ],
      warnings: [],
    };
  }

  /** What the region flows see of this backend. */
  private regionContext(): RegionContext {
    return {
      regions: this.regionState,
      clock: this.clock,
      framework: this.framework,
      lastRequest: () => this.provider?.lastRequest() ?? null,
      warn: (line) => this.kernelLog.push(line),
      firmwareCalls: () => Object.fromEntries(this.firmware.invalidateCalls),
      reportBase: { backend: 'emulated', profile: this.profile.name, provider: this.options.provider },
    };
  }

  invalidateRegion(name: string, options: RegionInvalidateOptions): Promise<EmulatedRegionInvalidateReport> {
    return this.run(invalidateEmulatedRegion(this.regionContext(), name, options));
  }

  erase(memdev: string, options: EraseOptions): Promise<EmulatedEraseReport> {
    return this.run(
      eraseMemdev(
        {
          regions: this.regionState,
          sanitizing: this.sanitizing,
          clock: this.clock,
          hasProvider: () => this.framework.cpuCacheHasInvalidateMemregion(),
          profileName: this.profile.name,
        },
        memdev,
        options,
      ),
    );
  }

  eraseRegion(name: string, options: RegionEraseOptions): Promise<EmulatedRegionEraseReport> {
    const eraseError = (memdev: string) => eraseErrorOf(this.regionState, memdev);
    return this.run(
      eraseEmulatedRegion(
        { ...this.regionContext(), sanitizing: this.sanitizing, eraseError },
        name,
        options,
      ),
    );
  }

  trace(options: TraceOptions): Promise<EmulatedTraceReport> {
    return traceEmulated(
      { events: this.events, profileName: this.profile.name, log: this.options.log },
      options,
    );
  }

  async stressTarget(options: StressTargetOptions): Promise<StressTarget> {
    if (options.region !== undefined) return this.run(regionStressTarget(this.regionContext(), options));
    const provider = this.requireProvider();
    const firmware = this.firmware;
    return {
      clock: this.clock,
      coalescing: provider.coalescing,
      invalidate: (start, size) => provider.invalidate(start, size),
      submit: (start, size, receiver) => provider.submit(start, size, receiver, true),
      synchronous: this.clock.virtual && provider.synchronous,
      firmwareCalls: () => Object.fromEntries(firmware.invalidateCalls),
    };
  }

  async close(): Promise<void> {
    await this.closeRelay();
  }
}

export const createEmulatedBackend = (options: BackendOptions): Promise<EmulatedBackend> =>
  EmulatedBackend.create(options);
