/** What the kernel log says about SMCCC, the provider and the test bypass (DESIGN §6 lists the lines). */
export interface LogFacts {
  registered: string | null;
  smcccVersion: string | null;
  smcccLine: string | null;
  psciVersion: string | null;
  conduitProbe: 'DT' | 'ACPI' | null;
  noPsci: string | null;
  kvm: string | null;
  socId: { id: string; revision: string | null; line: string } | null;
  initcall: { name: string; ret: number; line: string } | null;
  syncFailed: string | null;
  /** CONFIG_CXL_REGION_INVALIDATION_TEST: a CXL region commit skipped the invalidation. */
  cxlBypass: string | null;
  /** CONFIG_NVDIMM_SECURITY_TEST: an NVDIMM region enable skipped the invalidation. */
  nvdimmBypass: string | null;
}

/**
 * The SMCCC provider's initcall as the postings name it, and HiSilicon HHA's: module_platform_driver()
 * makes it `<driver>_init` (include/linux/device/driver.h module_driver()), the name initcall_debug prints.
 */
const PROVIDER_INITCALLS = ['smccc_cache_init', 'arm64_smccc_cache_init', 'hisi_soc_hha_driver_init'];

/**
 * Both test bypasses log "Bypassing ... for testing!" on a device named regionN. CXL's
 * (drivers/cxl/core/region.c cxl_region_invalidate_memregion(), dev_info_once) is on the cxl bus, device
 * prefix `cxl_region` or `cxl` when unbound; NVDIMM's (drivers/nvdimm/region_devs.c
 * nd_region_invalidate_memregion(), dev_warn) is on the nd bus, `nd_region` or `nd`, and Linux 7.2 still
 * misspells the function there as `memergion`. The prefix decides; without one, the spelling.
 */
const BYPASS =
  /(?:^|\s)(?:(cxl_region|cxl|nd_region|nd) region\d+: )?Bypassing cpu_cache_invalidate_mem(region|ergion)\(\) for testing!/;

function bypassOf(text: string): 'cxl' | 'nvdimm' | null {
  const match = BYPASS.exec(text);
  if (!match) return null;
  if (match[1]) return match[1].startsWith('cxl') ? 'cxl' : 'nvdimm';
  return match[2] === 'ergion' ? 'nvdimm' : 'cxl';
}

export function scanKernelLog(messages: string[]): LogFacts {
  const facts: LogFacts = {
    registered: null,
    smcccVersion: null,
    smcccLine: null,
    psciVersion: null,
    conduitProbe: null,
    noPsci: null,
    kvm: null,
    socId: null,
    initcall: null,
    syncFailed: null,
    cxlBypass: null,
    nvdimmBypass: null,
  };
  for (const text of messages) {
    if (!facts.registered && text.includes('SMCCC cache clean+invalidate provider registered'))
      facts.registered = text;
    const smccc = /psci: SMC Calling Convention v(\d+\.\d+)/.exec(text);
    if (smccc) {
      facts.smcccVersion = smccc[1] ?? null;
      facts.smcccLine = text;
    }
    const psci = /psci: PSCIv(\d+\.\d+) detected in firmware/.exec(text);
    if (psci) facts.psciVersion = psci[1] ?? null;
    if (text.includes('psci: probing for conduit method from DT.')) facts.conduitProbe = 'DT';
    if (text.includes('psci: probing for conduit method from ACPI.')) facts.conduitProbe = 'ACPI';
    // drivers/firmware/psci/psci.c: psci_acpi_init() without PSCI, get_set_conduit_method() on a DT node
    // without a usable method; either way no conduit is set (SMCCC_CONDUIT_NONE).
    if (/psci: (is not implemented in ACPI|invalid "method" property|missing "method" property)/.test(text))
      facts.noPsci = text;
    if (text.includes('smccc: KVM: hypervisor services detected')) facts.kvm = text;
    const soc = /SMCCC: SOC_ID: ID = (\S+)(?: Revision = (\S+))?/.exec(text);
    if (soc) facts.socId = { id: soc[1] as string, revision: soc[2] ?? null, line: text };
    const initcall = /initcall (\w+)\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])? returned (-?\d+)/.exec(text);
    if (initcall && PROVIDER_INITCALLS.includes(initcall[1] as string)) {
      facts.initcall = { name: initcall[1] as string, ret: Number(initcall[2]), line: text };
    }
    if (!facts.syncFailed && text.includes('Failed to synchronize CPU cache state')) facts.syncFailed = text;
    const bypass = bypassOf(text);
    if (bypass === 'cxl' && !facts.cxlBypass) facts.cxlBypass = text;
    if (bypass === 'nvdimm' && !facts.nvdimmBypass) facts.nvdimmBypass = text;
  }
  return facts;
}

/** `1.2` >= `1.1` and the like. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number) as [number, number];
  return a > major || (a === major && b >= minor);
}
