import type { Clock } from '../../../core/clock.js';
import {
  type Conduit,
  decodeVersion,
  FunctionId,
  lower32,
  type SmcccInvoke,
  type SmcResult,
  s32,
  statusName,
} from '../kernel/arm-smccc.js';
import type { InitResult } from '../kernel/arm-smccc-cache.js';
import { psciInitSmccc, type SmcccState } from '../kernel/smccc.js';
import type { EventBus } from './events.js';

export interface ProviderAttributes {
  global: boolean;
  /** x2, low 32 bits. */
  latency_us: number;
  /** x3, low 32 bits (the kernel keeps a u32). */
  rate_limit: number;
  /** x4: reported, never read by the provider. */
  breakeven_bytes: bigint;
}

export interface DiscoveryStep {
  step: 'version' | 'conduit' | 'features' | 'attributes';
  ok: boolean;
  detail: string;
}

export interface DiscoveryResult {
  registered: boolean;
  /** What arm_smccc_get_version() returned; `assumed` when it is the 1.0 default, not an answer. */
  version: { major: number; minor: number; assumed: boolean };
  conduit: Conduit;
  /** ARCH_FEATURES' verdict for each function; null when the initcall never asked. */
  functions: { clean_inv_memregion: boolean | null; attributes: boolean | null };
  attributes: ProviderAttributes | null;
  attributes_status: string | null;
  steps: DiscoveryStep[];
  /** Why the provider did not register (empty when it did). */
  reasons: string[];
}

const hex = (id: number) => `0x${id.toString(16)}`;

/** Records the discovery calls the initcalls make, so the result can say what each one answered. */
export function recordingInvoke(invoke: SmcccInvoke) {
  const calls: Array<{ fid: number; x1: bigint; res: SmcResult }> = [];
  const recorded: SmcccInvoke = async (fid, x1 = 0n, x2 = 0n, x3 = 0n) => {
    const res = await invoke(fid, x1, x2, x3);
    calls.push({ fid, x1, res });
    return res;
  };
  return { invoke: recorded, calls };
}

/** psci_init_smccc() at boot, through a recording firmware. */
export async function bootSmccc(invoke: SmcccInvoke, conduit: Conduit) {
  const recorder = recordingInvoke(invoke);
  const state = await psciInitSmccc(recorder.invoke, conduit);
  return { state, calls: recorder.calls };
}

/**
 * The discovery report: the initcall's own result (kernel/arm-smccc-cache.ts) told step by step from the
 * calls it made, each step an event.
 */
export function describeDiscovery(
  smccc: SmcccState,
  calls: ReadonlyArray<{ fid: number; x1: bigint; res: SmcResult }>,
  init: InitResult,
  clock: Clock,
  events: EventBus,
): DiscoveryResult {
  const steps: DiscoveryStep[] = [];
  const reasons: string[] = [];
  const record = (step: DiscoveryStep['step'], ok: boolean, detail: string) => {
    steps.push({ step, ok, detail });
    if (events.enabled) events.emit({ type: 'discovery', time_us: clock.now(), step, ok, detail });
  };
  const version = decodeVersion(smccc.version);
  const answered = smccc.conduit !== 'none';
  const asked = (fid: number) =>
    calls.find((c) => c.fid === FunctionId.SMCCC_ARCH_FEATURES && Number(c.x1) === fid)?.res;
  const cleanInv = asked(FunctionId.CLEAN_INV_MEMREGION);
  const attrs = asked(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES);
  const attributesCall = calls.find((c) => c.fid === FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES)?.res;
  const result: DiscoveryResult = {
    registered: init.ret === null,
    version: { ...version, assumed: !answered },
    conduit: smccc.probedConduit,
    functions: {
      clean_inv_memregion: cleanInv ? s32(cleanInv.x0) >= 0 : null,
      attributes: attrs ? s32(attrs.x0) >= 0 : null,
    },
    attributes: null,
    attributes_status: attributesCall ? statusName(attributesCall.x0) : null,
    steps,
    reasons,
  };

  const v = `v${version.major}.${version.minor}`;
  if (init.ret !== null && init.failure.at === 'version') {
    if (smccc.probedConduit === 'none') {
      record('version', false, 'no SMCCC conduit: PSCI was never probed, SMCCC 1.0 assumed');
      reasons.push(
        'no SMCCC conduit (neither SMC nor HVC): the kernel reads SMCCC 1.0 and the provider needs 1.1 or later',
      );
    } else if (!answered && version.major === 1 && version.minor === 0) {
      record('version', false, 'SMCCC_VERSION is not implemented: SMCCC 1.0 assumed');
      reasons.push('SMCCC 1.0 (SMCCC_VERSION is not implemented): the provider needs SMCCC 1.1 or later');
    } else {
      record('version', false, `SMCCC ${v}`);
      reasons.push(`SMCCC ${v} is older than 1.1: the provider needs 1.1 or later`);
    }
    return result;
  }
  record('version', true, `SMCCC ${v}`);
  if (init.ret !== null && init.failure.at === 'conduit') {
    record('conduit', false, 'no SMCCC conduit (neither SMC nor HVC)');
    reasons.push('no SMCCC conduit: firmware calls cannot be made (neither SMC nor HVC is available)');
    return result;
  }
  record('conduit', true, `conduit ${smccc.conduit.toUpperCase()}`);
  const featuresDetail = [
    cleanInv &&
      `ARCH_FEATURES(CLEAN_INV_MEMREGION ${hex(FunctionId.CLEAN_INV_MEMREGION)}) = ${s32(cleanInv.x0)}`,
    attrs && `ARCH_FEATURES(ATTRIBUTES ${hex(FunctionId.CLEAN_INV_MEMREGION_ATTRIBUTES)}) = ${s32(attrs.x0)}`,
  ]
    .filter(Boolean)
    .join(', ');
  if (init.ret !== null && init.failure.at === 'features_clean_inv') {
    record('features', false, featuresDetail);
    reasons.push(
      `firmware does not implement CLEAN_INV_MEMREGION (ARCH_FEATURES returned ${statusName(init.failure.x0)})`,
    );
    return result;
  }
  if (init.ret !== null && init.failure.at === 'features_attributes') {
    record('features', false, featuresDetail);
    reasons.push(
      `firmware does not implement CLEAN_INV_MEMREGION_ATTRIBUTES (ARCH_FEATURES returned ${statusName(init.failure.x0)})`,
    );
    return result;
  }
  record('features', true, featuresDetail);
  if (init.ret !== null) {
    const status = statusName((init.failure as { x0: bigint }).x0);
    record('attributes', false, `ATTRIBUTES returned ${status}`);
    reasons.push(`CLEAN_INV_MEMREGION_ATTRIBUTES returned ${status} instead of SUCCESS`);
    return result;
  }
  const regs = init.attributes;
  const a: ProviderAttributes = {
    global: (regs.x1 & 1n) === 1n,
    latency_us: lower32(regs.x2),
    rate_limit: lower32(regs.x3),
    breakeven_bytes: regs.x4,
  };
  result.attributes = a;
  record('attributes', true, `global=${a.global} latency_us=${a.latency_us} rate_limit=${a.rate_limit}`);
  return result;
}
