import {
  ARM_SMCCC_VERSION_1_0,
  ARM_SMCCC_VERSION_1_1,
  type Conduit,
  FunctionId,
  lower32,
  type SmcccInvoke,
  Status,
  s32,
} from './arm-smccc.js';

/**
 * What the kernel knows about SMCCC after boot (drivers/firmware/smccc/smccc.c: `smccc_version`,
 * `smccc_conduit`, both set once by arm_smccc_version_init()).
 */
export interface SmcccState {
  /** arm_smccc_get_version(): the u32 SMCCC_VERSION answer, ARM_SMCCC_VERSION_1_0 until told better. */
  readonly version: number;
  /** The conduit the firmware was probed through (SMC or HVC), NONE when PSCI found none. */
  readonly probedConduit: Conduit;
  /** The conduit arm_smccc_version_init() published: NONE unless the version is at least 1.1. */
  readonly conduit: Conduit;
}

/**
 * drivers/firmware/psci/psci.c psci_init_smccc(): assume SMCCC 1.0; if PSCI_FEATURES says SMCCC_VERSION
 * exists, call it, and only an answer >= 1.1 (compared as u32) publishes the version and the conduit
 * through arm_smccc_version_init(). Without a conduit PSCI is never probed, so the version stays 1.0.
 */
export async function psciInitSmccc(invoke: SmcccInvoke, conduit: Conduit): Promise<SmcccState> {
  let version = ARM_SMCCC_VERSION_1_0;
  let published: Conduit = 'none';
  if (conduit !== 'none') {
    const feature = s32((await invoke(FunctionId.PSCI_FEATURES, BigInt(FunctionId.SMCCC_VERSION))).x0);
    if (feature !== Status.NOT_SUPPORTED) {
      const ret = lower32((await invoke(FunctionId.SMCCC_VERSION)).x0);
      if (ret >= ARM_SMCCC_VERSION_1_1) {
        version = ret;
        published = conduit;
      }
    }
  }
  return { version, probedConduit: conduit, conduit: published };
}

/** drivers/firmware/smccc/smccc.c arm_smccc_get_version(). */
export const armSmcccGetVersion = (state: SmcccState): number => state.version;

/** drivers/firmware/smccc/smccc.c arm_smccc_1_1_get_conduit(): NONE below SMCCC 1.1. */
export const armSmccc11GetConduit = (state: SmcccState): Conduit =>
  state.version < ARM_SMCCC_VERSION_1_1 ? 'none' : state.conduit;
