/**
 * The errno names a backend reports for an invalidation: those a cache-maintenance provider or the
 * kernel around it can return (include/uapi/asm-generic/errno-base.h, errno.h), by name as the CLI prints
 * them.
 */
export type Errno =
  | 'EPERM'
  | 'EIO'
  | 'ENXIO'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'EACCES'
  | 'EBUSY'
  | 'ENODEV'
  | 'EINVAL'
  | 'ENOSPC'
  | 'EOPNOTSUPP'
  | 'ETIMEDOUT'
  | 'EINTR';

/** Linux errno numbers (asm-generic), for reports that want the number too. */
export const ERRNO_NUMBER: Record<Errno, number> = {
  EPERM: 1,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
};

const BY_NUMBER = new Map<number, Errno>(
  Object.entries(ERRNO_NUMBER).map(([name, number]) => [number, name as Errno]),
);

/** The errno name of a kernel return value such as -16 (0 → null; an unknown number → null too). */
export function errnoOfReturn(ret: number): Errno | null {
  return ret === 0 ? null : (BY_NUMBER.get(-ret) ?? null);
}

export const isErrno = (text: string): text is Errno => Object.hasOwn(ERRNO_NUMBER, text);
