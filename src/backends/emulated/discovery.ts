import type { Clock } from '../../core/clock.js';
import { decodeVersion, FunctionId, Status, statusName } from '../../core/smccc.js';
import type { EventBus } from './events.js';
import type { EmulatedFirmware } from './firmware.js';

export interface ProviderAttributes {
  global: boolean;
  /** x2, low 32 bits. */
  latency_us: number;
  /** x3, low 32 bits (the kernel keeps a u32). */
  rate_limit: number;
  /** x4: reported, never used by the provider. */
  breakeven_bytes: bigint;
}

export interface DiscoveryStep {
  step: 'version' | 'conduit' | 'features' | 'attributes';
  ok: boolean;
  detail: string;
}

export interface DiscoveryResult {
  registered: boolean;
  version: { major: number; minor: number; assumed: boolean };
  conduit: 'smc' | 'hvc' | 'none';
  functions: { clean_inv_memregion: boolean | null; attributes: boolean | null };
  attributes: ProviderAttributes | null;
  attributes_status: string | null;
  steps: DiscoveryStep[];
  /** Why the provider did not register (empty when it did). */
  reasons: string[];
}

const hex = (id: number) => `0x${id.toString(16)}`;
const LOW32 = 0xffff_ffffn;

/**
 * The provider's initcall (DESIGN §3), step by step: SMCCC ≥ 1.1 with a conduit; ARCH_FEATURES for both
 * functions; ATTRIBUTES status 0. Any failure: no provider, no software fallback.
 */
export async function discover(
  firmware: EmulatedFirmware,
  clock: Clock,
  events: EventBus,
): Promise<DiscoveryResult> {
  const steps: DiscoveryStep[] = [];
  const record = (step: DiscoveryStep['step'], ok: boolean, detail: string) => {
    steps.push({ step, ok, detail });
    if (events.enabled) events.emit({ type: 'discovery', time_us: clock.now(), step, ok, detail });
  };
  const result: DiscoveryResult = {
    registered: false,
    version: { major: 1, minor: 0, assumed: true },
    conduit: firmware.conduit,
    functions: { clean_inv_memregion: null, attributes: null },
    attributes: null,
    attributes_status: null,
    steps,
    reasons: [],
  };
  const fail = (reason: string) => {
    result.reasons.push(reason);
    return result;
  };

  if (firmware.conduit === 'none') {
    record('conduit', false, 'no SMCCC conduit (neither SMC nor HVC)');
    return fail('no SMCCC conduit: firmware calls cannot be made (neither SMC nor HVC is available)');
  }
  record('conduit', true, `conduit ${firmware.conduit.toUpperCase()}`);

  const w0 = (await firmware.call(FunctionId.SMCCC_VERSION)).x0;
  if (w0 < 0) {
    record('version', false, `SMCCC_VERSION returned ${statusName(w0)}: SMCCC 1.0 assumed`);
    return fail('SMCCC 1.0 (SMCCC_VERSION is not implemented): the provider needs SMCCC 1.1 or later');
  }
  const version = decodeVersion(w0);
  result.version = { ...version, assumed: false };
  const atLeast11 = version.major > 1 || (version.major === 1 && version.minor >= 1);
  record('version', atLeast11, `SMCCC v${version.major}.${version.minor}`);
  if (!atLeast11)
    return fail(
      `SMCCC v${version.major}.${version.minor} is older than 1.1: the provider needs 1.1 or later`,
    );

  const features = async (fid: number) =>
    (await firmware.call(FunctionId.SMCCC_ARCH_FEATURES, BigInt(fid))).x0;
  const cleanInv = await features(FunctionId.CLEAN_INV_MEMREGION);
  const attrs = await features(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES);
  result.functions = { clean_inv_memregion: cleanInv >= 0, attributes: attrs >= 0 };
  const featuresOk = cleanInv >= 0 && attrs >= 0;
  record(
    'features',
    featuresOk,
    `ARCH_FEATURES(CLEAN_INV_MEMREGION ${hex(FunctionId.CLEAN_INV_MEMREGION)}) = ${cleanInv}, ` +
      `ARCH_FEATURES(ATTRIBUTES ${hex(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES)}) = ${attrs}`,
  );
  if (cleanInv < 0)
    fail(`firmware does not implement CLEAN_INV_MEMREGION (ARCH_FEATURES returned ${statusName(cleanInv)})`);
  if (attrs < 0)
    fail(
      `firmware does not implement CLEAN_INV_MEMREGION_ATTRIBUTES (ARCH_FEATURES returned ${statusName(attrs)})`,
    );
  if (!featuresOk) return result;

  const regs = await firmware.call(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES);
  result.attributes_status = statusName(regs.x0);
  if (regs.x0 !== Status.SUCCESS) {
    record('attributes', false, `ATTRIBUTES returned ${statusName(regs.x0)}`);
    return fail(`CLEAN_INV_MEMREGION_ATTRIBUTES returned ${statusName(regs.x0)} instead of SUCCESS`);
  }
  result.attributes = {
    global: (regs.x1 & 1n) === 1n,
    latency_us: Number(regs.x2 & LOW32),
    rate_limit: Number(regs.x3 & LOW32),
    breakeven_bytes: regs.x4,
  };
  const a = result.attributes;
  record('attributes', true, `global=${a.global} latency_us=${a.latency_us} rate_limit=${a.rate_limit}`);
  result.registered = true;
  return result;
}
