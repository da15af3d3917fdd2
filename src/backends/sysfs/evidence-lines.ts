import type { ProbeReport } from '../types.js';

/** One line per evidence item: source, then what it showed, aligned; the command adds the verdict line and colour. */
export function renderProbeEvidence(report: ProbeReport): string[] {
  const evidence = report.evidence ?? [];
  const width = Math.max(0, ...evidence.map((e) => e.source.length));
  return evidence.map((e) => `${e.source.padEnd(width)}  ${e.found ? '+' : '-'} ${e.detail}`);
}
