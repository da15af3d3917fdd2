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
  bypass: string | null;
}

const PROVIDER_INITCALLS = ['smccc_cache_init', 'arm64_smccc_cache_init', 'hisi_soc_hha_init'];

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
    bypass: null,
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
    if (/psci: (is not implemented in ACPI|invalid "method" property)/.test(text)) facts.noPsci = text;
    if (text.includes('smccc: KVM: hypervisor services detected')) facts.kvm = text;
    const soc = /SMCCC: SOC_ID: ID = (\S+)(?: Revision = (\S+))?/.exec(text);
    if (soc) facts.socId = { id: soc[1] as string, revision: soc[2] ?? null, line: text };
    const initcall = /initcall (\w+)\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])? returned (-?\d+)/.exec(text);
    if (initcall && PROVIDER_INITCALLS.includes(initcall[1] as string)) {
      facts.initcall = { name: initcall[1] as string, ret: Number(initcall[2]), line: text };
    }
    if (!facts.syncFailed && text.includes('Failed to synchronize CPU cache state')) facts.syncFailed = text;
    // Older kernels misspell it `memergion`.
    if (!facts.bypass && /Bypassing cpu_cache_invalidate_mem(region|ergion)\(\) for testing!/.test(text))
      facts.bypass = text;
  }
  return facts;
}

/** `1.2` >= `1.1` and the like. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number) as [number, number];
  return a > major || (a === major && b >= minor);
}
