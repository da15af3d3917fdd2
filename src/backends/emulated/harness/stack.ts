import type { Clock } from '../../../core/clock.js';
import type { InvalidationOutcome, OutcomeReceiver, ProviderVariant } from '../../types.js';
import type { SmcResult } from '../kernel/arm-smccc.js';
import { type Posting, smcccCacheDelayUs, smcccCacheInit } from '../kernel/arm-smccc-cache.js';
import { type CacheCoherencyOps, CacheMaint } from '../kernel/cache-maint.js';
import { batchedEntry } from './batched.js';
import { bootSmccc, type DiscoveryResult, describeDiscovery, type ProviderAttributes } from './discovery.js';
import { dryRunOps } from './dry-run.js';
import type { EventBus } from './events.js';
import type { EmulatedFirmware } from './firmware.js';
import { Instrumentation, newObserved, type ProviderCounters } from './instrumentation.js';

/** The kernel posting each variant runs: `batched` is v2 behind our queue. */
const POSTING: Record<ProviderVariant, Posting> = { v2: 'v2', v1: 'v1', rfc: 'rfc', batched: 'v2' };

/** The registered provider as the harness drives it: observed requests, dry runs, counters. */
export interface EmulatedProvider {
  readonly variant: ProviderVariant;
  readonly attributes: ProviderAttributes;
  /** The retry delay the kernel computes (smccc_cache_delay_us()). */
  readonly delayUs: number;
  /** Whether one request may be served by another's firmware call (rfc and batched, global firmware). */
  readonly coalescing: boolean;
  readonly counters: ProviderCounters;
  /**
   * cpu_cache_invalidate_memregion() with its outcome. With one instance that has no `done` (ours), the
   * framework's two walks are exactly one `wbinv`, so the entry is called directly instead of through
   * the framework's async frame.
   */
  invalidate(start: bigint, size: bigint): Promise<InvalidationOutcome>;
  /**
   * `invalidate` with callbacks. For v2 and v1 the provider's code runs as a coroutine and `receiver` may
   * hear before `submit` returns; the rfc and batched, whose results depend on the order of events at one
   * instant, keep the promise-driven order (the outcome a microtask after the promise settles). With
   * `recycle`, the outcome is valid only inside `onOutcome` (its object serves a later request).
   */
  submit(start: bigint, size: bigint, receiver: OutcomeReceiver, recycle?: boolean): void;
  /** Whether `submit` answers without promises (see StressTarget.synchronous), as things stand now. */
  readonly synchronous: boolean;
  /** The record of the request that entered the provider last (read right after a call into it). */
  lastRequest(): InvalidationOutcome;
  /** One invalidation straight into the provider's entry (the framework's only instance). */
  wbinv(start: bigint, size: bigint, dryRun?: boolean): Promise<InvalidationOutcome>;
}

export interface ProviderStack {
  /** lib/cache_maint.c */
  framework: CacheMaint;
  discovery: DiscoveryResult;
  instrumentation: Instrumentation;
  provider: EmulatedProvider | null;
  /** Kernel log lines (pr_info) of the initcalls. */
  log: string[];
}

/**
 * Boots the emulated kernel against `firmware`: psci_init_smccc(), then the provider's initcall, which
 * registers with the framework. Returns the stack with its observation points.
 */
export async function bootProviderStack(
  firmware: EmulatedFirmware,
  clock: Clock,
  events: EventBus,
  variant: ProviderVariant,
): Promise<ProviderStack> {
  const framework = new CacheMaint();
  const instrumentation = new Instrumentation(firmware, clock, events);
  const log: string[] = [];
  const booted = await bootSmccc((fid, x1, x2, x3) => firmware.call(fid, x1, x2, x3), firmware.conduit);
  const services = instrumentation.services(booted.state, (line) => log.push(line));
  const recorded: typeof booted.calls = [...booted.calls];
  let booting = true;
  const observedInvoke = services.invoke;
  // During the initcall the discovery calls are also recorded, for the report.
  services.invoke = (fid, x1 = 0n, x2 = 0n, x3 = 0n) => {
    if (!booting) return observedInvoke(fid, x1, x2, x3);
    // The initcall runs promise-driven (no coroutine), so every answer is a promise.
    return (observedInvoke(fid, x1, x2, x3) as Promise<SmcResult>).then((res) => {
      recorded.push({ fid, x1, res });
      return res;
    });
  };
  const posting = POSTING[variant];
  // The initcall registers its instance itself; the harness swaps in the observed entry afterwards.
  const init = await smcccCacheInit(posting, services, framework);
  booting = false;
  services.invoke = observedInvoke;
  const discovery = describeDiscovery(booted.state, recorded, init, clock, events);
  if (init.ret !== null || !discovery.attributes) {
    return { framework, discovery, instrumentation, provider: null, log };
  }
  const attributes = discovery.attributes;
  const cache = init.cache;
  const kernelOps: CacheCoherencyOps = cache;
  const coalescing = attributes.global && (variant === 'rfc' || variant === 'batched');
  const entry =
    variant === 'batched' && attributes.global
      ? batchedEntry(kernelOps, instrumentation)
      : instrumentation.entry(kernelOps);
  const coroutines = posting !== 'rfc' && variant !== 'batched';
  const only = () => framework.instances.length === 1 && framework.instances[0]!.ops === entry;
  const [registered] = framework.instances;
  framework.unregister(registered!);
  framework.register({ name: 'arm_smccc_cache', ops: entry });
  const dryRun = dryRunOps(observedInvoke, instrumentation.lock!, posting);
  const provider: EmulatedProvider = {
    variant,
    attributes,
    delayUs: smcccCacheDelayUs(cache.rate_limit, cache.latency_us),
    coalescing,
    counters: instrumentation.counters,
    lastRequest: () => instrumentation.lastEntered,
    get synchronous() {
      return coroutines && only() && firmware.answersInPlace;
    },
    submit(start, size, receiver, recycle = false) {
      if (coroutines && only()) instrumentation.submit(cache, start, size, receiver, recycle);
      else
        provider.invalidate(start, size).then(
          (outcome) => receiver.onOutcome(outcome),
          (error) => receiver.onError(error),
        );
    },
    invalidate(start, size) {
      if (coroutines && only()) return instrumentation.request(cache, start, size);
      const pending = only()
        ? entry.wbinv({ addr: start, size })
        : framework.cpuCacheInvalidateMemregion(start, size);
      const request = instrumentation.lastEntered;
      return pending.then(() => request);
    },
    wbinv(start, size, isDryRun = false) {
      if (isDryRun) {
        const request = newObserved(instrumentation.nextSeq());
        return instrumentation.run(dryRun, { addr: start, size }, request, true).then(() => request);
      }
      const pending = entry.wbinv({ addr: start, size });
      const entered = instrumentation.lastEntered;
      return pending.then(() => entered);
    },
  };
  return { framework, discovery, instrumentation, provider, log };
}
