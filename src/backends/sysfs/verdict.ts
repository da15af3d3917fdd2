import type { ProbeProvider, Verdict } from '../types.js';
import { describeOption, isBuilt } from './kconfig.js';
import { type scanKernelLog, versionAtLeast } from './logfacts.js';
import type { readPlatform } from './platform.js';

/** kallsyms names of the framework and of each provider: the probe looks them up, `decide` falls back on them. */
export const SYMBOLS = {
  api: ['cpu_cache_invalidate_memregion', 'cpu_cache_has_invalidate_memregion'],
  smccc: ['smccc_cache_wbinv', 'smccc_cache_init', 'arm64_smccc_cache_wbinv', 'arm64_smccc_cache_init'],
  hisi: ['hisi_soc_hha_wbinv'],
};

const INITCALL_HINT =
  'booting with initcall_debug logs the provider initcall (smccc_cache_init) and its return code';
const ERRNO_NAMES: Record<number, string> = {
  [-19]: 'ENODEV',
  [-12]: 'ENOMEM',
  [-95]: 'EOPNOTSUPP',
  [-22]: 'EINVAL',
};

export interface DecisionInput {
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

export interface Decision {
  verdict: Verdict;
  reasons: string[];
  provider: ProbeProvider;
  smcccRegistered: boolean;
}

const verdictOf = (
  verdict: Verdict,
  reasons: string[],
  provider: ProbeProvider,
  smcccRegistered = false,
): Decision => ({
  verdict,
  reasons,
  provider,
  smcccRegistered,
});

/**
 * What the config says about the providers. Both live in drivers/cache/ under the CACHEMAINT_FOR_HOTPLUG
 * menu: with the menu off (Debian's arm64 7.2: `# CONFIG_CACHEMAINT_FOR_HOTPLUG is not set`) neither
 * provider symbol is written at all, so the menu line is the one to cite.
 */
function providerConfig(option: DecisionInput['option']): string {
  const menu = option('CACHEMAINT_FOR_HOTPLUG');
  const smccc = option('ARM_SMCCC_CACHE');
  const hisi = option('HISI_SOC_HHA');
  if (
    !isBuilt(menu ?? undefined) &&
    (smccc === undefined || smccc === null) &&
    (hisi === undefined || hisi === null)
  ) {
    return `${describeOption(menu, 'CACHEMAINT_FOR_HOTPLUG')} (the menu of the providers CONFIG_ARM_SMCCC_CACHE and CONFIG_HISI_SOC_HHA, so neither is built)`;
  }
  return `${describeOption(smccc, 'ARM_SMCCC_CACHE')}, ${describeOption(hisi, 'HISI_SOC_HHA')}`;
}

/**
 * SMCCC older than 1.1 is a reason of its own whatever else already rules the provider out: the emulated
 * backend lists it too, and it says what the firmware would lack even on a kernel with the provider.
 */
function smcccReason(input: DecisionInput): string | null {
  if (input.platform.family !== 'arm64' || !input.smcccVersion || versionAtLeast(input.smcccVersion, 1, 1))
    return null;
  return `SMCCC ${input.smcccVersion}: the SMCCC provider needs SMCCC 1.1 or later (SMCCC_ARCH_FEATURES), so it cannot register`;
}

/** The order of reasons of DESIGN §6: architecture, framework, provider built, SMCCC, registration. */
export function decide(input: DecisionInput): Decision {
  const decision = decideFirst(input);
  const smccc = smcccReason(input);
  if (decision.verdict !== 'supported' && smccc && !decision.reasons.includes(smccc))
    decision.reasons.push(smccc);
  return decision;
}

function decideFirst(input: DecisionInput): Decision {
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
      ? `${input.configSource}: ${describeOption(option('GENERIC_CPU_CACHE_MAINTENANCE'), 'GENERIC_CPU_CACHE_MAINTENANCE')}`
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
      ? `${input.configSource}: ${providerConfig(option)}`
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
  const smccc = smcccReason(input);
  if (smccc) return verdictOf('unsupported', [smccc], provider);
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
        `${input.configSource}: ${describeOption(option('ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION'), 'ARCH_HAS_CPU_CACHE_INVALIDATE_MEMREGION')}: this kernel has no memregion invalidation (no cpu_cache_invalidate_memregion)`,
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
