/**
 * Type-level tests of the report documents (src/backends/reports.ts), checked with every other test file
 * by `tsc -p test/tsconfig.json` in `npm run lint`: each `@ts-expect-error` line must fail to compile, so a
 * document that forgets a field, or carries one its type does not name, is a compile error on each
 * backend. Nothing here runs.
 */
import type {
  Backend,
  EmulatedEraseReport,
  EmulatedInvalidateReport,
  EmulatedProbeReport,
  EmulatedRegionInvalidateReport,
  EmulatedRegionsReport,
  EmulatedTraceReport,
  InvalidateReport,
  ProbeReport,
  SysfsEraseReport,
  SysfsProbeReport,
  SysfsRegionEraseReport,
  SysfsRegionReport,
  SysfsRegionsReport,
  SysfsTraceReport,
} from '../../src/backends/types.js';

declare function doc<T>(): T;

// probe: a field of the core, and one of each backend's own part.
{
  const { reasons: _, ...noReasons } = doc<EmulatedProbeReport>();
  // @ts-expect-error reasons (DESIGN §5) is required on the emulated backend
  const _a: EmulatedProbeReport = noReasons;
  const { discovery: __, ...noDiscovery } = doc<EmulatedProbeReport>();
  // @ts-expect-error discovery is the emulated probe's own part
  const _b: EmulatedProbeReport = noDiscovery;
  const { evidence: ___, ...noEvidence } = doc<SysfsProbeReport>();
  // @ts-expect-error evidence is required on the sysfs backend
  const _c: SysfsProbeReport = noEvidence;
  const { needs_privileges: ____, ...noPrivileges } = doc<SysfsProbeReport>();
  // @ts-expect-error needs_privileges decides exit 77: the sysfs probe must say it
  const _d: SysfsProbeReport = noPrivileges;
  // @ts-expect-error the emulated backend names its profile
  const _e: EmulatedProbeReport = { ...doc<EmulatedProbeReport>(), profile: undefined };
  // @ts-expect-error the sysfs backend has no profile
  const _f: SysfsProbeReport = { ...doc<SysfsProbeReport>(), profile: 'global' };
}

// The union is discriminated by `backend`: a sysfs field is not readable before narrowing.
{
  const report = doc<ProbeReport>();
  // @ts-expect-error evidence exists on the sysfs backend only
  void report.evidence;
  if (report.backend === 'sysfs') void report.evidence;
  else void report.discovery;
  const profile: string | undefined = report.profile;
  void profile;
}

// invalidate: a range (emulated) and a region (both backends, the sysfs one with a plan-only dry run).
{
  const { attempts: _, ...noAttempts } = doc<EmulatedInvalidateReport>();
  // @ts-expect-error attempts (DESIGN §5) is required
  const _a: EmulatedInvalidateReport = noAttempts;
  const { invalidation_errno: __, ...noIgnored } = doc<EmulatedRegionInvalidateReport>();
  // @ts-expect-error a region report says whether the kernel ignored a failed invalidation
  const _b: EmulatedRegionInvalidateReport = noIgnored;
  const { invalidation_errno: ___, ...sysfsNoIgnored } = doc<SysfsRegionReport>();
  // @ts-expect-error ... on the sysfs backend too
  const _c: SysfsRegionReport = sysfsNoIgnored;
  const { plan: ____, ...noPlan } = doc<SysfsRegionReport>();
  // @ts-expect-error a region report says what it writes
  const _d: SysfsRegionReport = noPlan;
  const { memdevs: _____, ...noMemdevs } = doc<SysfsRegionEraseReport>();
  // @ts-expect-error erase --region reports every memdev
  const _g: SysfsRegionEraseReport = noMemdevs;
  // @ts-expect-error a field no document names
  const _e: EmulatedInvalidateReport = { ...doc<EmulatedInvalidateReport>(), retried: 1 };
  // @ts-expect-error errno is an errno name, not any text
  const _f: EmulatedInvalidateReport = { ...doc<EmulatedInvalidateReport>(), errno: 'EWHATEVER' };
  const report = doc<InvalidateReport>();
  // @ts-expect-error coalesced exists on the emulated backend only
  void report.coalesced;
}

// regions, erase, trace.
{
  const { warnings: _, ...noWarnings } = doc<SysfsRegionsReport>();
  // @ts-expect-error regions always carries its warnings
  const _a: SysfsRegionsReport = noWarnings;
  const sysfsRegions = doc<SysfsRegionsReport>().regions;
  // @ts-expect-error an emulated CXL region says whether an erase left it stale
  const _b: EmulatedRegionsReport['regions'] = sysfsRegions;
  const { next_step: __, ...noNext } = doc<SysfsEraseReport>();
  // @ts-expect-error a finished erase says what comes next
  const _c: SysfsEraseReport = noNext;
  const { regions: ___, ...noRegions } = doc<EmulatedEraseReport>();
  // @ts-expect-error the emulated erase names the regions that now need an invalidation
  const _d: EmulatedEraseReport = noRegions;
  const { events_dropped: ____, ...noDropped } = doc<EmulatedTraceReport>();
  // @ts-expect-error the emulated trace counts the events it left out
  const _e: EmulatedTraceReport = noDropped;
  const { probes: _____, ...noProbes } = doc<SysfsTraceReport>();
  // @ts-expect-error the sysfs trace lists the probes it wrote
  const _f: SysfsTraceReport = noProbes;
}

// A backend returns its own documents: a sysfs backend cannot hand back an emulated report.
{
  const sysfs = doc<Backend<'sysfs'>>();
  const probe: Promise<SysfsProbeReport> = sysfs.probe();
  // @ts-expect-error the sysfs backend's probe is not the emulated one
  const wrong: Promise<EmulatedProbeReport> = sysfs.probe();
  void probe;
  void wrong;
  // @ts-expect-error a probe that forgets `evidence` does not implement Backend<'sysfs'>['probe']
  const broken: Backend<'sysfs'>['probe'] = async () => noEvidenceProbe();
  void broken;
}

declare function noEvidenceProbe(): Omit<SysfsProbeReport, 'evidence'>;
