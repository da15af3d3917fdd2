import type { Logger } from '../../core/log.js';
import type { Evidence, SysfsProbeReport } from '../types.js';
import { readHisiHhaBound, readPsciDebugfs, readPsciMethod, readSocId } from './firmware.js';
import type { SysRoot } from './fs.js';
import { findSymbols } from './kallsyms.js';
import { configOption, isBuilt, readKernelConfig } from './kconfig.js';
import { type JournalReader, readKernelLog } from './kmsg.js';
import { scanKernelLog } from './logfacts.js';
import { readLockdown, readPlatform } from './platform.js';
import { INVALIDATE_SYMBOL } from './tracefs.js';
import { readTracing } from './tracing.js';
import { decide, SYMBOLS } from './verdict.js';

export interface ProbeSysfsOptions {
  /** Second source of the kernel log when dev/kmsg is unreadable or has wrapped; default `journalctl -k -b` at root `/` only. */
  journal?: JournalReader;
  /**
   * Gather only the evidence the verdict needs (probeVerdict): the same verdict, reasons, provider and
   * needs_privileges; evidence, warnings, SOC_ID, lockdown and tracing only as far as they were read.
   */
  verdictOnly?: boolean;
}

/**
 * The verdict of probeSysfs, from only the evidence it needs: on x86 the config and cpuinfo (no
 * kallsyms, no kernel log), on arm64 no kallsyms when the config is readable, and never SOC_ID, lockdown
 * or tracefs. An `unknown` verdict takes the full probe, whose every denial decides needs_privileges.
 * For the commands that need a verdict before they write (invalidate --region, erase, stress --region).
 */
export async function probeVerdict(
  sys: SysRoot,
  log: Logger,
  options: Omit<ProbeSysfsOptions, 'verdictOnly'> = {},
): Promise<SysfsProbeReport> {
  const report = await probeSysfs(sys, log, { ...options, verdictOnly: true });
  return report.verdict === 'unknown' ? probeSysfs(sys, log, options) : report;
}

const NOT_EXAMINED = 'not examined (only the evidence the verdict needs was read)';

/** Options shown in the evidence, the framework option first (shown even when absent). */
const CONFIG_SHOWN = {
  arm64: ['GENERIC_CPU_CACHE_MAINTENANCE', 'ARM_SMCCC_CACHE', 'HISI_SOC_HHA'],
  other: ['ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION'],
  always: ['CXL_REGION_INVALIDATION_TEST', 'NVDIMM_SECURITY_TEST', 'KPROBE_EVENTS'],
};

/** Evidence report and verdict of DESIGN §6: every conclusion names the file it came from. */
export async function probeSysfs(
  sys: SysRoot,
  log: Logger,
  options: ProbeSysfsOptions = {},
): Promise<SysfsProbeReport> {
  const evidence: Evidence[] = [];
  const note = (source: string, found: boolean, detail: string) => {
    evidence.push({ source, found, detail });
    log.debug(`probe: ${source}: ${detail}`);
  };

  const platform = await readPlatform(sys);
  note('/proc/sys/kernel/osrelease', platform.release !== null, platform.release ?? 'not readable');
  note(
    platform.archSource ?? '/proc/sys/kernel/arch',
    platform.arch !== null,
    platform.arch === null
      ? 'not readable, and /proc/cpuinfo has no known shape'
      : platform.archSource === '/proc/cpuinfo'
        ? `${platform.arch} (from the fields of cpuinfo; no /proc/sys/kernel/arch)`
        : platform.arch,
  );
  if (platform.family === 'x86') {
    note(
      '/proc/cpuinfo',
      platform.hypervisor !== null,
      platform.hypervisor === null
        ? 'no flags line readable'
        : platform.hypervisor
          ? 'flags include hypervisor: a guest'
          : 'flags without hypervisor: bare metal',
    );
  }

  const config = await readKernelConfig(sys, platform.release);
  const option = (name: string) => (config.readable ? configOption(config, name) : null);
  const names = [
    ...(platform.family === 'arm64' ? CONFIG_SHOWN.arm64 : CONFIG_SHOWN.other),
    ...CONFIG_SHOWN.always,
  ];
  const shown = names
    .filter((name, index) => index === 0 || option(name) !== undefined)
    .map((name) => `${name}=${option(name) ?? 'absent'}`);
  note(config.source, config.readable, config.readable ? shown.join(' ') : config.detail);

  const arm64 = platform.family === 'arm64';
  const full = options.verdictOnly !== true;
  // The verdict falls back on kallsyms only where the config is unreadable (verdict.ts, decideFirst).
  const kallsyms =
    full || (arm64 && !config.readable)
      ? await findSymbols(sys, [...SYMBOLS.api, ...SYMBOLS.smccc, ...SYMBOLS.hisi])
      : null;
  if (kallsyms) {
    note(
      '/proc/kallsyms',
      kallsyms.readable,
      kallsyms.readable
        ? `${kallsyms.found.size ? [...kallsyms.found].sort().join(', ') : 'none of the memregion symbols'}${kallsyms.addressesHidden ? ' (addresses hidden from this reader)' : ''}`
        : `not readable${kallsyms.denied ? ' (permission denied)' : ''}`,
    );
  }
  const has = (names: string[]) => (kallsyms?.readable ? names.some((n) => kallsyms.found.has(n)) : null);

  // Only arm64 verdicts read the kernel log (x86 and other architectures are decided without it).
  const kernelLog = full || arm64 ? await readKernelLog(sys, options.journal) : null;
  for (const source of kernelLog?.tried ?? []) note(source.source, source.readable, source.detail);
  const facts = scanKernelLog(kernelLog?.messages ?? []);
  const logSource = kernelLog?.source ?? '/dev/kmsg';

  const debugfs = arm64 ? await readPsciDebugfs(sys) : null;
  const dt = arm64 ? await readPsciMethod(sys) : null;
  if (debugfs) note('/sys/kernel/debug/psci', debugfs.readable, debugfs.detail);
  if (dt) {
    note(
      dt.source ?? '/proc/device-tree/psci/method',
      dt.method !== null,
      dt.method
        ? `PSCI conduit ${dt.method}`
        : dt.deviceTreeWithoutPsci
          ? 'device tree has no psci method'
          : dt.acpi
            ? 'absent (ACPI machine: the conduit comes from the FADT)'
            : 'absent',
    );
  }
  if (arm64 && kernelLog?.readable) {
    if (facts.smcccLine) note(logSource, true, facts.smcccLine);
    if (facts.conduitProbe)
      note(logSource, true, `psci: probing for conduit method from ${facts.conduitProbe}.`);
    if (facts.noPsci) note(logSource, true, facts.noPsci);
    if (facts.kvm) note(logSource, true, `${facts.kvm}: a KVM guest, conduit hvc`);
    if (facts.initcall) note(logSource, true, facts.initcall.line);
    note(
      logSource,
      facts.registered !== null,
      facts.registered ?? 'no "SMCCC cache clean+invalidate provider registered" line',
    );
  }
  if (facts.syncFailed) note(logSource, true, facts.syncFailed);
  if (facts.bypass) note(logSource, true, facts.bypass);

  const hisi = arm64 ? await readHisiHhaBound(sys) : { driver: false, devices: [] };
  if (hisi.driver) {
    note(
      '/sys/bus/platform/drivers/hisi_soc_hha',
      hisi.devices.length > 0,
      hisi.devices.length ? `bound: ${hisi.devices.join(', ')}` : 'driver loaded, no device bound',
    );
  }

  const soc = full ? await readSocId(sys) : null;
  const socId =
    soc ??
    (facts.socId
      ? { id: facts.socId.id, family: null, revision: facts.socId.revision, machine: null, source: logSource }
      : null);
  if (socId)
    note(
      socId.source,
      true,
      `SOC_ID ${socId.id}${socId.revision ? ` revision ${socId.revision}` : ''}${socId.machine ? ` (${socId.machine})` : ''}`,
    );

  const lockdown = full ? await readLockdown(sys) : { mode: null, readable: false, detail: NOT_EXAMINED };
  if (full) note('/sys/kernel/security/lockdown', lockdown.mode !== null, lockdown.detail);
  const tracing = full
    ? await readTracing(sys, config.readable ? option('KPROBE_EVENTS') : null, lockdown.mode)
    : { kprobes: false, tracefs: null, reason: NOT_EXAMINED };
  if (full) note(tracing.tracefs ?? '/sys/kernel/tracing', tracing.kprobes, tracing.reason);

  const smcccVersion =
    debugfs?.smcccVersion ?? facts.smcccVersion ?? (facts.psciVersion?.startsWith('0.') ? '1.0' : null);
  const conduit: 'smc' | 'hvc' | 'none' | null = !arm64
    ? null
    : (dt?.method ?? (facts.kvm ? 'hvc' : facts.noPsci || dt?.deviceTreeWithoutPsci ? 'none' : null));

  const warnings: string[] = [];
  if (isBuilt(option('CXL_REGION_INVALIDATION_TEST') ?? undefined) || facts.bypass) {
    warnings.push(
      `test bypass on (${facts.bypass ? `kernel log: ${facts.bypass}` : `${config.source}: CONFIG_CXL_REGION_INVALIDATION_TEST=y`}): CXL region commit skips cache invalidation when no provider exists; data integrity is off`,
    );
  }
  if (isBuilt(option('NVDIMM_SECURITY_TEST') ?? undefined)) {
    warnings.push(
      `test bypass on (${config.source}: CONFIG_NVDIMM_SECURITY_TEST=y): NVDIMM region enable skips cache invalidation when no provider exists; data integrity is off`,
    );
  }

  const decision = decide({
    platform,
    configReadable: config.readable,
    configSource: config.source,
    option,
    has,
    facts,
    logComplete: kernelLog?.completeFromBoot ?? null,
    logReadable: kernelLog?.readable ?? false,
    logSource,
    smcccVersion,
    conduit,
    hisiBound: hisi.devices,
  });
  const needsPrivileges =
    decision.verdict === 'unknown' &&
    (Boolean(kernelLog?.denied) ||
      config.denied ||
      Boolean(kallsyms?.denied) ||
      Boolean(debugfs?.denied) ||
      platform.cpuinfoDenied);

  const report: SysfsProbeReport = {
    backend: 'sysfs',
    supported: decision.verdict === 'supported',
    verdict: decision.verdict,
    smccc: { version: smcccVersion, conduit },
    functions: decision.smcccRegistered
      ? { clean_inv_memregion: true, attributes: true }
      : { clean_inv_memregion: null, attributes: null },
    attributes: null,
    provider: decision.provider,
    reasons: decision.verdict === 'supported' ? [] : decision.reasons,
    needs_privileges: needsPrivileges,
    evidence,
    warnings,
    kernel: { release: platform.release, arch: platform.arch },
    soc_id: socId
      ? { id: socId.id, family: socId.family, revision: socId.revision, machine: socId.machine }
      : null,
    lockdown: lockdown.mode,
    tracing: { kprobes: tracing.kprobes, tracefs: tracing.tracefs, reason: tracing.reason },
    kernel_log: {
      readable: kernelLog?.readable ?? false,
      complete_from_boot: kernelLog?.completeFromBoot ?? null,
      source: logSource,
    },
    region_commit: {
      invalidate_symbol: kallsyms?.readable ? kallsyms.found.has(INVALIDATE_SYMBOL) : null,
      arch_has_invalidate: config.readable
        ? isBuilt(configOption(config, 'ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION'))
        : null,
      invalidation_test: config.readable
        ? isBuilt(configOption(config, 'CXL_REGION_INVALIDATION_TEST'))
        : null,
      bypass_logged: kernelLog?.readable ? facts.bypass !== null : null,
    },
  };
  if (decision.smcccRegistered) {
    report.attributes_note =
      'Linux does not expose the firmware attributes (latency, rate limit, global) to userspace';
  }
  return report;
}
