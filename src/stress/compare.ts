import type { StressReport } from './report.js';

/** What every variant of a comparison shares: the workload, said once at the top of the document. */
const SHARED = [
  'backend',
  'profile',
  'region',
  'workers',
  'virtual_time',
  'seed',
  'pattern',
  'base',
  'size',
  'span',
  'ops_requested',
  'duration_requested_s',
] as const;

type Shared = (typeof SHARED)[number];

/** One variant's run: its stress report (DESIGN §5 fields) without the shared workload settings. */
export type CompareRow = Omit<StressReport, Shared | 'provider'> & { provider: string };

/** `stress --compare --json`: the workload once, then one row per provider variant, in the order run. */
export type CompareReport = Pick<StressReport, Exclude<Shared, 'region'>> & {
  compare: true;
  variants: CompareRow[];
  interrupted: boolean;
};

export function buildCompareReport(reports: StressReport[], interrupted: boolean): CompareReport {
  const first = reports[0]!;
  const shared = Object.fromEntries(
    SHARED.filter((key) => key in first && key !== 'region').map((key) => [key, first[key]]),
  ) as Pick<StressReport, Exclude<Shared, 'region'>>;
  const variants = reports.map((report) => {
    const row: Record<string, unknown> = { provider: report.provider };
    for (const [key, value] of Object.entries(report)) {
      if (!(SHARED as readonly string[]).includes(key) && key !== 'provider') row[key] = value;
    }
    return row as CompareRow;
  });
  return { ...shared, compare: true, variants, interrupted };
}
