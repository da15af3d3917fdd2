/**
 * A complete sysfs probe document for tests that hand a flow its own probe answer: every field
 * SysfsProbeReport names, neutral (no evidence, nothing known about the kernel) unless given, so that a
 * fake stays in step with the type and a test cannot pass against a probe shape that no longer exists.
 */
import type { SysfsProbeReport, Verdict } from '../../src/backends/types.js';

export function sysfsProbeReport(
  verdict: Verdict,
  fields: Partial<Omit<SysfsProbeReport, 'backend' | 'verdict'>> = {},
): SysfsProbeReport {
  return {
    backend: 'sysfs',
    supported: verdict === 'supported',
    verdict,
    smccc: { version: null, conduit: null },
    functions: { clean_inv_memregion: null, attributes: null },
    attributes: null,
    provider: { registered: verdict === 'supported' },
    reasons: [],
    needs_privileges: false,
    evidence: [],
    warnings: [],
    kernel: { release: null, arch: null },
    soc_id: null,
    lockdown: null,
    tracing: { kprobes: false, tracefs: null, reason: 'not probed' },
    kernel_log: { readable: false, complete_from_boot: null, source: '/dev/kmsg' },
    ...fields,
  };
}
