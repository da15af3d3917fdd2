import { KPROBE_EVENTS, TRACE_FILE, TRACEFS_MOUNTS } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import type { LockdownMode } from './platform.js';

export interface TracingSupport {
  /** Dynamic kprobe events can be added (tracefs with kprobe_events, not forbidden by lockdown). */
  kprobes: boolean;
  /** Root-relative tracefs mount that has kprobe_events, or the first tracefs found. */
  tracefs: string | null;
  reason: string;
}

export { TRACEFS_MOUNTS };

/**
 * Which tracing `trace` can use (kernel Documentation/trace/kprobetrace.rst): a tracefs mount with
 * kprobe_events (present only with CONFIG_KPROBE_EVENTS), and a lockdown mode that allows it.
 */
export async function readTracing(
  sys: SysRoot,
  kprobeEventsConfig: string | undefined | null,
  lockdown: LockdownMode | null,
): Promise<TracingSupport> {
  let tracefs: string | null = null;
  let withKprobes: string | null = null;
  let hidden: string | null = null;
  for (const mount of TRACEFS_MOUNTS) {
    if (await sys.exists(`${mount}/${KPROBE_EVENTS}`)) {
      withKprobes = `/${mount}`;
      break;
    }
    if (await sys.exists(`${mount}/${TRACE_FILE}`)) tracefs ??= `/${mount}`;
    else if (!hidden && (await sys.exists(mount)) && (await sys.list(mount)).length === 0)
      hidden = `/${mount}`;
  }
  tracefs = withKprobes ?? tracefs;
  if (lockdown === 'confidentiality') {
    return { kprobes: false, tracefs, reason: 'lockdown confidentiality forbids kprobes and tracefs' };
  }
  if (withKprobes) {
    const viaDebugfs = withKprobes.includes('/debug/');
    if (viaDebugfs && lockdown === 'integrity') {
      return {
        kprobes: false,
        tracefs,
        reason: `${withKprobes} is under debugfs, which lockdown integrity forbids; mount tracefs at /sys/kernel/tracing`,
      };
    }
    return {
      kprobes: true,
      tracefs,
      reason: `${withKprobes}/kprobe_events present (root needed to add probes)`,
    };
  }
  if (kprobeEventsConfig === 'n' || kprobeEventsConfig === undefined) {
    return { kprobes: false, tracefs, reason: 'kernel built without CONFIG_KPROBE_EVENTS' };
  }
  if (tracefs) return { kprobes: false, tracefs, reason: `${tracefs} has no kprobe_events` };
  if (hidden) return { kprobes: false, tracefs: null, reason: `${hidden} not readable: needs root` };
  return {
    kprobes: false,
    tracefs: null,
    reason: 'tracefs not mounted (mount -t tracefs nodev /sys/kernel/tracing)',
  };
}
