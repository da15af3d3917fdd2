/**
 * Deterministic emulation for unit and property tests: a virtual clock, a seeded generator, an event log,
 * an emulated (or scripted) firmware, discovery and one provider variant, all built directly so that no
 * trace relay or real time is involved.
 */
import type { DiscoveryResult } from '../../src/backends/emulated/harness/discovery.js';
import { EventBus, type ProviderEvent } from '../../src/backends/emulated/harness/events.js';
import { EmulatedFirmware, type SmcResult } from '../../src/backends/emulated/harness/firmware.js';
import { bootProviderStack, type EmulatedProvider } from '../../src/backends/emulated/harness/stack.js';
import { FunctionId, Status } from '../../src/backends/emulated/kernel/arm-smccc.js';
import type { CacheMaint } from '../../src/backends/emulated/kernel/cache-maint.js';
import {
  builtInProfile,
  DEFAULT_PROFILE,
  mergeProfile,
  type Profile,
  type ProfileOverrides,
} from '../../src/backends/emulated/profiles.js';
import type { BackendOptions, InvalidationOutcome, ProviderVariant } from '../../src/backends/types.js';
import { VirtualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/log.js';
import { Random } from '../../src/core/random.js';

export const VARIANTS: readonly ProviderVariant[] = ['v2', 'v1', 'rfc', 'batched'];

/** Options of an emulated backend on the virtual clock, seed 1, provider v2. */
export const virtualBackendOptions: BackendOptions = {
  backend: 'emulated',
  root: '/',
  seed: 1,
  provider: 'v2',
  virtualTime: true,
  log: silentLogger,
};

/** A register value as mergeProfile normalizes it (profiles.ts normalized()): a bigint x0 or a status number. */
type LooseX0 = bigint | number;

/**
 * Overrides as mergeProfile accepts them at run time: statuses may be numbers (Status.BUSY) and
 * `implements` booleans, which it turns into the bigint x0 that ProfileOverrides alone admits.
 */
export type LooseProfileOverrides = Omit<ProfileOverrides, 'implements' | 'attributes_status' | 'faults'> & {
  implements?: { clean_inv_memregion?: LooseX0 | boolean; attributes?: LooseX0 | boolean };
  attributes_status?: LooseX0;
  faults?: Omit<NonNullable<ProfileOverrides['faults']>, 'always' | 'sequence'> & {
    always?: LooseX0 | null;
    sequence?: LooseX0[];
  };
};

/** A profile: `base` (a built-in name or a profile) with `overrides` merged over it. */
export function profileWith(
  overrides: LooseProfileOverrides = {},
  base: Profile | string = DEFAULT_PROFILE,
): Profile {
  return mergeProfile(typeof base === 'string' ? builtInProfile(base) : base, overrides as ProfileOverrides);
}

/**
 * A profile whose retry delay (DESIGN §3) comes from `rateLimit` (calls per second, 0: none) and
 * `latencyUs`, the two attributes the formula reads; `overrides` (other than attributes) merged too.
 */
export const delayProfile = (
  rateLimit: number,
  latencyUs: number,
  overrides: Omit<LooseProfileOverrides, 'attributes'> = {},
  base: Profile | string = DEFAULT_PROFILE,
): Profile =>
  profileWith({ ...overrides, attributes: { rate_limit: rateLimit, latency_us: latencyUs } }, base);

/** A fault-free global firmware whose CLEAN_INV_MEMREGION takes `callUs` of virtual time. */
export const globalProfile = (callUs = 50): Profile =>
  profileWith({ attributes: { latency_us: 100, rate_limit: 0 }, timing: { call_us: callUs, per_gib_us: 0 } });

/** A fault-free range firmware (no alignment constraint) whose calls take `callUs`. */
export const rangeProfile = (callUs = 50): Profile =>
  profileWith({
    attributes: { global: false },
    timing: { call_us: callUs, per_gib_us: 0 },
    checks: { align_bytes: 1n },
  });

export type FirmwareFactory = (profile: Profile, clock: VirtualClock, random: Random) => EmulatedFirmware;

export type FirmwareCallEvent = Extract<ProviderEvent, { type: 'firmware_call' }>;

export interface Emulation {
  profile: Profile;
  clock: VirtualClock;
  random: Random;
  events: EventBus;
  firmware: EmulatedFirmware;
  discovery: DiscoveryResult;
  provider: EmulatedProvider;
  framework: CacheMaint;
  /** Every event since the emulation was built (discovery included). */
  log: ProviderEvent[];
}

export interface EmulationOptions {
  variant?: ProviderVariant;
  seed?: number;
  firmware?: FirmwareFactory;
  /** Record events (default true). Without a listener the provider takes its event-free path. */
  record?: boolean;
}

/** Builds firmware, runs discovery and creates the provider; throws when the profile does not register. */
export async function emulate(profile: Profile, options: EmulationOptions = {}): Promise<Emulation> {
  const clock = new VirtualClock();
  const random = new Random(options.seed ?? 1);
  const events = new EventBus();
  const log: ProviderEvent[] = [];
  if (options.record ?? true) events.on((event) => log.push(event));
  const firmware = options.firmware
    ? options.firmware(profile, clock, random)
    : new EmulatedFirmware(profile, clock, random);
  const stack = await clock.run(bootProviderStack(firmware, clock, events, options.variant ?? 'v2'));
  const { discovery, provider, framework } = stack;
  if (!provider) {
    throw new Error(`profile ${profile.name} did not register: ${discovery.reasons.join('; ')}`);
  }
  return { profile, clock, random, events, firmware, discovery, provider, framework, log };
}

/** `emulate` over a firmware that answers CLEAN_INV_MEMREGION with `statuses` in order (instantly), then SUCCESS. */
export const emulateScripted = (
  profile: Profile,
  statuses: readonly number[],
  options: Omit<EmulationOptions, 'firmware'> = {},
): Promise<Emulation & { firmware: ScriptedFirmware }> =>
  emulate(profile, { ...options, firmware: scripted(statuses) }) as Promise<
    Emulation & { firmware: ScriptedFirmware }
  >;

/** One request over [RANGE_START, +RANGE_SIZE), run to its outcome on the emulation's virtual clock. */
export const invalidateOnce = (emu: Emulation): Promise<InvalidationOutcome> =>
  emu.clock.run(emu.provider.wbinv(RANGE_START, RANGE_SIZE));

export const firmwareCalls = (log: readonly ProviderEvent[]): FirmwareCallEvent[] =>
  log.filter((event): event is FirmwareCallEvent => event.type === 'firmware_call');

/** CLEAN_INV_MEMREGION calls the firmware counted (every status). */
export const invalidateCallCount = (firmware: EmulatedFirmware): number =>
  firmware.callsByFunction.get(FunctionId.CLEAN_INV_MEMREGION) ?? 0;

export interface Served {
  /** Virtual time of arrival and of completion, µs. */
  at: number;
  done: number;
  outcome: InvalidationOutcome;
}

export const RANGE_START = 0x40_8000_0000n;
export const RANGE_SIZE = 4096n;

/** Issues one request at each virtual time of `times` and runs the simulation until all complete. */
export function runSchedule(
  emu: Emulation,
  times: readonly number[],
  range: { start: bigint; size: bigint } = { start: RANGE_START, size: RANGE_SIZE },
): Promise<Served[]> {
  const tasks = times.map((at) =>
    emu.clock
      .sleep(at)
      .then(() => emu.provider.wbinv(range.start, range.size))
      .then((outcome) => ({ at, done: emu.clock.now(), outcome })),
  );
  return emu.clock.run(Promise.all(tasks));
}

type Answer = SmcResult | Promise<SmcResult> | undefined;

/**
 * An emulated firmware whose answers can be replaced: `answer` sees every call first and may return the
 * result registers itself (undefined: the emulated firmware answers); `statuses` scripts the status of
 * successive CLEAN_INV_MEMREGION calls (then SUCCESS). Every CLEAN_INV_MEMREGION call's arguments are kept.
 */
export class ScriptedFirmware extends EmulatedFirmware {
  readonly seen: Array<{ fid: number; x1: bigint; x2: bigint; x3: bigint; at: number }> = [];
  private readonly statuses: number[];
  private readonly answer: ((fid: number, x1: bigint, x2: bigint, x3: bigint) => Answer) | undefined;
  private readonly virtualClock: VirtualClock;

  constructor(
    profile: Profile,
    clock: VirtualClock,
    random: Random,
    script: {
      statuses?: readonly number[];
      answer?: (fid: number, x1: bigint, x2: bigint, x3: bigint) => Answer;
    } = {},
  ) {
    super(profile, clock, random);
    this.virtualClock = clock;
    this.statuses = [...(script.statuses ?? [])];
    this.answer = script.answer;
  }

  override call(fid: number, x1 = 0n, x2 = 0n, x3 = 0n): Promise<SmcResult> {
    this.seen.push({ fid, x1, x2, x3, at: this.virtualClock.now() });
    const answered = this.answer?.(fid, x1, x2, x3);
    if (answered !== undefined) return Promise.resolve(answered);
    if (fid === FunctionId.CLEAN_INV_MEMREGION && this.statuses.length > 0) {
      this.counted(fid);
      return Promise.resolve(result(this.statuses.shift()!));
    }
    return super.call(fid, x1, x2, x3);
  }

  /** The CLEAN_INV_MEMREGION calls made so far. */
  get invalidations() {
    return this.seen.filter((call) => call.fid === FunctionId.CLEAN_INV_MEMREGION);
  }
}

/** Result registers; x0 may be given as a signed status (-5) and is stored as the 64-bit register. */
export const result = (x0: number | bigint, x1 = 0n, x2 = 0n, x3 = 0n, x4 = 0n): SmcResult => ({
  x0: BigInt.asUintN(64, BigInt(x0)),
  x1,
  x2,
  x3,
  x4,
});

/** A firmware factory answering CLEAN_INV_MEMREGION with `statuses` in order, instantly, then SUCCESS. */
export const scripted =
  (statuses: readonly number[]): FirmwareFactory =>
  (profile, clock, random) =>
    new ScriptedFirmware(profile, clock, random, { statuses });

export { Status };
