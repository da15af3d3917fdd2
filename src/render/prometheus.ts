// Placeholder until the Prometheus exposition renderer lands (issue 4): refuses clearly.
import { ExitCode, MemregionError } from '../core/errors.js';
import type { ProbeReport } from '../backends/types.js';
import type { StressReport } from '../stress/report.js';

const notYet = (): never => {
  throw new MemregionError('--format prometheus is not available yet', ExitCode.USAGE);
};
export const probePrometheus = (_report: ProbeReport): string => notYet();
export const stressPrometheus = (_report: StressReport): string => notYet();
