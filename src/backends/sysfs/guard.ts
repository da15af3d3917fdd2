import { ExitCode, MemregionError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Confirm, SysfsProbeReport } from '../types.js';

export type ProbeFn = () => Promise<SysfsProbeReport>;

const WARN_TEXT =
  'without a cache invalidation provider the kernel fails the region commit with ENXIO and WARNs ' +
  '"Failed to synchronize CPU cache state", which taints it';

/**
 * Writes that lead to a region commit need a provider: refuse unless the probe verdict is `supported`,
 * or `force` is given (then warn). Returns the warning given, if any.
 */
export async function requireProvider(
  probe: ProbeFn,
  force: boolean,
  log: Logger,
  what: string,
  why = WARN_TEXT,
): Promise<string | null> {
  const report = await probe();
  if (report.verdict === 'supported') return null;
  const reasons = report.reasons.length > 0 ? ` (${report.reasons.join('; ')})` : '';
  if (!force) {
    // An unknown verdict for want of privileges is a permission problem (77), as for `probe` itself.
    throw new MemregionError(
      `refusing to ${what}: the probe verdict is "${report.verdict}"${reasons}; ${why} (use --force to write anyway)`,
      report.needs_privileges ? ExitCode.NO_PERM : ExitCode.UNAVAILABLE,
    );
  }
  const warning = `--force: writing although the probe verdict is "${report.verdict}"; ${why}`;
  log.warn(warning);
  return warning;
}

/** Asks; a refusal ends the action before any write (exit 64). */
export async function requireConfirmation(confirm: Confirm, question: string): Promise<void> {
  if (!(await confirm(question))) throw new MemregionError('cancelled', ExitCode.USAGE);
}

/** The Node error code of a failed sysfs write, as an errno name. */
export const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException)?.code ?? 'EIO';
