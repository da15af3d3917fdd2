import type { Logger } from '../../core/log.js';
import type { ProbeReport } from '../types.js';
import type { SysRoot } from './fs.js';

/** Evidence report and verdict of DESIGN §6 (first version: being filled in). */
export async function probeSysfs(_sys: SysRoot, _log: Logger): Promise<ProbeReport> {
  return {
    backend: 'sysfs',
    supported: false,
    verdict: 'unknown',
    smccc: { version: null, conduit: null },
    functions: { clean_inv_memregion: null, attributes: null },
    attributes: null,
    provider: { registered: null },
    reasons: ['probe not implemented yet'],
    evidence: [],
    warnings: [],
  };
}

export function renderProbeEvidence(report: ProbeReport): string[] {
  const evidence = report.evidence ?? [];
  const width = Math.max(0, ...evidence.map((e) => e.source.length));
  return evidence.map((e) => `${e.source.padEnd(width)}  ${e.detail}`);
}
