import { ExitCode, MemregionError } from '../../core/errors.js';
import { KPROBE_EVENTS, LOCKDOWN, TRACE_FILE } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { findSymbols } from './kallsyms.js';
import {
  INVALIDATE_SYMBOL,
  lockdownMode,
  PROVIDER_CALLBACKS,
  type ProviderCallback,
  Tracefs,
} from './tracefs.js';
import { TRACEFS_MOUNTS } from './tracing.js';

export interface TraceTarget {
  tracefs: Tracefs;
  providers: ProviderCallback[];
  warnings: string[];
}

/** Tracing found kallsyms without the invalidation function (Linux before 6.2): there is nothing to trace. */
export class NoInvalidationFunction extends MemregionError {
  constructor() {
    super(
      `tracing unavailable: this kernel has no ${INVALIDATE_SYMBOL} (proc/kallsyms), so nothing invalidates memory regions`,
      ExitCode.UNAVAILABLE,
    );
  }
}

/**
 * Everything that must hold before a probe is written: no lockdown `confidentiality`, root (on the real
 * root), a tracefs mount with kprobe_events, and the kernel's invalidation function in kallsyms.
 */
export async function locateTracefs(sys: SysRoot): Promise<TraceTarget> {
  const lockdown = lockdownMode(await sys.value(LOCKDOWN));
  if (lockdown === 'confidentiality') {
    throw new MemregionError(
      'tracing refused: kernel lockdown is "confidentiality", which forbids kprobes and tracefs even for root',
      ExitCode.NO_PERM,
    );
  }
  if (sys.isRealRoot && typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new MemregionError(
      'tracing needs root: tracefs and kprobe_events are writable by root only (run with sudo)',
      ExitCode.NO_PERM,
    );
  }
  let base: string | null = null;
  for (const mount of TRACEFS_MOUNTS) {
    if (await sys.exists(`${mount}/${KPROBE_EVENTS}`)) {
      base = mount;
      break;
    }
  }
  if (base === null) {
    let mounted = false;
    for (const mount of TRACEFS_MOUNTS) mounted ||= await sys.exists(`${mount}/${TRACE_FILE}`);
    throw new MemregionError(
      mounted
        ? 'tracing unavailable: tracefs has no kprobe_events (kernel built without CONFIG_KPROBE_EVENTS)'
        : 'tracing unavailable: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)',
      ExitCode.UNAVAILABLE,
    );
  }
  const warnings: string[] = [];
  const symbols = await findSymbols(sys, [INVALIDATE_SYMBOL, ...PROVIDER_CALLBACKS.map((p) => p.symbol)]);
  if (symbols.readable && !symbols.found.has(INVALIDATE_SYMBOL)) throw new NoInvalidationFunction();
  if (!symbols.readable) warnings.push('proc/kallsyms unreadable: provider callbacks are not probed');
  const providers = PROVIDER_CALLBACKS.filter((p) => symbols.found.has(p.symbol));
  return { tracefs: new Tracefs(sys, base), providers, warnings };
}
