import type { Clock } from '../../../core/clock.js';
import { type Awaitable, Coroutine, currentCoroutine, SUSPENDED } from '../../../core/coroutine.js';
import { Fifo } from '../../../core/fifo.js';
import { U64_MAX } from '../../../core/u64.js';
import { U64Slots } from '../../../core/u64-slots.js';
import { formatHex } from '../../../core/units.js';
import type { Errno } from '../../errno.js';
import type { InvalidationOutcome, OutcomeReceiver } from '../../types.js';
import { FunctionId, type SmcResult, s32, statusName } from '../kernel/arm-smccc.js';
import type { KernelServices, SmcccCache } from '../kernel/arm-smccc-cache.js';
import type { CacheCoherencyOps, CcInvalParams } from '../kernel/cache-maint.js';
import { Mutex } from '../kernel/mutex.js';
import type { SmcccState } from '../kernel/smccc.js';
import type { EventBus } from './events.js';
import type { EmulatedFirmware } from './firmware.js';

export interface ProviderCounters {
  requests: number;
  completed: number;
  failed: number;
  retries: number;
  sleeps: number;
  slept_us: number;
  coalesced: number;
}

/** What one request through the provider did, filled in while it runs. */
export type Observed = InvalidationOutcome;

/**
 * A class rather than an object literal: every record then has the one shape its constructor gives it,
 * in every stack of a process (a literal's boilerplate kept handing out records of a shape V8 had since
 * generalized, and the simulator's code deoptimized on them run after run).
 */
class Record implements Observed {
  errno: Errno | null = null;
  attempts = 0;
  sleeps = 0;
  slept_us = 0;
  coalesced = false;
  arrival_seq: number;
  served_by_seq: number | null = null;

  constructor(arrival: number) {
    this.arrival_seq = arrival;
  }
}

export const newObserved = (arrival: number): Observed => new Record(arrival);

/** A copy of `record` for a caller to keep (of the same class: one shape). */
function copyOf(record: Observed): Observed {
  const copy = new Record(record.arrival_seq);
  copy.errno = record.errno;
  copy.attempts = record.attempts;
  copy.sleeps = record.sleeps;
  copy.slept_us = record.slept_us;
  copy.coalesced = record.coalesced;
  copy.served_by_seq = record.served_by_seq;
  return copy;
}

/**
 * Watches the kernel provider from outside, as kprobes would: it hands the provider a firmware, a sleep
 * and a lock of its own and wraps the provider's entry, so the kernel code stays as upstream wrote it.
 *
 * Attribution is exact because the provider makes firmware calls and sleeps only while it holds its lock:
 * the lock records which request it was granted to (the request that was entering the provider when it
 * asked for it), and every call and sleep belongs to the holder. Requests and firmware calls draw numbers
 * from one sequence, so `stress --verify` can check that a request was served by a call that started
 * after it arrived.
 */
export class Instrumentation {
  readonly counters: ProviderCounters = {
    requests: 0,
    completed: 0,
    failed: 0,
    retries: 0,
    sleeps: 0,
    slept_us: 0,
    coalesced: 0,
  };
  /**
   * The request the framework's walk (or the batched queue) most recently sent into the provider, read
   * right after the call; a pooled call (`submit`, `request`) hands its record over itself.
   */
  lastEntered: Observed = newObserved(-1);
  /** The lock the provider made (the harness takes it for dry runs). */
  lock: Mutex | null = null;
  private sequence = 0;
  private holder: Observed | null = null;
  private entering: Observed | null = null;
  /** Who waits for the lock, in the lock's own (FIFO) order. */
  private readonly lockQueue = new Fifo<Observed | null>();
  /** Finished calls, to be used again (with their records too, for `submit` with `recycle`). */
  private readonly spareCalls: ProviderCall[] = [];
  /** @internal The addresses of the calls, at each call's slot (see ProviderCall.addr). */
  readonly callAddresses = new U64Slots();
  private lastSuccessSeq: number | null = null;
  private callSeq = 0;
  private callBegan = 0;
  private callStart = 0n;
  private callSize = 0n;
  private callFlags = 0n;
  private readonly firmware: EmulatedFirmware;
  private readonly clock: Clock;
  private readonly events: EventBus;

  constructor(firmware: EmulatedFirmware, clock: Clock, events: EventBus) {
    this.firmware = firmware;
    this.clock = clock;
    this.events = events;
    firmware.onAnswer = this.afterCall;
  }

  nextSeq(): number {
    return this.sequence++;
  }

  /** The kernel services the provider runs on, each one observed. */
  services(smccc: SmcccState, prInfo: (message: string) => void): KernelServices {
    return {
      invoke: this.invoke,
      smccc,
      fsleep: this.fsleep,
      mutexInit: () => {
        this.lock = new ObservedMutex(this);
        return this.lock;
      },
      prInfo,
    };
  }

  /** @internal The request entering the provider asked for the lock; it waits for it when `queued`. */
  lockAsked(queued: boolean): void {
    if (queued) this.lockQueue.push(this.entering);
    else this.holder = this.entering;
  }

  /** @internal How many requests wait for the lock. */
  get lockWaiters(): number {
    return this.lockQueue.length;
  }

  /** @internal The lock is being released: the oldest waiter, when there is one, holds it next. */
  lockReleased(contended: boolean): void {
    this.holder = contended ? (this.lockQueue.shift() ?? null) : null;
  }

  /** The provider's entry as the framework calls it: one observed request per call. */
  entry(ops: CacheCoherencyOps): CacheCoherencyOps {
    return {
      wbinv: (params) => {
        const request = newObserved(this.sequence++);
        this.lastEntered = request;
        return this.run(ops, params, request, false);
      },
    };
  }

  /**
   * Sends `request` (numbered already) into the provider and completes it when the provider returns.
   * `dryRun` only labels the request event.
   */
  run(
    ops: CacheCoherencyOps,
    params: CcInvalParams,
    request: Observed,
    dryRun: boolean,
    announced = false,
  ): Promise<Errno | null> {
    if (!announced) this.announce(request, params, dryRun);
    this.entering = request;
    const began = this.events.enabled ? this.clock.now() : 0;
    let pending: Promise<Errno | null>;
    try {
      pending = ops.wbinv(params);
    } finally {
      this.entering = null;
    }
    return pending.then((ret) => this.complete(request, ret, began));
  }

  /**
   * One request into the provider's code run as a coroutine (the stress engine's path, for v2 and v1):
   * `receiver` gets its record when the provider returns, possibly before `submit` does.
   */
  submit(cache: WbinvParts, addr: bigint, size: bigint, receiver: OutcomeReceiver, recycle: boolean): void {
    this.enter(cache, addr, size, receiver, recycle);
  }

  /**
   * `submit` for a caller that wants a promise of the record (the commands, the bench): a request that
   * ends inside the call (a free lock, a firmware that answers at once) costs one settled promise, no
   * resolving functions; one that waits gets them when it starts waiting.
   */
  request(cache: WbinvParts, addr: bigint, size: bigint): Promise<Observed> {
    return this.enter(cache, addr, size, null, false).outcome();
  }

  /** A pooled call, numbered and announced, run up to its first wait (or its end). */
  private enter(
    cache: WbinvParts,
    addr: bigint,
    size: bigint,
    receiver: OutcomeReceiver | null,
    recycle: boolean,
  ): ProviderCall {
    const call = this.spareCalls.pop() ?? new ProviderCall(this);
    const request = call.reset(this.sequence++, addr, size, receiver, recycle);
    this.announce(request, call, false);
    if (this.events.enabled) call.began = this.clock.now();
    this.entering = request;
    try {
      call.begin(cache, this.lock!);
    } finally {
      this.entering = null;
    }
    return call;
  }

  /** @internal A finished call, its record read (or handed over, and the call given a new one next). */
  spare(call: ProviderCall): void {
    this.spareCalls.push(call);
  }

  /** Marks `request` done with the provider's return value. */
  complete(request: Observed, ret: Errno | null, began: number): Errno | null {
    request.errno = ret;
    // The rfc's skip: a success without a firmware call, served by the call that moved the generation.
    if (ret === null && request.attempts === 0 && request.served_by_seq === null) {
      request.served_by_seq = this.lastSuccessSeq;
      this.noteCoalesced(request);
    }
    if (ret === null) this.counters.completed += 1;
    else this.counters.failed += 1;
    if (request.attempts > 1) this.counters.retries += request.attempts - 1;
    if (this.events.enabled) this.emitComplete(request, ret, began);
    return ret;
  }

  // The events are built apart from the hot paths above, which stay small enough for V8 to inline.

  private emitComplete(request: Observed, ret: Errno | null, began: number): void {
    const now = this.clock.now();
    this.events.emit({
      type: 'complete',
      time_us: now,
      seq: request.arrival_seq,
      errno: ret,
      attempts: request.attempts,
      latency_us: roundUs(now - began),
    });
  }

  private emitFirmwareCall(res: SmcResult): void {
    this.events.emit({
      type: 'firmware_call',
      time_us: this.callBegan,
      seq: this.callSeq,
      attempt: this.holder?.attempts ?? 1,
      start: formatHex(this.callStart),
      size: this.callSize.toString(),
      flags: Number(this.callFlags),
      status: statusName(s32(res.x0)),
      duration_us: roundUs(this.clock.now() - this.callBegan),
    });
  }

  private emitSleep(us: number): void {
    this.events.emit({
      type: 'sleep',
      time_us: this.clock.now(),
      delay_us: us,
      attempt: this.holder?.attempts ?? 0,
    });
  }

  private emitRequest(request: Observed, params: CcInvalParams, dryRun: boolean): void {
    this.events.emit({
      type: 'request',
      time_us: this.clock.now(),
      seq: request.arrival_seq,
      start: formatHex(params.addr),
      size: params.size.toString(),
      dry_run: dryRun,
    });
  }

  private noteCallStart(x1: bigint, x2: bigint, x3: bigint): void {
    this.callBegan = this.clock.now();
    this.callStart = x1;
    this.callSize = x2;
    this.callFlags = x3;
  }

  /** A request served by another's call (batched followers, the rfc's skip). */
  noteCoalesced(request: Observed): void {
    request.coalesced = true;
    this.counters.coalesced += 1;
    if (this.events.enabled) {
      this.events.emit({
        type: 'coalesced',
        time_us: this.clock.now(),
        seq: request.arrival_seq,
        served_by_seq: request.served_by_seq,
      });
    }
  }

  /** arm_smccc_1_1_invoke(), observed: CLEAN_INV_MEMREGION calls are numbered and given to the holder. */
  private readonly invoke = (fid: number, x1 = 0n, x2 = 0n, x3 = 0n): Awaitable<SmcResult> => {
    const coroutine = this.firmware.answersInPlace ? currentCoroutine() : null;
    if (fid !== FunctionId.CLEAN_INV_MEMREGION) {
      return coroutine !== null
        ? this.firmware.callFor(coroutine, fid, x1, x2, x3)
        : this.firmware.call(fid, x1, x2, x3);
    }
    this.callSeq = this.sequence++;
    if (this.holder) this.holder.attempts += 1;
    if (this.events.enabled) this.noteCallStart(x1, x2, x3);
    this.firmware.answersLater = false;
    if (coroutine !== null) {
      const answer = this.firmware.callFor(coroutine, fid, x1, x2, x3);
      if (answer !== SUSPENDED) this.afterCall(answer);
      return answer;
    }
    const answer = this.firmware.call(fid, x1, x2, x3);
    // A timed answer is observed by the firmware's onAnswer at its instant; one without time is observed
    // a microtask after it is given, as it always was: at one instant of virtual time the order of who
    // gets where first must not move.
    return this.firmware.answersLater ? answer : answer.then(this.observed);
  };

  private readonly observed = (res: SmcResult): SmcResult => {
    this.afterCall(res);
    return res;
  };

  /** A CLEAN_INV_MEMREGION answer to the holder's call. */
  private readonly afterCall = (res: SmcResult): void => {
    if (res.x0 === 0n || s32(res.x0) === 0) {
      this.lastSuccessSeq = this.callSeq;
      if (this.holder) this.holder.served_by_seq = this.callSeq;
    }
    if (this.events.enabled) this.emitFirmwareCall(res);
  };

  /** fsleep(), observed: the holder's sleeps. */
  private readonly fsleep = (us: number): Awaitable<void> => {
    this.counters.sleeps += 1;
    this.counters.slept_us += us;
    if (this.holder) {
      this.holder.sleeps += 1;
      this.holder.slept_us += us;
    }
    if (this.events.enabled) this.emitSleep(us);
    const coroutine = currentCoroutine();
    if (coroutine === null) return this.clock.sleep(us);
    return us > 0 ? this.clock.resumeAfter(us, coroutine, undefined) : undefined;
  };

  /** Counts a request that arrived and emits its event. */
  announce(request: Observed, params: CcInvalParams, dryRun: boolean): void {
    this.counters.requests += 1;
    if (this.events.enabled) this.emitRequest(request, params, dryRun);
  }
}

/** Event times to the nanosecond: enough for a microsecond clock, without float noise. */
export const roundUs = (us: number): number => Math.round(us * 1000) / 1000;

/**
 * The provider's lock as the instrumentation sees it: who asked for it, who gets it. One class for every
 * stack (a class made per stack would give each its own shape, and the simulator's hot paths would go
 * megamorphic after a few runs in one process).
 */
class ObservedMutex extends Mutex {
  private readonly observer: Instrumentation;

  constructor(observer: Instrumentation) {
    super();
    this.observer = observer;
  }

  override lock() {
    const wait = super.lock();
    this.observer.lockAsked(wait !== undefined);
    return wait;
  }

  override unlock(): void {
    // The new holder first: a coroutine handed the lock runs on inside unlock().
    this.observer.lockReleased(this.contended);
    super.unlock();
  }
}

/**
 * From this many waiters on, a waiting request keeps its address as raw bits (ProviderCall.addr): it then
 * waits for thousands of requests, past a scavenge of V8's young generation (about 35,000 requests of
 * allocation in the simulator). Behind a shorter queue its BigInt dies young, and converting it would
 * only cost (about 350 instructions per request at 64 workers, cachegrind).
 */
export const LONG_LOCK_QUEUE = 4096;

/** smccc_cache_wbinv() in the parts a coroutine runs it in (see SmcccCache.wbinvSteps). */
export type WbinvParts = Pick<SmcccCache, 'wbinvEnter' | 'wbinvLocked'>;

/**
 * A request's run through the provider's code as a coroutine: its parameters (it is the `invp` the code
 * gets), its record, and what to do with the record when the provider returns. The record is the call's
 * own and serves every request the pooled call runs: with `recycle` its caller reads it only inside
 * `onOutcome`; without, the caller gets a copy made as the provider returns. A record made per request
 * and filled in by the provider would be a young object written into long-lived ones (this call, the
 * instrumentation's holder) at every step, each write paying V8's generational write barrier.
 */
class ProviderCall extends Coroutine<Errno | null> implements CcInvalParams {
  size = 0n;
  began = 0;
  private readonly instrumentation: Instrumentation;
  /** The address; null while the request waits for the lock, when its slot of `callAddresses` has it. */
  private address: bigint | null = null;
  private addressSlot = -1;
  private readonly request: Observed = newObserved(-1);
  /** Whether the caller reads the record only inside `onOutcome` (else it gets a copy). */
  private recycle = false;
  private receiver: OutcomeReceiver | null = null;
  /** With no receiver (Instrumentation.request): whether the call has ended, and with what error. */
  private ended = false;
  private error: unknown = null;
  private cache: WbinvParts | null = null;
  /** wbinvEnter()'s answer, for the locked part. */
  private gen = 0;
  private waitingForLock = false;

  constructor(instrumentation: Instrumentation) {
    super();
    this.instrumentation = instrumentation;
  }

  get addr(): bigint {
    return this.address ?? this.instrumentation.callAddresses.get(this.addressSlot);
  }

  /**
   * While the request waits behind a long queue its address is kept as raw bits, not as the BigInt it
   * came as: with 100,000 requests queued, their address BigInts outlived V8's young generation and every
   * scavenge copied them (a third of the simulator's CPU at 100,000 workers). The stress engine draws a
   * new one per request; the `size` it passes is the same BigInt every time, so it stays a field.
   */
  private keepAddressAsBits(): void {
    const address = this.address!;
    // Every caller passes a u64 (the API checks its input); anything else stays as it came, for the
    // firmware to refuse, rather than be cut to its low 64 bits.
    if (address < 0n || address > U64_MAX) return;
    const addresses = this.instrumentation.callAddresses;
    if (this.addressSlot < 0) this.addressSlot = addresses.add();
    addresses.set(this.addressSlot, address);
    this.address = null;
  }

  /** Ready for a new request numbered `arrival`; its record. */
  reset(
    arrival: number,
    addr: bigint,
    size: bigint,
    receiver: OutcomeReceiver | null,
    recycle: boolean,
  ): Observed {
    this.ended = false;
    this.error = null;
    this.address = addr;
    this.size = size;
    this.began = 0;
    this.receiver = receiver;
    this.recycle = recycle;
    const request = this.request;
    request.errno = null;
    request.attempts = 0;
    request.sleeps = 0;
    request.slept_us = 0;
    request.coalesced = false;
    request.arrival_seq = arrival;
    request.served_by_seq = null;
    return request;
  }

  /**
   * smccc_cache_wbinv() as wbinvSteps() runs it, in its parts: while the request waits for the lock it is
   * this call alone, no generator, and the locked part starts when the unlock hands the lock over.
   */
  begin(cache: WbinvParts, lock: Mutex): void {
    const gen = cache.wbinvEnter(this);
    if (typeof gen === 'string') {
      this.finish(gen);
      return;
    }
    this.cache = cache;
    this.gen = gen;
    if (this.lockFor(lock)) this.start(cache.wbinvLocked(this, gen));
    else {
      if (this.instrumentation.lockWaiters >= LONG_LOCK_QUEUE) this.keepAddressAsBits();
      this.waitingForLock = true;
    }
  }

  override resume(value: unknown): void {
    if (!this.waitingForLock) {
      super.resume(value);
      return;
    }
    this.waitingForLock = false;
    this.start(this.cache!.wbinvLocked(this, this.gen));
  }

  protected finish(ret: Errno | null): void {
    this.instrumentation.complete(this.request, ret, this.began);
    const receiver = this.receiver;
    if (receiver === null) {
      this.ended = true;
      return;
    }
    this.receiver = null;
    receiver.onOutcome(this.recycle ? this.request : copyOf(this.request));
    this.instrumentation.spare(this);
  }

  protected fail(error: unknown): void {
    const receiver = this.receiver;
    if (receiver === null) {
      this.ended = true;
      this.error = error ?? new Error('provider failed');
      return;
    }
    this.receiver = null;
    receiver.onError(error);
    this.instrumentation.spare(this);
  }

  /** The promise of Instrumentation.request, right after begin(). */
  outcome(): Promise<Observed> {
    if (this.ended) {
      const error = this.error;
      this.error = null;
      const outcome = error === null ? copyOf(this.request) : null;
      this.instrumentation.spare(this);
      return outcome !== null ? Promise.resolve(outcome) : Promise.reject(error);
    }
    return new Promise<Observed>((resolve, reject) => {
      this.receiver = { onOutcome: resolve, onError: reject };
    });
  }
}
