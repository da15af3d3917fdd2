import { discover } from '../src/backends/emulated/discovery.js';
import { EventBus } from '../src/backends/emulated/events.js';
import { EmulatedFirmware } from '../src/backends/emulated/firmware.js';
import { CacheCoherencyFramework } from '../src/backends/emulated/framework.js';
import { builtInProfile, mergeProfile, type ProfileOverrides } from '../src/backends/emulated/profiles.js';
import { SmcccCacheProvider } from '../src/backends/emulated/provider.js';
import type { ProviderVariant } from '../src/backends/types.js';
import { type Clock, RealClock, VirtualClock } from '../src/core/clock.js';
import { Random } from '../src/core/random.js';
import { StressRun } from '../src/stress/engine.js';

/** A firmware + provider + framework stack, as the emulated backend builds it, for measurements. */
export async function stack(variant: ProviderVariant, overrides: ProfileOverrides, virtual: boolean) {
  const clock: Clock = virtual ? new VirtualClock() : new RealClock();
  const profile = mergeProfile(builtInProfile('global'), overrides);
  const events = new EventBus();
  const firmware = new EmulatedFirmware(profile, clock, new Random(1));
  const discovery = await discover(firmware, clock, events);
  const provider = new SmcccCacheProvider(firmware, clock, events, variant, discovery.attributes!);
  const framework = new CacheCoherencyFramework();
  framework.register({ name: 'arm_smccc_cache', wbinv: (start, size) => provider.wbinv(start, size) });
  return { clock, firmware, provider, framework };
}

/** A stress run of `ops` requests from 64 workers over the stack, on its clock, with --verify. */
export function stressRun(parts: Awaited<ReturnType<typeof stack>>, ops: number, seed: number): StressRun {
  const { clock, framework, firmware, provider } = parts;
  return new StressRun(
    {
      clock,
      coalescing: provider.coalescing,
      invalidate: (start, size) => framework.invalidateMemregion(start, size),
      firmwareCalls: () => Object.fromEntries(firmware.invalidateCalls),
    },
    {
      workers: 64,
      ops,
      durationMs: null,
      range: { pattern: 'random', base: 0x8000_0000n, size: 4096n, span: 1n << 30n },
      verify: true,
      signal: new AbortController().signal,
    },
    new Random(seed),
  );
}
