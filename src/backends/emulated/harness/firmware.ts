import type { Clock } from '../../../core/clock.js';
import type { Resumable, Suspended } from '../../../core/coroutine.js';
import type { Random } from '../../../core/random.js';
import { Tally } from '../../../core/tally.js';
import { U64_MAX } from '../../../core/u64.js';
import {
  type Conduit,
  encodeVersion,
  FLAG_DRYRUN,
  FunctionId,
  type SmcResult,
  Status,
  s32,
  statusName,
} from '../kernel/arm-smccc.js';
import type { Profile } from '../profiles.js';

export type { SmcResult };

/** x0 as the register holds it: a negative status is its 64-bit two's complement. */
const register = (value: bigint): bigint => BigInt.asUintN(64, value);
const statusOnly = (x0: bigint): SmcResult =>
  Object.freeze({ x0: register(x0), x1: 0n, x2: 0n, x3: 0n, x4: 0n });
const RESULT = new Map<number, SmcResult>();
for (const value of Object.values(Status)) RESULT.set(value, statusOnly(BigInt(value)));
const resultFor = (status: number): SmcResult => RESULT.get(status) ?? statusOnly(BigInt(status));
const SUCCESS_RESULT = resultFor(Status.SUCCESS);
/** The result registers of SUCCESS (0) to BUSY (-5), by -status. */
const RESULT_BY_SLOT = [0, -1, -2, -3, -4, -5].map((status) => resultFor(status));
const STATUS_NAME = new Map<number, string>(Object.values(Status).map((value) => [value, statusName(value)]));

const GIB = 1 << 30;
const U64_LIMIT = U64_MAX + 1n;
const HALF_U64 = 1n << 63n;
const NOT_DRYRUN = ~FLAG_DRYRUN;

/**
 * The firmware side of DESIGN §4: answers SMCCC calls as the profile says, on the given clock, with every
 * random choice (injected faults) drawn from the one seeded source. Counts every call by function and by
 * CLEAN_INV_MEMREGION status.
 */
export class EmulatedFirmware {
  readonly profile: Profile;
  private readonly clock: Clock;
  private readonly random: Random;
  private burstLeft = 0;
  private sequenceNext = 0;
  private rateWindow = -1;
  private rateCount = 0;
  private readonly byStatus = new Tally<string>();
  private readonly byFunction = new Tally<number>();
  /** Slots of byStatus for the SMCCC statuses (index: -status), made as they are first counted. */
  private readonly statusSlots = [-1, -1, -1, -1, -1, -1];
  private cleanInvalidateSlot = -1;
  /** Sees a timed CLEAN_INV_MEMREGION answer (`answersLater`) as it is counted: the instrumentation. */
  onAnswer: ((res: SmcResult) => void) | null = null;
  /** Whether the last CLEAN_INV_MEMREGION call answers after a time (its promise is the clock's timer). */
  answersLater = false;
  /**
   * Whether a coroutine's calls are answered in place (`callFor`): not when a subclass replaced `call`
   * (a test's scripted firmware), whose answers then come from it, by promise, on every path.
   */
  readonly answersInPlace = this.call === EmulatedFirmware.prototype.call;
  /** The time the call being answered takes (set by cleanInvalidateStatus). */
  private callDuration = 0;

  /**
   * Facts of the profile every CLEAN_INV_MEMREGION call asks, found once (a profile does not change under
   * a firmware): whether the function is implemented, and whether no fault can be injected (no script,
   * no forced status, no fault probabilities, no enforced rate limit).
   */
  private readonly cleanInvalidateImplemented: boolean;
  private readonly faultFree: boolean;

  constructor(profile: Profile, clock: Clock, random: Random) {
    this.profile = profile;
    this.clock = clock;
    this.random = random;
    this.cleanInvalidateImplemented = this.implemented(profile.implements.clean_inv_memregion);
    const faults = profile.faults;
    this.faultFree =
      faults.sequence.length === 0 &&
      faults.always === null &&
      faults.busy_probability <= 0 &&
      faults.rate_limited_probability <= 0 &&
      (profile.attributes.rate_limit === 0 || !faults.enforce_rate_limit);
  }

  get conduit(): Conduit {
    return this.profile.conduit;
  }

  /** One SMCCC call. Discovery calls answer at once; CLEAN_INV_MEMREGION takes the profile's time. */
  call(fid: number, x1 = 0n, x2 = 0n, x3 = 0n): Promise<SmcResult> {
    this.counted(fid);
    if (fid === FunctionId.CLEAN_INV_MEMREGION) return this.cleanInvalidate(x1, x2, x3);
    return Promise.resolve(this.discovery(fid, x1));
  }

  /**
   * `call` from a coroutine: every answer but a timed CLEAN_INV_MEMREGION is given at once (and counted
   * at once); a timed one wakes `wake` with it at its instant, counted then.
   */
  callFor(wake: Resumable, fid: number, x1 = 0n, x2 = 0n, x3 = 0n): SmcResult | Suspended {
    this.counted(fid);
    if (fid !== FunctionId.CLEAN_INV_MEMREGION) return this.discovery(fid, x1);
    const x0 = this.cleanInvalidateStatus(x1, x2, x3);
    const duration = this.callDuration;
    this.answersLater = duration > 0;
    if (duration > 0) return this.clock.resumeAfter(duration, wake, SUCCESS_RESULT, this.answeredSuccess);
    return this.count(x0);
  }

  /** CLEAN_INV_MEMREGION calls by status name (DRYRUN calls included), in the order first seen. */
  get invalidateCalls(): ReadonlyMap<string, number> {
    return this.byStatus.toMap();
  }

  /** Every call by function ID. */
  get callsByFunction(): ReadonlyMap<number, number> {
    return this.byFunction.toMap();
  }

  /** Counts a call of `fid` (a subclass that answers some calls itself counts them here). */
  protected counted(fid: number): void {
    if (this.profile.conduit === 'none')
      throw new Error('emulated firmware: no conduit, no SMCCC call can be made');
    if (fid !== FunctionId.CLEAN_INV_MEMREGION) {
      this.byFunction.add(fid);
      return;
    }
    if (this.cleanInvalidateSlot < 0) this.cleanInvalidateSlot = this.byFunction.slot(fid);
    this.byFunction.addAt(this.cleanInvalidateSlot);
  }

  /** The answer to every function but CLEAN_INV_MEMREGION. */
  private discovery(fid: number, x1: bigint): SmcResult {
    switch (fid) {
      case FunctionId.PSCI_FEATURES:
        // PSCI_FEATURES(SMCCC_VERSION): SMCCC_VERSION arrived with SMCCC 1.1.
        return resultFor(
          Number(x1) === FunctionId.SMCCC_VERSION && this.hasVersionCall()
            ? Status.SUCCESS
            : Status.NOT_SUPPORTED,
        );
      case FunctionId.SMCCC_VERSION:
        return this.version();
      case FunctionId.SMCCC_ARCH_FEATURES:
        return this.features(Number(x1 & 0xffff_ffffn));
      case FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES:
        return this.attributes();
      default:
        return resultFor(Status.NOT_SUPPORTED);
    }
  }

  private hasVersionCall(): boolean {
    const v = this.profile.smccc_version;
    return v !== null && (v.major > 1 || (v.major === 1 && v.minor >= 1));
  }

  private version(): SmcResult {
    const v = this.profile.smccc_version;
    // SMCCC_VERSION arrived with 1.1: a 1.0 firmware does not implement it.
    if (v === null || !this.hasVersionCall()) return resultFor(Status.NOT_SUPPORTED);
    return statusOnly(BigInt(encodeVersion(v.major, v.minor)));
  }

  /** ARCH_FEATURES: the profile's answer for the two functions (any 64-bit x0). */
  private features(asked: number): SmcResult {
    if (!this.hasVersionCall()) return resultFor(Status.NOT_SUPPORTED);
    if (asked === FunctionId.SMCCC_VERSION || asked === FunctionId.SMCCC_ARCH_FEATURES)
      return resultFor(Status.SUCCESS);
    if (asked === FunctionId.CLEAN_INV_MEMREGION)
      return statusOnly(this.profile.implements.clean_inv_memregion);
    if (asked === FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES)
      return statusOnly(this.profile.implements.attributes);
    return resultFor(Status.NOT_SUPPORTED);
  }

  private implemented(x0: bigint): boolean {
    return s32(x0) >= 0;
  }

  /** ATTRIBUTES: x0 the profile's status; x1..x4 the raw registers, or made from the named fields. */
  private attributes(): SmcResult {
    if (!this.implemented(this.profile.implements.attributes)) return resultFor(Status.NOT_SUPPORTED);
    const a = this.profile.attributes;
    const raw = a.raw ?? {
      x1: a.global ? 1n : 0n,
      x2: BigInt(a.latency_us),
      x3: BigInt(a.rate_limit),
      x4: a.breakeven_bytes,
    };
    return Object.freeze({ x0: register(this.profile.attributes_status), ...raw });
  }

  /** INVALID_PARAMETER for a bad argument, else null. */
  checkArguments(base: bigint, length: bigint, flags: bigint): number | null {
    // Comparisons first: they allocate no BigInt, and almost every call passes them.
    if (flags !== 0n && (flags & NOT_DRYRUN) !== 0n) return Status.INVALID_PARAMETER;
    if (length === 0n) return Status.INVALID_PARAMETER;
    if ((base >= HALF_U64 || length >= HALF_U64) && base + length > U64_LIMIT)
      return Status.INVALID_PARAMETER;
    const align = this.profile.checks.align_bytes;
    if (align > 1n && (base % align !== 0n || length % align !== 0n)) return Status.INVALID_PARAMETER;
    return null;
  }

  /**
   * CLEAN_INV_MEMREGION. Every choice (script, checks, injected faults, the rate limit) is made now, in
   * call order; a call that takes time answers when its time is up, counted at that instant, in one
   * timer promise. An answer without time is given one microtask later, as it always was: the order of
   * what happens at one instant of virtual time (who reaches the provider's lock first) must not move.
   */
  private cleanInvalidate(base: bigint, length: bigint, flags: bigint): Promise<SmcResult> {
    const x0 = this.cleanInvalidateStatus(base, length, flags);
    const duration = this.callDuration;
    this.answersLater = duration > 0;
    if (duration > 0) return this.clock.sleepValue(duration, SUCCESS_RESULT, this.answeredSuccess);
    return this.answerNow(x0);
  }

  private async answerNow(x0: number | bigint): Promise<SmcResult> {
    await undefined;
    return this.count(x0);
  }

  /** A timed answer: counted, and shown to `onAnswer`, at the instant it is given. */
  private readonly answeredSuccess = (): void => {
    const res = this.count(Status.SUCCESS);
    this.onAnswer?.(res);
  };

  /** Counts an answer by status name; the result registers. */
  private count(x0: number | bigint): SmcResult {
    if (typeof x0 === 'number' && x0 <= 0 && x0 > -this.statusSlots.length) {
      let slot = this.statusSlots[-x0]!;
      if (slot < 0) {
        slot = this.byStatus.slot(STATUS_NAME.get(x0)!);
        this.statusSlots[-x0] = slot;
      }
      this.byStatus.addAt(slot);
      return RESULT_BY_SLOT[-x0]!;
    }
    const res = typeof x0 === 'number' ? resultFor(x0) : statusOnly(x0);
    this.byStatus.add(typeof x0 === 'number' ? (STATUS_NAME.get(x0) ?? statusName(x0)) : statusName(x0));
    return res;
  }

  /**
   * The answer to one call: a scripted answer (`faults.sequence`, then `faults.always`) replaces the
   * status, but a scripted SUCCESS is a real call (its time, the rate limit). Sets `callDuration` to the
   * time a successful call takes (0 for every other answer).
   */
  private cleanInvalidateStatus(base: bigint, length: bigint, flags: bigint): number | bigint {
    this.callDuration = 0;
    if (!this.cleanInvalidateImplemented) return Status.NOT_SUPPORTED;
    if (this.faultFree) {
      const invalid = this.checkArguments(base, length, flags);
      if (invalid !== null) return invalid;
      if (flags === 0n || (flags & FLAG_DRYRUN) === 0n) this.callDuration = this.durationUs(length);
      return Status.SUCCESS;
    }
    return this.statusWithFaults(base, length, flags);
  }

  /** cleanInvalidateStatus for a profile that may inject faults. */
  private statusWithFaults(base: bigint, length: bigint, flags: bigint): number | bigint {
    const faults = this.profile.faults;
    const scripted =
      this.sequenceNext < faults.sequence.length ? faults.sequence[this.sequenceNext++]! : null;
    if (scripted !== null && s32(scripted) !== Status.SUCCESS) return scripted;
    const invalid = this.checkArguments(base, length, flags);
    if (invalid !== null) return invalid;
    if (flags !== 0n && (flags & FLAG_DRYRUN) !== 0n) return Status.SUCCESS;
    const fault =
      scripted === null ? this.injectedFault() : this.overRateLimit() ? Status.RATE_LIMITED : null;
    if (fault !== null) return fault;
    this.callDuration = this.durationUs(length);
    return Status.SUCCESS;
  }

  private injectedFault(): number | bigint | null {
    const faults = this.profile.faults;
    if (faults.always !== null && s32(faults.always) !== Status.SUCCESS) return faults.always;
    if (faults.always !== null) return this.overRateLimit() ? Status.RATE_LIMITED : null;
    if (this.burstLeft > 0) {
      this.burstLeft -= 1;
      return Status.BUSY;
    }
    if (this.random.chance(faults.busy_probability)) {
      this.burstLeft = Math.max(0, faults.busy_burst - 1);
      return Status.BUSY;
    }
    if (this.random.chance(faults.rate_limited_probability)) return Status.RATE_LIMITED;
    if (this.overRateLimit()) return Status.RATE_LIMITED;
    return null;
  }

  /** The firmware's own limit: at most `rate_limit` accepted calls in each second of the clock. */
  private overRateLimit(): boolean {
    const limit = this.profile.attributes.rate_limit;
    if (limit === 0 || !this.profile.faults.enforce_rate_limit) return false;
    const window = Math.floor(this.clock.now() / 1_000_000);
    if (window !== this.rateWindow) {
      this.rateWindow = window;
      this.rateCount = 0;
    }
    if (this.rateCount >= limit) return true;
    this.rateCount += 1;
    return false;
  }

  durationUs(length: bigint): number {
    const { call_us, per_gib_us } = this.profile.timing;
    if (this.profile.attributes.global || per_gib_us === 0) return call_us;
    return call_us + (per_gib_us * Number(length)) / GIB;
  }
}
