import type { Logger } from '../../core/log.js';
import { type ProviderCheck, requireProviderOf } from '../region-flow.js';
import type { SysfsProbeReport } from '../types.js';
import { archFamily } from './platform.js';

export type ProbeFn = () => Promise<SysfsProbeReport>;

/**
 * What the kernel does with a region commit when no provider is registered, from the facts the probe
 * gathered (`region_commit`, `kernel`), never from the evidence's wording. It reproduces
 * cxl_region_invalidate_memregion() (drivers/cxl/core/region.c, Linux 6.2 and later): with
 * !cpu_cache_has_invalidate_memregion() it dev_WARN()s "Failed to synchronize CPU cache state" and the
 * commit fails with ENXIO; with CONFIG_CXL_REGION_INVALIDATION_TEST it logs "Bypassing
 * cpu_cache_invalidate_memregion() for testing!" and the commit succeeds without an invalidation. Before
 * 6.2 there is no such check: the commit succeeds and invalidates nothing.
 */
export function commitWithoutProvider(report: SysfsProbeReport): string {
  if (!hasInvalidationCheck(report)) {
    return 'this kernel has no cpu_cache_invalidate_memregion (Linux before 6.2): the commit goes through and invalidates nothing';
  }
  const facts = report.region_commit;
  if (facts?.invalidation_test === true || facts?.bypass_logged === true) {
    return 'this kernel is built with CONFIG_CXL_REGION_INVALIDATION_TEST: the commit goes through and the kernel skips the invalidation ("Bypassing cpu_cache_invalidate_memregion() for testing!")';
  }
  return 'without a cache invalidation provider the kernel fails the region commit with ENXIO and WARNs "Failed to synchronize CPU cache state", which taints it';
}

/**
 * Whether the kernel's region commit checks for an invalidation provider (Linux 6.2 and later, which
 * brought cpu_cache_invalidate_memregion). The symbol or CONFIG_ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION
 * proves it (also on a distribution kernel whose release predates 6.2 but carries the backport). Their
 * absence proves the opposite only on x86, which selects the option since it exists (arch/x86/Kconfig):
 * elsewhere include/linux/memregion.h's stubs stand in (has_invalidate false) and the CXL code still
 * checks, so there the release decides.
 */
function hasInvalidationCheck(report: SysfsProbeReport): boolean {
  const facts = report.region_commit;
  if (facts?.invalidate_symbol === true || facts?.arch_has_invalidate === true) return true;
  const arch = report.kernel?.arch ?? null;
  const x86 = arch !== null && archFamily(arch) === 'x86';
  if (x86 && (facts?.invalidate_symbol === false || facts?.arch_has_invalidate === false)) return false;
  return !releaseBefore(report, 6, 2);
}

/** Whether the probed kernel's release (`kernel.release`, e.g. 6.1.0-50-amd64) is older than major.minor. */
function releaseBefore(report: SysfsProbeReport, major: number, minor: number): boolean {
  // A partial document (a caller's own probe function) may lack the kernel part.
  const release = report.kernel?.release ?? null;
  const match = release === null ? null : /^(\d+)\.(\d+)/.exec(release);
  if (!match) return false;
  const [have, sub] = [Number(match[1]), Number(match[2])];
  return have < major || (have === major && sub < minor);
}

/** The probe verdict as the provider rule (region-flow.ts) sees it: only `supported` has a provider. */
export async function providerOfProbe(probe: ProbeFn): Promise<ProviderCheck> {
  const report = await probe();
  if (report.verdict === 'supported') return { available: true };
  const reasons = report.reasons.length > 0 ? ` (${report.reasons.join('; ')})` : '';
  return {
    available: false,
    why: `the probe verdict is "${report.verdict}"${reasons}`,
    needsPrivileges: report.needs_privileges === true,
    consequence: commitWithoutProvider(report),
  };
}

/**
 * Writes that lead to a region commit need a provider: the region flows' rule (refuse unless the probe
 * verdict is `supported`, or `force`), with the `--force` warning also logged. Returns that warning.
 */
export async function requireProvider(
  probe: ProbeFn,
  force: boolean,
  log: Logger,
  what: string,
  why?: string,
): Promise<string | null> {
  const warning = await requireProviderOf(await providerOfProbe(probe), force, what, why);
  if (warning) log.warn(warning);
  return warning;
}

/** The Node error code of a failed sysfs write, as an errno name. */
export const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException)?.code ?? 'EIO';
