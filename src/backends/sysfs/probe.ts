import type { Logger } from '../../core/log.js';
import type { Evidence, ProbeReport, Verdict } from '../types.js';
import { readHisiHhaBound, readPsciDebugfs, readPsciMethod, readSocId } from './firmware.js';
import type { SysRoot } from './fs.js';
import { findSymbols } from './kallsyms.js';
import { configOption, isBuilt, readKernelConfig } from './kconfig.js';
import { type JournalReader, readKernelLog } from './kmsg.js';
import { scanKernelLog, versionAtLeast } from './logfacts.js';
import { readLockdown, readPlatform } from './platform.js';
import { readTracing } from './tracing.js';

export interface ProbeSysfsOptions {
  /** Second source of the kernel log when dev/kmsg is unreadable or has wrapped; default `journalctl -k -b` at root `/` only. */
  journal?: JournalReader;
}

const SYMBOLS = {
  api: ['cpu_cache_invalidate_memregion', 'cpu_cache_has_invalidate_memregion'],
  smccc: ['smccc_cache_wbinv', 'smccc_cache_init', 'arm64_smccc_cache_wbinv', 'arm64_smccc_cache_init'],
  hisi: ['hisi_soc_hha_wbinv'],
};

/** Options shown in the evidence, the framework option first (shown even when absent). */
const CONFIG_SHOWN = {
  arm64: ['GENERIC_CPU_CACHE_MAINTENANCE', 'ARM_SMCCC_CACHE', 'HISI_SOC_HHA'],
  other: ['ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION'],
  always: ['CXL_REGION_INVALIDATION_TEST', 'NVDIMM_SECURITY_TEST', 'KPROBE_EVENTS'],
};

const INITCALL_HINT =
  'booting with initcall_debug logs the provider initcall (smccc_cache_init) and its return code';
const ERRNO_NAMES: Record<number, string> = {
  [-19]: 'ENODEV',
  [-12]: 'ENOMEM',
  [-95]: 'EOPNOTSUPP',
  [-22]: 'EINVAL',
};

/** Evidence report and verdict of DESIGN §6: every conclusion names the file it came from. */
export async function probeSysfs(
  sys: SysRoot,
  log: Logger,
  options: ProbeSysfsOptions = {},
): Promise<ProbeReport> {
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

  const kallsyms = await findSymbols(sys, [...SYMBOLS.api, ...SYMBOLS.smccc, ...SYMBOLS.hisi]);
  note(
    '/proc/kallsyms',
    kallsyms.readable,
    kallsyms.readable
      ? `${kallsyms.found.size ? [...kallsyms.found].sort().join(', ') : 'none of the memregion symbols'}${kallsyms.addressesHidden ? ' (addresses hidden from this reader)' : ''}`
      : `not readable${kallsyms.denied ? ' (permission denied)' : ''}`,
  );
  const has = (names: string[]) => (kallsyms.readable ? names.some((n) => kallsyms.found.has(n)) : null);

  const kernelLog = await readKernelLog(sys, options.journal);
  for (const source of kernelLog.tried) note(source.source, source.readable, source.detail);
  const facts = scanKernelLog(kernelLog.messages);
  const logSource = kernelLog.source;

  const arm64 = platform.family === 'arm64';
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
  if (arm64 && kernelLog.readable) {
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

  const soc = await readSocId(sys);
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

  const lockdown = await readLockdown(sys);
  note('/sys/kernel/security/lockdown', lockdown.mode !== null, lockdown.detail);
  const tracing = await readTracing(sys, config.readable ? option('KPROBE_EVENTS') : null, lockdown.mode);
  note(tracing.tracefs ?? '/sys/kernel/tracing', tracing.kprobes, tracing.reason);

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
    logComplete: kernelLog.completeFromBoot,
    logReadable: kernelLog.readable,
    logSource,
    smcccVersion,
    conduit,
    hisiBound: hisi.devices,
  });
  const needsPrivileges =
    decision.verdict === 'unknown' &&
    (kernelLog.denied ||
      config.denied ||
      Boolean(kallsyms.denied) ||
      Boolean(debugfs?.denied) ||
      platform.cpuinfoDenied);

  const report: ProbeReport = {
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
      readable: kernelLog.readable,
      complete_from_boot: kernelLog.completeFromBoot,
      source: logSource,
    },
  };
  if (decision.smcccRegistered) {
    report.attributes_note =
      'Linux does not expose the firmware attributes (latency, rate limit, global) to userspace';
  }
  return report;
}

interface DecisionInput {
  platform: Awaited<ReturnType<typeof readPlatform>>;
  configReadable: boolean;
  configSource: string;
  option: (name: string) => string | undefined | null;
  has: (names: string[]) => boolean | null;
  facts: ReturnType<typeof scanKernelLog>;
  logComplete: boolean | null;
  logReadable: boolean;
  logSource: string;
  smcccVersion: string | null;
  conduit: 'smc' | 'hvc' | 'none' | null;
  hisiBound: string[];
}

interface Decision {
  verdict: Verdict;
  reasons: string[];
  provider: ProbeReport['provider'];
  smcccRegistered: boolean;
}

const verdictOf = (
  verdict: Verdict,
  reasons: string[],
  provider: ProbeReport['provider'],
  smcccRegistered = false,
): Decision => ({
  verdict,
  reasons,
  provider,
  smcccRegistered,
});

/** The order of reasons of DESIGN §6: architecture, framework, provider built, SMCCC, registration. */
function decide(input: DecisionInput): Decision {
  const { platform, facts, option } = input;
  if (platform.family === null) {
    return verdictOf(
      'unknown',
      ['architecture unknown: /proc/sys/kernel/arch and /proc/cpuinfo are not readable'],
      { registered: null },
    );
  }
  if (platform.family === 'x86') return decideX86(input);
  if (platform.family !== 'arm64') {
    return verdictOf(
      'unsupported',
      [
        `${platform.arch}: memregion invalidation providers exist only for arm64 (SMCCC, HiSilicon HHA) and x86 (WBINVD)`,
      ],
      { registered: false },
    );
  }

  if (facts.registered) {
    return verdictOf('supported', [], { registered: true, name: 'arm_smccc_cache' }, true);
  }
  if (input.hisiBound.length > 0) {
    return verdictOf('supported', [], { registered: true, name: 'hisi_soc_hha' });
  }

  const fromConfig = (names: string[]) =>
    input.configReadable ? names.some((n) => isBuilt(option(n) ?? undefined)) : null;
  const api =
    fromConfig(['GENERIC_CPU_CACHE_MAINTENANCE', 'ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION']) ??
    input.has(SYMBOLS.api);
  if (api === false) {
    const source = input.configReadable
      ? `${input.configSource}: CONFIG_GENERIC_CPU_CACHE_MAINTENANCE not set`
      : '/proc/kallsyms: no cpu_cache_invalidate_memregion';
    return verdictOf(
      'unsupported',
      [
        `${source}: this kernel has no memregion invalidation framework (lib/cache_maint.c, the generic cache maintenance framework)`,
      ],
      { registered: false },
    );
  }

  const smcccBuilt = fromConfig(['ARM_SMCCC_CACHE']) ?? input.has(SYMBOLS.smccc);
  const hisiBuilt = fromConfig(['HISI_SOC_HHA']) ?? input.has(SYMBOLS.hisi);
  const providerName = smcccBuilt === false && hisiBuilt ? 'hisi_soc_hha' : 'arm_smccc_cache';
  if (smcccBuilt === false && hisiBuilt === false) {
    const source = input.configReadable
      ? `${input.configSource}: CONFIG_ARM_SMCCC_CACHE and CONFIG_HISI_SOC_HHA not set`
      : '/proc/kallsyms: no smccc_cache_wbinv, no hisi_soc_hha_wbinv';
    return verdictOf(
      'unsupported',
      [`${source}: no memregion invalidation provider is built into this kernel`],
      { registered: false },
    );
  }
  if (smcccBuilt === false) {
    return verdictOf(
      'unsupported',
      [
        `hisi_soc_hha is built but no HiSilicon HHA device (ACPI HISI0511) is bound to it, and the SMCCC provider (CONFIG_ARM_SMCCC_CACHE) is not built`,
      ],
      { registered: false, name: 'hisi_soc_hha' },
    );
  }

  const provider = { registered: false as boolean | null, name: providerName };
  if (input.smcccVersion && !versionAtLeast(input.smcccVersion, 1, 1)) {
    return verdictOf(
      'unsupported',
      [
        `SMCCC ${input.smcccVersion}: the SMCCC provider needs SMCCC 1.1 or later (SMCCC_ARCH_FEATURES), so it cannot register`,
      ],
      provider,
    );
  }
  if (input.conduit === 'none') {
    return verdictOf(
      'unsupported',
      ['no SMCCC conduit (no PSCI smc/hvc method): the SMCCC provider cannot call firmware'],
      provider,
    );
  }
  if (facts.initcall && facts.initcall.ret !== 0) {
    const name = ERRNO_NAMES[facts.initcall.ret] ?? String(facts.initcall.ret);
    return verdictOf(
      'unsupported',
      [
        `${input.logSource}: ${facts.initcall.name} returned ${facts.initcall.ret} (${name}): firmware discovery failed, the provider did not register`,
      ],
      provider,
    );
  }
  if (facts.syncFailed) {
    return verdictOf(
      'unsupported',
      [`${input.logSource}: "${facts.syncFailed}": the kernel found no memregion invalidation provider`],
      provider,
    );
  }

  const built =
    smcccBuilt === true
      ? 'the SMCCC provider is built in'
      : 'the SMCCC provider may be built in (kernel config and kallsyms unreadable)';
  const discovery = facts.kvm
    ? 'firmware discovery failed: the hypervisor (KVM) did not offer CLEAN_INV_MEMREGION and its ATTRIBUTES to this guest'
    : 'firmware discovery failed (CLEAN_INV_MEMREGION or CLEAN_INV_MEMREGION_ATTRIBUTES not implemented, or ATTRIBUTES failed)';
  if (input.logComplete) {
    return verdictOf(
      'unsupported',
      [
        `${input.logSource}: complete from boot, with no "SMCCC cache clean+invalidate provider registered" line: ${built} but did not register; ${discovery}. The provider fails silently; ${INITCALL_HINT}`,
      ],
      provider,
    );
  }
  provider.registered = null;
  const why = input.logReadable
    ? `${input.logSource} has wrapped (its first record is not the boot banner), so a missing registration line proves nothing`
    : `the kernel log is not readable (${input.logSource})`;
  const reasons = [`${built}, but ${why}; ${INITCALL_HINT}`];
  if (smcccBuilt === null)
    reasons.push(
      'the kernel config and /proc/kallsyms are not readable: whether a provider is built is unknown',
    );
  return verdictOf('unknown', reasons, provider);
}

function decideX86(input: DecisionInput): Decision {
  const { platform, option } = input;
  const provider = (registered: boolean | null) => ({ registered, name: 'wbinvd' });
  if (input.configReadable && !isBuilt(option('ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION') ?? undefined)) {
    return verdictOf(
      'unsupported',
      [
        `${input.configSource}: CONFIG_ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION not set: this kernel has no memregion invalidation`,
      ],
      provider(false),
    );
  }
  if (platform.hypervisor === null) {
    return verdictOf(
      'unknown',
      ['/proc/cpuinfo not readable: cannot tell bare metal (WBINVD) from a guest'],
      provider(null),
    );
  }
  if (platform.hypervisor) {
    return verdictOf(
      'unsupported',
      [
        '/proc/cpuinfo: the hypervisor flag is set: on x86 the kernel invalidates with WBINVD on bare metal only, never in a guest',
      ],
      provider(false),
    );
  }
  return verdictOf('supported', [], provider(true));
}

/** One line per evidence item: source, then what it showed, aligned; the command adds the verdict line and colour. */
export function renderProbeEvidence(report: ProbeReport): string[] {
  const evidence = report.evidence ?? [];
  const width = Math.max(0, ...evidence.map((e) => e.source.length));
  return evidence.map((e) => `${e.source.padEnd(width)}  ${e.found ? '+' : '-'} ${e.detail}`);
}
