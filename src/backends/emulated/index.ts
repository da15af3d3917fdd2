import { type Clock, RealClock, VirtualClock } from '../../core/clock.js';
import { unavailableError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { formatHex, validateRange } from '../../core/units.js';
import type {
  Backend,
  BackendOptions,
  EraseOptions,
  EraseReport,
  InvalidateOptions,
  InvalidateReport,
  InvalidationOutcome,
  ProbeReport,
  RegionInvalidateOptions,
  RegionsReport,
  StressTarget,
  StressTargetOptions,
  TraceOptions,
  TraceReport,
} from '../types.js';
import { type DiscoveryResult, discover } from './discovery.js';
import { eraseMemdev } from './erase.js';
import { EventBus } from './events.js';
import { EmulatedFirmware } from './firmware.js';
import { CacheCoherencyFramework } from './framework.js';
import { loadProfile, type Profile } from './profiles.js';
import { SmcccCacheProvider } from './provider.js';
import { invalidateEmulatedRegion, regionStressTarget } from './region-invalidate.js';
import { describeMemdevs, describeRegion, type EmulatedRegion } from './regions.js';
import { traceEmulated } from './trace.js';
import { relayToTraceSessions } from './trace-relay.js';

export const REGISTERED_MESSAGE = 'SMCCC cache clean+invalidate provider registered';

/** The whole provider stack of DESIGN §3, in process, against an emulated firmware. */
export class EmulatedBackend implements Backend {
  readonly name = 'emulated' as const;
  readonly profile: Profile;
  readonly clock: Clock;
  readonly random: Random;
  readonly events: EventBus;
  readonly firmware: EmulatedFirmware;
  readonly framework = new CacheCoherencyFramework();
  readonly discovery: DiscoveryResult;
  readonly provider: SmcccCacheProvider | null;
  readonly regionState: EmulatedRegion[];
  /** Memdevs whose sanitize is running. */
  readonly sanitizing = new Set<string>();
  private readonly options: BackendOptions;
  private closeRelay: () => Promise<void> = async () => {};

  private constructor(
    options: BackendOptions,
    parts: {
      profile: Profile;
      clock: Clock;
      random: Random;
      events: EventBus;
      firmware: EmulatedFirmware;
      discovery: DiscoveryResult;
    },
  ) {
    this.options = options;
    this.profile = parts.profile;
    this.clock = parts.clock;
    this.random = parts.random;
    this.events = parts.events;
    this.firmware = parts.firmware;
    this.discovery = parts.discovery;
    this.regionState = parts.profile.regions.map((spec) => ({
      spec,
      committed: spec.committed,
      needsInvalidation: false,
    }));
    if (parts.discovery.registered && parts.discovery.attributes) {
      const provider = new SmcccCacheProvider(
        parts.firmware,
        parts.clock,
        parts.events,
        options.provider,
        parts.discovery.attributes,
      );
      this.provider = provider;
      this.framework.register({
        name: 'arm_smccc_cache',
        wbinv: (start, size) => provider.wbinv(start, size),
      });
    } else {
      this.provider = null;
    }
  }

  /** Loads the profile, builds the firmware and runs discovery, as the kernel's initcall would. */
  static async create(options: BackendOptions, profile?: Profile): Promise<EmulatedBackend> {
    const resolved = profile ?? (await loadProfile(options.profile ?? 'global'));
    const clock = options.virtualTime ? new VirtualClock() : new RealClock();
    const random = new Random(options.seed);
    const events = new EventBus();
    const closeRelay = relayToTraceSessions(events);
    const firmware = new EmulatedFirmware(resolved, clock, random);
    const discovery = await discover(firmware, clock, events);
    const backend = new EmulatedBackend(options, {
      profile: resolved,
      clock,
      random,
      events,
      firmware,
      discovery,
    });
    backend.closeRelay = closeRelay;
    if (discovery.registered) {
      options.log.debug(REGISTERED_MESSAGE);
      if (events.enabled)
        events.emit({ type: 'registered', time_us: clock.now(), message: REGISTERED_MESSAGE });
    } else {
      options.log.debug(`provider not registered: ${discovery.reasons.join('; ')}`);
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

  async probe(): Promise<ProbeReport> {
    const d = this.discovery;
    const a = d.attributes;
    const version = this.profile.smccc_version;
    return {
      backend: 'emulated',
      profile: this.profile.name,
      supported: d.registered,
      verdict: d.registered ? 'supported' : 'unsupported',
      smccc: {
        version: version ? `${version.major}.${version.minor}` : null,
        conduit: d.conduit,
      },
      functions: d.functions,
      attributes: a
        ? {
            global: a.global,
            latency_us: a.latency_us,
            rate_limit: a.rate_limit,
            breakeven_bytes: a.breakeven_bytes.toString(),
          }
        : null,
      provider: { registered: d.registered, variant: this.options.provider, name: 'arm_smccc_cache' },
      reasons: d.registered
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

  private requireProvider(): SmcccCacheProvider {
    if (!this.provider || !this.framework.hasInvalidate()) {
      throw unavailableError(`no cache invalidation provider: ${this.discovery.reasons.join('; ')}`);
    }
    return this.provider;
  }

  async invalidateRange(start: bigint, size: bigint, options: InvalidateOptions): Promise<InvalidateReport> {
    validateRange(start, size);
    const provider = this.requireProvider();
    const began = this.clock.now();
    const task = options.dryRun
      ? provider.wbinv(start, size, true)
      : this.framework.invalidateMemregion(start, size);
    const result = await this.run(task);
    return this.invalidateReport(start, size, options.dryRun, result, this.clock.now() - began);
  }

  invalidateReport(
    start: bigint,
    size: bigint,
    dryRun: boolean,
    result: InvalidationOutcome,
    elapsedUs: number,
  ): InvalidateReport {
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

  async regions(): Promise<RegionsReport> {
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

  invalidateRegion(name: string, options: RegionInvalidateOptions): Promise<InvalidateReport> {
    return this.run(invalidateEmulatedRegion(this, name, options));
  }

  erase(memdev: string, options: EraseOptions): Promise<EraseReport> {
    return this.run(eraseMemdev(this, memdev, options));
  }

  trace(options: TraceOptions): Promise<TraceReport> {
    return traceEmulated(this, options);
  }

  async stressTarget(options: StressTargetOptions): Promise<StressTarget> {
    if (options.region !== undefined) return this.run(regionStressTarget(this, options));
    this.requireProvider();
    const framework = this.framework;
    const firmware = this.firmware;
    return {
      clock: this.clock,
      coalescing: this.provider!.coalescing,
      invalidate: (start, size) => framework.invalidateMemregion(start, size),
      firmwareCalls: () => Object.fromEntries(firmware.invalidateCalls),
    };
  }

  async close(): Promise<void> {
    await this.closeRelay();
  }
}

export const createEmulatedBackend = (options: BackendOptions): Promise<EmulatedBackend> =>
  EmulatedBackend.create(options);
