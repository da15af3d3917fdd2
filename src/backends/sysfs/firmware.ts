import {
  ACPI_TABLES,
  DEVICE_TREES,
  DRIVER_CONTROL_FILES,
  HISI_HHA_DRIVER,
  PSCI_DEBUGFS,
  PSCI_METHOD,
  SOC_DEVICE,
  SOC_PARENT,
} from './evidence-manifest.js';
import type { SysRoot } from './fs.js';

export type Conduit = 'smc' | 'hvc';

export interface PsciMethod {
  /** `smc`/`hvc` as the device tree's psci node says, null when there is no such property. */
  method: Conduit | null;
  source: string | null;
  /** A device tree exists, with no psci node or no method in it. */
  deviceTreeWithoutPsci: boolean;
  /** ACPI tables exist (then the conduit comes from the FADT, not the device tree). */
  acpi: boolean;
}

/** Device tree `psci/method`: a NUL-terminated string property. */
export async function readPsciMethod(sys: SysRoot): Promise<PsciMethod> {
  const acpi = await sys.exists(ACPI_TABLES);
  let sawTree = false;
  for (const base of DEVICE_TREES) {
    const raw = await sys.read(`${base}/${PSCI_METHOD}`);
    if (raw.ok) {
      const text = raw.text.replace(/\0+$/, '').trim();
      return {
        method: text === 'smc' || text === 'hvc' ? text : null,
        source: `/${base}/${PSCI_METHOD}`,
        deviceTreeWithoutPsci: false,
        acpi,
      };
    }
    if ((await sys.list(base)).length > 0) sawTree = true;
  }
  return { method: null, source: null, deviceTreeWithoutPsci: sawTree && !acpi, acpi };
}

export interface PsciDebugfs {
  readable: boolean;
  denied: boolean;
  psciVersion: string | null;
  /** SMCCC version as firmware reports it; `1.0` also when the kernel assumes it. */
  smcccVersion: string | null;
  smcccAssumed: boolean;
  detail: string;
}

/** Text of debugfs `psci` (drivers/firmware/psci/psci.c, psci_debugfs_read). */
export function parsePsciDebugfs(
  text: string,
): Pick<PsciDebugfs, 'psciVersion' | 'smcccVersion' | 'smcccAssumed'> {
  const psci = /^PSCIv(\d+\.\d+)$/m.exec(text);
  const smccc = /^SMC Calling Convention v(\d+\.\d+)( is assumed)?$/m.exec(text);
  return {
    psciVersion: psci?.[1] ?? null,
    smcccVersion: smccc?.[1] ?? null,
    smcccAssumed: Boolean(smccc?.[2]),
  };
}

export async function readPsciDebugfs(sys: SysRoot): Promise<PsciDebugfs> {
  const result = await sys.read(PSCI_DEBUGFS);
  if (!result.ok) {
    const why =
      result.code === 'ENOENT'
        ? 'absent (debugfs not mounted, CONFIG_DEBUG_FS off, or no PSCI conduit)'
        : result.denied
          ? `not readable (${result.code}: debugfs needs root; lockdown integrity forbids it)`
          : `not readable (${result.code})`;
    return {
      readable: false,
      denied: result.denied,
      psciVersion: null,
      smcccVersion: null,
      smcccAssumed: false,
      detail: why,
    };
  }
  const parsed = parsePsciDebugfs(result.text);
  const parts = [
    parsed.psciVersion ? `PSCI v${parsed.psciVersion}` : 'no PSCI version line',
    parsed.smcccVersion
      ? `SMCCC v${parsed.smcccVersion}${parsed.smcccAssumed ? ' (assumed: SMCCC_VERSION not implemented)' : ''}`
      : 'no SMCCC line (PSCI older than 1.0)',
  ];
  return { readable: true, denied: false, ...parsed, detail: parts.join(', ') };
}

export interface SocId {
  id: string;
  family: string | null;
  revision: string | null;
  machine: string | null;
  source: string;
}

/**
 * SoC identification from sys/devices/socN. The SMCCC SOC_ID driver spells soc_id `jep106:BBII:SSSS`;
 * that one is preferred when several SoC devices exist.
 */
export async function readSocId(sys: SysRoot): Promise<SocId | null> {
  const socs = (await sys.list(SOC_PARENT)).filter((name) => SOC_DEVICE.test(name));
  const found: SocId[] = [];
  for (const soc of socs) {
    const base = `${SOC_PARENT}/${soc}`;
    const id = await sys.value(`${base}/soc_id`);
    if (!id) continue;
    found.push({
      id,
      family: await sys.value(`${base}/family`),
      revision: await sys.value(`${base}/revision`),
      machine: await sys.value(`${base}/machine`),
      source: `/${base}/soc_id`,
    });
  }
  return found.find((s) => s.id.startsWith('jep106:')) ?? found[0] ?? null;
}

/** Devices bound to the HiSilicon HHA driver: each one registered a provider instance. */
export async function readHisiHhaBound(sys: SysRoot): Promise<{ driver: boolean; devices: string[] }> {
  const entries = await sys.list(HISI_HHA_DRIVER);
  const devices = entries.filter((e) => !(DRIVER_CONTROL_FILES as readonly string[]).includes(e));
  return { driver: entries.length > 0, devices };
}
