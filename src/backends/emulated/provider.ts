import type { Clock } from '../../core/clock.js';
import {
  FLAG_DRYRUN,
  FunctionId,
  isTransient,
  Status,
  statusName,
  statusToErrno,
  U64_MAX,
} from '../../core/smccc.js';
import { formatHex } from '../../core/units.js';
import type { InvalidationOutcome, ProviderVariant } from '../types.js';
import type { ProviderAttributes } from './discovery.js';
import type { EventBus } from './events.js';
import type { EmulatedFirmware, SmcResult } from './firmware.js';
import { Mutex } from './mutex.js';
import { MAX_ATTEMPTS, retryDelayUs } from './retry.js';

export interface ProviderCounters {
  requests: number;
  completed: number;
  failed: number;
  retries: number;
  sleeps: number;
  slept_us: number;
  coalesced: number;
}

const PAST_U64 = U64_MAX + 1n;

interface Waiter {
  arrival: number;
  start: bigint;
  size: bigint;
  resolve: (outcome: InvalidationOutcome) => void;
}

/**
 * The SMCCC cache provider's `wbinv` (DESIGN §3) in the four variants: `v2` and `v1` (serialized, 5
 * attempts, sleeps between transient failures), `rfc` (v2 plus the posted generation-counter coalescing,
 * race included) and `batched` (v2 plus coalescing that only lets a call serve requests that were
 * waiting when it started).
 *
 * Every request and every firmware call takes a number from one sequence, so `stress --verify` can check
 * exactly that a request was served by a call that started after it arrived.
 */
export class SmcccCacheProvider {
  readonly variant: ProviderVariant;
  readonly attributes: ProviderAttributes;
  readonly delayUs: number;
  readonly counters: ProviderCounters = {
    requests: 0,
    completed: 0,
    failed: 0,
    retries: 0,
    sleeps: 0,
    slept_us: 0,
    coalesced: 0,
  };
  private readonly firmware: EmulatedFirmware;
  private readonly clock: Clock;
  private readonly events: EventBus;
  private readonly lock = new Mutex();
  private readonly coalesces: boolean;
  private sequence = 0;
  // rfc: generation counter and the start of the call that last moved it.
  private generation = 0;
  private generationCallSeq: number | null = null;
  // batched: requests waiting for the next call, and whether the batch loop runs.
  private pending: Waiter[] = [];
  private batching = false;

  constructor(
    firmware: EmulatedFirmware,
    clock: Clock,
    events: EventBus,
    variant: ProviderVariant,
    attributes: ProviderAttributes,
  ) {
    this.firmware = firmware;
    this.clock = clock;
    this.events = events;
    this.variant = variant;
    this.attributes = attributes;
    this.delayUs = retryDelayUs(attributes.rate_limit, attributes.latency_us);
    // A range-type firmware gets no coalescing in any variant.
    this.coalesces = attributes.global && (variant === 'rfc' || variant === 'batched');
  }

  /** Whether this provider may serve one request with another's firmware call. */
  get coalescing(): boolean {
    return this.coalesces;
  }

  /** One invalidation. `dryRun` passes DRYRUN to firmware and is never coalesced. */
  wbinv(start: bigint, size: bigint, dryRun = false): Promise<InvalidationOutcome> {
    const arrival = this.sequence++;
    this.counters.requests += 1;
    if (this.events.enabled) {
      this.events.emit({
        type: 'request',
        time_us: this.clock.now(),
        seq: arrival,
        start: formatHex(start),
        size: size.toString(),
        dry_run: dryRun,
      });
    }
    if (!this.events.enabled && !this.coalesces && size !== 0n)
      return this.serialized(start, size, dryRun ? FLAG_DRYRUN : 0n, arrival);
    if (!this.events.enabled) return this.dispatch(start, size, dryRun, arrival);
    const began = this.clock.now();
    return this.reportCompletion(this.dispatch(start, size, dryRun, arrival), arrival, began);
  }

  private dispatch(
    start: bigint,
    size: bigint,
    dryRun: boolean,
    arrival: number,
  ): Promise<InvalidationOutcome> {
    if (size === 0n) return Promise.resolve(this.finish(outcome('EINVAL', 0, arrival, null)));
    if (this.coalesces && !dryRun) {
      return this.variant === 'rfc'
        ? this.rfcRequest(start, size, arrival)
        : this.batchedRequest(start, size, arrival);
    }
    return this.serialized(start, size, dryRun ? FLAG_DRYRUN : 0n, arrival);
  }

  private async reportCompletion(
    task: Promise<InvalidationOutcome>,
    seq: number,
    began: number,
  ): Promise<InvalidationOutcome> {
    const result = await task;
    const now = this.clock.now();
    this.events.emit({
      type: 'complete',
      time_us: now,
      seq,
      errno: result.errno,
      attempts: result.attempts,
      latency_us: roundUs(now - began),
    });
    return result;
  }

  /**
   * v2/v1 (and dry runs): one request at a time under the lock. The uncontended path holds the lock while
   * its one firmware call runs, so its state lives in `inflight` and the answer is taken by a handler
   * made once: no async frame, no closure per request.
   */
  private serialized(
    start: bigint,
    size: bigint,
    flags: bigint,
    arrival: number,
  ): Promise<InvalidationOutcome> {
    if (this.events.enabled || !this.lock.tryAcquire())
      return this.serializedWaiting(start, size, flags, arrival);
    const inflight = this.inflight;
    inflight.start = start;
    inflight.size = size;
    inflight.flags = flags;
    inflight.arrival = arrival;
    inflight.callSeq = this.sequence++;
    return this.firmware
      .call(FunctionId.CLEAN_INV_MEMREGION, start, size, flags)
      .then(this.afterUncontendedCall, this.releaseAndRethrow);
  }

  private readonly inflight = { start: 0n, size: 0n, flags: 0n, arrival: 0, callSeq: 0 };

  private readonly afterUncontendedCall = (
    regs: SmcResult,
  ): InvalidationOutcome | Promise<InvalidationOutcome> => {
    const { start, size, flags, arrival, callSeq } = this.inflight;
    if (regs.x0 === Status.SUCCESS) {
      this.lock.release();
      return this.finish(outcome(null, 1, arrival, callSeq));
    }
    return this.retryHoldingLock(start, size, flags, arrival, callSeq, regs.x0);
  };

  private readonly releaseAndRethrow = (error: unknown): never => {
    this.lock.release();
    throw error;
  };

  private async retryHoldingLock(
    start: bigint,
    size: bigint,
    flags: bigint,
    arrival: number,
    firstSeq: number,
    firstStatus: number,
  ): Promise<InvalidationOutcome> {
    try {
      return this.finish(await this.attempts(start, size, flags, arrival, firstSeq, firstStatus));
    } finally {
      this.lock.release();
    }
  }

  private async serializedWaiting(
    start: bigint,
    size: bigint,
    flags: bigint,
    arrival: number,
  ): Promise<InvalidationOutcome> {
    if (!this.lock.tryAcquire()) await this.lock.acquire();
    try {
      return this.finish(await this.attempts(start, size, flags, arrival));
    } finally {
      this.lock.release();
    }
  }

  /** The RFC: sample the generation before the lock; if it moved meanwhile, return without a call. */
  private async rfcRequest(start: bigint, size: bigint, arrival: number): Promise<InvalidationOutcome> {
    const sampled = this.generation;
    if (!this.lock.tryAcquire()) await this.lock.acquire();
    try {
      if (this.generation !== sampled)
        return this.finish(this.coalescedOutcome(arrival, this.generationCallSeq));
      const result = await this.attempts(start, size, 0n, arrival);
      if (result.errno === null) {
        this.generation += 1;
        this.generationCallSeq = result.served_by_seq;
      }
      return this.finish(result);
    } finally {
      this.lock.release();
    }
  }

  /** Ours: a request joins the next call that starts after it arrived, shared with all who wait for it. */
  private batchedRequest(start: bigint, size: bigint, arrival: number): Promise<InvalidationOutcome> {
    // A range past 2^64 is invalid for every firmware: refuse it here rather than let it ride on another
    // request's call. (Alignment only the firmware can judge; a global operation covers any range.)
    if (start + size > PAST_U64) return Promise.resolve(this.finish(outcome('EINVAL', 0, arrival, null)));
    const done = new Promise<InvalidationOutcome>((resolve) =>
      this.pending.push({ arrival, start, size, resolve }),
    );
    if (!this.batching) void this.runBatches();
    return done;
  }

  private async runBatches(): Promise<void> {
    this.batching = true;
    // Let requests issued in the same turn join the first call.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        if (!this.lock.tryAcquire()) await this.lock.acquire();
        // The batch is fixed before the first attempt starts: it holds only requests that arrived earlier.
        const batch = this.pending;
        this.pending = [];
        const first = batch[0]!;
        let result: InvalidationOutcome;
        try {
          // A global operation covers every waiter's range whatever it is: the first waiter's goes to
          // firmware, and only a success is shared.
          result = await this.attempts(first.start, first.size, 0n, first.arrival);
        } finally {
          this.lock.release();
        }
        first.resolve(this.finish(result));
        if (result.errno !== null) {
          // A failure answered the first waiter's own arguments only: the others go to the next call,
          // which still starts after they arrived.
          this.pending = batch.slice(1).concat(this.pending);
          continue;
        }
        for (let i = 1; i < batch.length; i++) {
          const own = {
            ...result,
            attempts: 0,
            sleeps: 0,
            slept_us: 0,
            coalesced: true,
            arrival_seq: batch[i]!.arrival,
          };
          this.noteCoalesced(own);
          batch[i]!.resolve(this.finish(own));
        }
      }
    } finally {
      this.batching = false;
    }
  }

  private coalescedOutcome(arrival: number, servedBy: number | null): InvalidationOutcome {
    const result = { ...outcome(null, 0, arrival, servedBy), coalesced: true };
    this.noteCoalesced(result);
    return result;
  }

  private noteCoalesced(result: InvalidationOutcome): void {
    this.counters.coalesced += 1;
    if (this.events.enabled) {
      this.events.emit({
        type: 'coalesced',
        time_us: this.clock.now(),
        seq: result.arrival_seq,
        served_by_seq: result.served_by_seq,
      });
    }
  }

  /**
   * Up to 5 firmware calls; only BUSY and RATE_LIMITED are retried, after the retry delay. `firstStatus`
   * is the answer to the first call when the caller already made it (with sequence number `firstSeq`).
   */
  private async attempts(
    start: bigint,
    size: bigint,
    flags: bigint,
    arrival: number,
    firstSeq = this.sequence++,
    firstStatus?: number,
  ): Promise<InvalidationOutcome> {
    let sleeps = 0;
    let slept = 0;
    for (let attempt = 1; ; attempt++) {
      const callSeq = attempt === 1 ? firstSeq : this.sequence++;
      let status: number;
      if (attempt === 1 && firstStatus !== undefined) status = firstStatus;
      else {
        const began = this.events.enabled ? this.clock.now() : 0;
        status = (await this.firmware.call(FunctionId.CLEAN_INV_MEMREGION, start, size, flags)).x0;
        if (this.events.enabled) this.emitCall(callSeq, attempt, start, size, flags, status, began);
      }
      const errno = statusToErrno(status, this.variant === 'rfc');
      if (errno === null || !isTransient(errno)) {
        return {
          errno,
          attempts: attempt,
          sleeps,
          slept_us: slept,
          coalesced: false,
          arrival_seq: arrival,
          served_by_seq: errno === null ? callSeq : null,
        };
      }
      // v1 does not sleep after the last attempt; v2 (and its descendants) sleep after every failure.
      if (attempt === MAX_ATTEMPTS && this.variant === 'v1') break;
      this.counters.sleeps += 1;
      this.counters.slept_us += this.delayUs;
      sleeps += 1;
      slept += this.delayUs;
      if (this.events.enabled)
        this.events.emit({ type: 'sleep', time_us: this.clock.now(), delay_us: this.delayUs, attempt });
      await this.clock.sleep(this.delayUs);
      if (attempt === MAX_ATTEMPTS) break;
    }
    return {
      errno: 'EBUSY',
      attempts: MAX_ATTEMPTS,
      sleeps,
      slept_us: slept,
      coalesced: false,
      arrival_seq: arrival,
      served_by_seq: null,
    };
  }

  private emitCall(
    seq: number,
    attempt: number,
    start: bigint,
    size: bigint,
    flags: bigint,
    status: number,
    began: number,
  ) {
    const now = this.clock.now();
    this.events.emit({
      type: 'firmware_call',
      time_us: began,
      seq,
      attempt,
      start: formatHex(start),
      size: size.toString(),
      flags: Number(flags),
      status: statusName(status),
      duration_us: roundUs(now - began),
    });
  }

  private finish(result: InvalidationOutcome): InvalidationOutcome {
    if (result.errno === null) this.counters.completed += 1;
    else this.counters.failed += 1;
    if (result.attempts > 1) this.counters.retries += result.attempts - 1;
    return result;
  }
}

const outcome = (
  errno: InvalidationOutcome['errno'],
  attempts: number,
  arrival: number,
  servedBy: number | null,
): InvalidationOutcome => ({
  errno,
  attempts,
  sleeps: 0,
  slept_us: 0,
  coalesced: false,
  arrival_seq: arrival,
  served_by_seq: servedBy,
});

/** Event times to the nanosecond: enough for a microsecond clock, without float noise. */
const roundUs = (us: number): number => Math.round(us * 1000) / 1000;
