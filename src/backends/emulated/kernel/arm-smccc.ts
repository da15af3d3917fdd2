/**
 * Arm SMCCC (DEN0028 v1.7) as the kernel spells it in include/linux/arm-smccc.h: function IDs, the
 * SMCCC_RET_* status codes, the version encoding, the conduit, and the register file of one call. Linux
 * 7.2's header stops at SMCCC_RET_INVALID_PARAMETER: RATE_LIMITED, BUSY and the CLEAN_INV_MEMREGION IDs
 * come from patch 1/2 of the provider's posting, as DEN0028 v1.7 numbers them.
 * Registers are u64 (BigInt); the kernel reads a status as `(s32)res.a0`.
 */

export const FunctionId = {
  /** ARM_SMCCC_VERSION_FUNC_ID */
  SMCCC_VERSION: 0x80000000,
  /** ARM_SMCCC_ARCH_FEATURES_FUNC_ID */
  SMCCC_ARCH_FEATURES: 0x80000001,
  /** ARM_SMCCC_ARCH_CLEAN_INV_MEMREGION (fast, SMC64, owner Arch, number 5) */
  CLEAN_INV_MEMREGION: 0xc0000005,
  /** ARM_SMCCC_ARCH_CLEAN_INV_MEMREGION_ATTRIBUTES (number 6) */
  CLEAN_INV_MEMREGION_ATTRIBUTES: 0xc0000006,
  /** PSCI_1_0_FN_PSCI_FEATURES (include/uapi/linux/psci.h): how psci_init_smccc() asks for SMCCC_VERSION. */
  PSCI_FEATURES: 0x8400000a,
} as const;

/** SMCCC_RET_* */
export const Status = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  NOT_REQUIRED: -2,
  INVALID_PARAMETER: -3,
  RATE_LIMITED: -4,
  BUSY: -5,
} as const;

export type StatusName = keyof typeof Status;
export const STATUS_NAMES = Object.keys(Status) as StatusName[];

/** CLEAN_INV_MEMREGION x3 bit 0: check the arguments, do nothing (never set by the provider). */
export const FLAG_DRYRUN = 1n;

export type Conduit = 'smc' | 'hvc' | 'none';

/** struct arm_smccc_res as DEN0028 names the registers: x0..x4 after the call, each u64. */
export interface SmcResult {
  readonly x0: bigint;
  readonly x1: bigint;
  readonly x2: bigint;
  readonly x3: bigint;
  readonly x4: bigint;
}

/** arm_smccc_1_1_invoke(): one firmware call through the conduit. */
export type SmcccInvoke = (fid: number, x1?: bigint, x2?: bigint, x3?: bigint) => Promise<SmcResult>;

/**
 * `(s32)reg`: the low 32 bits as a signed integer, as the kernel casts a status. A register already in
 * [0, 2^31) is read without making a new BigInt (the simulator casts a status on every call).
 */
export const s32 = (reg: bigint): number =>
  reg === 0n ? 0 : reg > 0n && reg < 0x8000_0000n ? Number(reg) : Number(BigInt.asIntN(32, reg));
/** `(u32)reg` / lower_32_bits(reg). */
export const lower32 = (reg: bigint): number => Number(BigInt.asUintN(32, reg));

/** ARM_SMCCC_VERSION_1_0 / _1_1: SMCCC_VERSION w0, bits 30:16 major, 15:0 minor. */
export const encodeVersion = (major: number, minor: number): number => major * 0x10000 + minor;
export const ARM_SMCCC_VERSION_1_0 = encodeVersion(1, 0);
export const ARM_SMCCC_VERSION_1_1 = encodeVersion(1, 1);
/** PSCI_VERSION_MAJOR/MINOR (the SMCCC and PSCI versions are encoded the same way). */
export const decodeVersion = (w0: number): { major: number; minor: number } => ({
  major: Math.floor(w0 / 0x10000) & 0xffff,
  minor: w0 & 0xffff,
});
export const MAX_VERSION_MAJOR = 0x7fff;
export const MAX_VERSION_MINOR = 0xffff;

/** Name of a status after the kernel's `(s32)` cast, or `UNKNOWN(n)`. */
export function statusName(x0: bigint | number): string {
  const signed = typeof x0 === 'bigint' ? s32(x0) : x0 | 0;
  for (const name of STATUS_NAMES) if (Status[name] === signed) return name;
  return `UNKNOWN(${signed})`;
}

/** Parses a status name as profiles spell it (`busy`, `RATE_LIMITED`, `invalid-parameter`). */
export function parseStatusName(text: string): number | undefined {
  const key = text.trim().toUpperCase().replace(/-/g, '_');
  return (STATUS_NAMES as string[]).includes(key) ? Status[key as StatusName] : undefined;
}
