import { type Clock, RealClock, VirtualClock } from '../src/core/clock.js';
import { Random } from '../src/core/random.js';
import { discover } from '../src/backends/emulated/discovery.js';
import { EventBus } from '../src/backends/emulated/events.js';
import { EmulatedFirmware } from '../src/backends/emulated/firmware.js';
import { CacheCoherencyFramework } from '../src/backends/emulated/framework.js';
import { builtInProfile, mergeProfile, type ProfileOverrides } from '../src/backends/emulated/profiles.js';
import { SmcccCacheProvider } from '../src/backends/emulated/provider.js';
import type { ProviderVariant } from '../src/backends/types.js';

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
