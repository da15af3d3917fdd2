/**
 * The region-flow policy both backends follow for `invalidate --region` and `stress --region`: what is
 * refused and with which exit code, the confirmation questions, and how a commit whose invalidation
 * failed is reported. Linux 7.x commits the region whatever cpu_cache_invalidate_memregion() returned
 * (drivers/cxl/core/region.c cxl_region_invalidate_memregion()), so the report must say it.
 */
import { ExitCode, MemregionError } from '../core/errors.js';
import { type Errno, errnoOfReturn } from './errno.js';

export const alreadyCommitted = (name: string): MemregionError =>
  new MemregionError(
    `${name} is already committed: the kernel invalidated its range when it was committed; use --cycle to decommit and commit it again (only when nothing uses it)`,
    ExitCode.USAGE,
  );

export const commitQuestion = (name: string, cycle: boolean, what: string): string =>
  cycle
    ? `Decommit and recommit ${name} (${what})? The kernel invalidates CPU caches for its range.`
    : `Commit ${name} (${what})? The kernel invalidates CPU caches for its range and the region starts decoding.`;

export const ignoredInvalidationWarning = (name: string, errno: string): string =>
  `the kernel ignored the failed cache invalidation of ${name} (${errno}) and committed it: stale cache lines may remain for its range`;

export const unknownInvalidationWarning = (name: string, reason: string): string =>
  `the outcome of ${name}'s cache invalidation cannot be known (${reason}): the kernel commits the region even when it fails`;

/**
 * The first failure among the return values of cpu_cache_invalidate_memregion() a flow's writes made
 * (as the return probe saw them), as an errno name: null when every call returned 0.
 */
export function firstInvalidationError(
  returns: ReadonlyArray<number | string | null | undefined>,
): Errno | null {
  for (const ret of returns) {
    if (ret === 0 || ret === '0' || ret === null || ret === undefined) continue;
    const value = typeof ret === 'number' ? ret : Number(ret);
    if (Number.isInteger(value)) return errnoOfReturn(value) ?? 'EIO';
    if (typeof ret === 'string' && /^E[A-Z]+$/.test(ret)) return ret as Errno;
  }
  return null;
}
