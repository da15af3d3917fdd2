import { EventBus } from '../src/backends/emulated/harness/events.js';
import { EmulatedFirmware } from '../src/backends/emulated/harness/firmware.js';
import { bootProviderStack } from '../src/backends/emulated/harness/stack.js';
import { builtInProfile, mergeProfile, type ProfileOverrides } from '../src/backends/emulated/profiles.js';
import type { ProviderVariant } from '../src/backends/types.js';
import { type Clock, RealClock, VirtualClock } from '../src/core/clock.js';
import { Random } from '../src/core/random.js';
import { StressRun } from '../src/stress/engine.js';

/** A firmware + kernel (framework, provider) stack, as the emulated backend boots it, for measurements. */
export async function stack(variant: ProviderVariant, overrides: ProfileOverrides, virtual: boolean) {
  const clock: Clock = virtual ? new VirtualClock() : new RealClock();
  const profile = mergeProfile(builtInProfile('global'), overrides);
  const firmware = new EmulatedFirmware(profile, clock, new Random(1));
  const booted = await bootProviderStack(firmware, clock, new EventBus(), variant);
  const provider = booted.provider!;
  const framework = booted.framework;
  return {
    clock,
    firmware,
    provider,
    framework,
    invalidate: (start: bigint, size: bigint) => provider.invalidate(start, size),
  };
}

/** A stress run of `ops` requests from 64 workers over the stack, on its clock, with --verify. */
export function stressRun(parts: Awaited<ReturnType<typeof stack>>, ops: number, seed: number): StressRun {
  const { clock, firmware, provider } = parts;
  return new StressRun(
    {
      clock,
      coalescing: provider.coalescing,
      invalidate: (start, size) => provider.invalidate(start, size),
      submit: (start, size, receiver) => provider.submit(start, size, receiver, true),
      synchronous: clock.virtual && provider.synchronous,
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
