/** Arm SMCCC (DEN0028 v1.7) function IDs, status codes and the provider's status→errno mapping. */

export const FunctionId = {
  SMCCC_VERSION: 0x80000000,
  SMCCC_ARCH_FEATURES: 0x80000001,
  CLEAN_INV_MEMREGION: 0xc0000005,
  CLEAN_INV_MEMREGION_ATTRIBUTES: 0xc0000006,
} as const;

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

/** CLEAN_INV_MEMREGION x3 bit 0: check the arguments, do nothing. */
export const FLAG_DRYRUN = 1n;

export const U64_MAX = (1n << 64n) - 1n;

/** Name of a status value as firmware returned it (interpreted as signed 32-bit), or `UNKNOWN(n)`. */
export function statusName(status: number): string {
  const signed = status | 0;
  for (const name of STATUS_NAMES) if (Status[name] === signed) return name;
  return `UNKNOWN(${signed})`;
}

/** Parses a status name as profiles spell it (`busy`, `RATE_LIMITED`, `invalid-parameter`). */
export function parseStatusName(text: string): number | undefined {
  const key = text.trim().toUpperCase().replace(/-/g, '_');
  return (STATUS_NAMES as string[]).includes(key) ? Status[key as StatusName] : undefined;
}

export type Errno = 'EINVAL' | 'EOPNOTSUPP' | 'EAGAIN' | 'EBUSY' | 'EIO' | 'ENODEV' | 'ENXIO';

/** Linux errno numbers (asm-generic), for reports that want the number too. */
export const ERRNO_NUMBER: Record<Errno, number> = {
  EIO: 5,
  ENXIO: 6,
  EAGAIN: 11,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  EOPNOTSUPP: 95,
};

/** Provider variants: the RFC maps NOT_REQUIRED to EOPNOTSUPP, v1/v2 to EIO. */
export function statusToErrno(status: number, rfcMapping = false): Errno | null {
  switch (status | 0) {
    case Status.SUCCESS:
      return null;
    case Status.NOT_SUPPORTED:
      return 'EOPNOTSUPP';
    case Status.INVALID_PARAMETER:
      return 'EINVAL';
    case Status.RATE_LIMITED:
      return 'EAGAIN';
    case Status.BUSY:
      return 'EBUSY';
    case Status.NOT_REQUIRED:
      return rfcMapping ? 'EOPNOTSUPP' : 'EIO';
    default:
      return 'EIO';
  }
}

export const isTransient = (errno: Errno | null): boolean => errno === 'EBUSY' || errno === 'EAGAIN';

/** SMCCC_VERSION w0 encoding: bits 30:16 major, 15:0 minor. */
export const encodeVersion = (major: number, minor: number): number =>
  ((major & 0x7fff) << 16) | (minor & 0xffff);
export const decodeVersion = (w0: number): { major: number; minor: number } => ({
  major: (w0 >>> 16) & 0x7fff,
  minor: w0 & 0xffff,
});
