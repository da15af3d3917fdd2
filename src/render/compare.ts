import type { ChalkInstance } from 'chalk';
import { chalk as styleChalk } from '../cli/style.js';
import { inline } from '../core/quote.js';
import type { CompareReport, CompareRow } from '../stress/compare.js';

const COLUMNS: Array<{ head: string; cell: (row: CompareRow, paint: ChalkInstance) => string }> = [
  { head: 'provider', cell: (row) => row.provider },
  { head: 'req/s', cell: (row) => row.throughput_per_s.toFixed(1) },
  { head: 'p50', cell: (row) => latency(row.latency_us?.p50) },
  { head: 'p99', cell: (row) => latency(row.latency_us?.p99) },
  { head: 'max', cell: (row) => latency(row.latency_us?.max) },
  { head: 'calls', cell: (row) => String(row.firmware.calls ?? '?') },
  { head: 'retries', cell: (row) => String(row.retries) },
  {
    head: 'coalesce',
    cell: (row) => (row.coalescing_factor === null ? '-' : row.coalescing_factor.toFixed(2)),
  },
  {
    head: 'violations',
    cell: (row, paint) => {
      const n = row.verify?.violations;
      if (n === undefined) return '-';
      return n === 0 ? paint.green('0') : paint.red(String(n));
    },
  },
];

/** Latencies in µs, four significant digits (whole µs from 1 ms up). */
function latency(us: number | undefined): string {
  if (us === undefined) return '-';
  return us >= 1000 ? String(Math.round(us)) : String(Number(us.toPrecision(4)));
}

const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;

/**
 * `stress --compare`: the same seeded workload under each provider variant, one row each, numbers
 * right-aligned so the columns compare at a glance. Latency in µs; coalesce = completed requests per
 * firmware call; violations = requests served by a call that started before they arrived (--verify).
 */
export function renderCompare(report: CompareReport, paint: ChalkInstance = styleChalk): string {
  const time = report.virtual_time ? paint.yellow(' (virtual time)') : '';
  const load =
    report.ops_requested !== null ? `${report.ops_requested} requests` : `${report.duration_requested_s} s`;
  const who = [
    report.profile ? `profile ${inline(report.profile)}` : report.backend,
    `seed ${report.seed}`,
  ].join(', ');
  const head = `stress --compare: ${report.workers} worker${report.workers === 1 ? '' : 's'}, ${load} each, ${who}${time}${report.interrupted ? paint.yellow(' — interrupted') : ''}`;
  const cells = [
    COLUMNS.map((c) => c.head),
    ...report.variants.map((row) => COLUMNS.map((c) => c.cell(row, paint))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => visible(row[i]!))));
  const lines = cells.map((row, r) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - visible(cell));
        const text = r === 0 ? paint.bold(cell) : cell;
        return i === 0 ? text + pad : pad + text;
      })
      .join('  ')
      .replace(/^/, '  ')
      .trimEnd(),
  );
  const notes = [
    '  latency in µs; coalesce: completed requests per firmware call',
    '  violations: served by a firmware call that started before the request arrived',
  ].map((line) => paint.dim(line));
  return [head, ...lines, ...notes].join('\n');
}
