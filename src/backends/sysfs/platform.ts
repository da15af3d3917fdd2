import { LOCKDOWN, PLATFORM_FILES } from './evidence-manifest.js';
import { attributeLine, type SysRoot } from './fs.js';

export type ArchFamily = 'arm64' | 'x86' | 'other';

export interface Platform {
  release: string | null;
  /** As `uname -m` spells it: `aarch64`, `x86_64`. */
  arch: string | null;
  family: ArchFamily | null;
  /** Where the architecture came from. */
  archSource: string | null;
  /** x86 `hypervisor` CPU flag; null when not x86 or cpuinfo is unreadable. */
  hypervisor: boolean | null;
  cpuinfoReadable: boolean;
  cpuinfoDenied: boolean;
}

export function archFamily(arch: string): ArchFamily {
  if (arch === 'aarch64' || arch === 'arm64') return 'arm64';
  if (/^(x86_64|i[3-6]86|x86)$/.test(arch)) return 'x86';
  return 'other';
}

/** The architecture an arm64 or x86 /proc/cpuinfo belongs to, from its field names. */
export function archFromCpuinfo(cpuinfo: string): string | null {
  if (/^CPU implementer\s*:/m.test(cpuinfo) && /^CPU architecture\s*:\s*8/m.test(cpuinfo)) return 'aarch64';
  if (/^vendor_id\s*:/m.test(cpuinfo) && /^flags\s*:/m.test(cpuinfo)) {
    return /^flags\s*:.*\blm\b/m.test(cpuinfo) ? 'x86_64' : 'i686';
  }
  return null;
}

/** True when the first x86 `flags` line lists `hypervisor` (the CPU runs under a hypervisor). */
export function hasHypervisorFlag(cpuinfo: string): boolean | null {
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo);
  if (!flags) return null;
  return (flags[1] ?? '').trim().split(/\s+/).includes('hypervisor');
}

export async function readPlatform(sys: SysRoot): Promise<Platform> {
  const release = await sys.value(PLATFORM_FILES.osrelease);
  const cpuinfo = await sys.read(PLATFORM_FILES.cpuinfo);
  let arch = await sys.value(PLATFORM_FILES.arch);
  let archSource: string | null = arch ? `/${PLATFORM_FILES.arch}` : null;
  if (!arch && cpuinfo.ok) {
    arch = archFromCpuinfo(cpuinfo.text);
    if (arch) archSource = `/${PLATFORM_FILES.cpuinfo}`;
  }
  const family = arch ? archFamily(arch) : null;
  const hypervisor = family === 'x86' && cpuinfo.ok ? hasHypervisorFlag(cpuinfo.text) : null;
  return {
    release: release || null,
    arch: arch || null,
    family,
    archSource,
    hypervisor,
    cpuinfoReadable: cpuinfo.ok,
    cpuinfoDenied: !cpuinfo.ok && cpuinfo.denied,
  };
}

export type LockdownMode = 'none' | 'integrity' | 'confidentiality';

/** The bracketed mode of `none [integrity] confidentiality`. */
export function parseLockdown(text: string): LockdownMode | null {
  const match = /\[(none|integrity|confidentiality)\]/.exec(text);
  return match ? (match[1] as LockdownMode) : null;
}

export interface Lockdown {
  mode: LockdownMode | null;
  readable: boolean;
  detail: string;
}

export async function readLockdown(sys: SysRoot): Promise<Lockdown> {
  const result = await sys.read(LOCKDOWN);
  if (!result.ok) {
    return {
      mode: null,
      readable: false,
      detail:
        result.code === 'ENOENT'
          ? 'absent (no lockdown LSM, or securityfs not mounted)'
          : `not readable (${result.code})`,
    };
  }
  // securityfs prints one line (security/lockdown/lockdown.c lockdown_read()): a tree's 20 MB file was
  // quoted whole in the evidence.
  const line = attributeLine(result.text);
  const mode = parseLockdown(line);
  return {
    mode,
    readable: true,
    detail: mode ? `mode ${mode} (${line})` : `unrecognised: ${line}`,
  };
}
