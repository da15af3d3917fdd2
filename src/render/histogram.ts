import type { ChalkInstance } from 'chalk';
import { chalk as styleChalk } from '../cli/style.js';
import type { LatencyDistribution } from '../core/latency.js';

/** The percentiles marked on the rows they fall in (nearest rank, as the report's percentiles). */
const MARKS = [
  { label: 'p50', fraction: 0.5 },
  { label: 'p99', fraction: 0.99 },
  { label: 'p99.9', fraction: 0.999 },
] as const;

const BAR_WIDTH = 36;
const LABEL_WIDTH = 9;
const COUNT_WIDTH = 10;
/** Eighths of a cell, for bars when colour (and so a terminal) is on. */
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * A compact terminal histogram of latencies on log-scaled buckets (1, 1.5, 2, 3, 5, 7 per decade), one row per bucket from the
 * fastest to the slowest non-empty one, with the rows where p50, p99 and p99.9 fall marked. At most 79
 * columns. With colour off it is plain ASCII (`#` bars), so that it reads the same in a log file.
 */
export function renderLatencyHistogram(
  distribution: LatencyDistribution,
  /** What was timed, singular: `request`, `invalidation`. */
  what: string,
  paint: ChalkInstance = styleChalk,
): string {
  const { total, buckets } = distribution;
  if (total === 0) return '';
  const colour = typeof paint.level === 'number' && paint.level > 0;
  const marks = markRows(
    buckets.map((b) => b.count),
    total,
  );
  const peak = Math.max(...buckets.map((b) => b.count));
  const lines = [
    paint.bold(`latency histogram (log-scaled buckets), ${total} ${what}${total === 1 ? '' : 's'}`),
  ];
  buckets.forEach((bucket, row) => {
    const label = `< ${formatNs(bucket.to_ns)}`.padStart(LABEL_WIDTH);
    const cells = (bucket.count / peak) * BAR_WIDTH;
    const bar = colour ? blockBar(cells, bucket.count) : asciiBar(cells, bucket.count);
    const padding = ' '.repeat(BAR_WIDTH - [...bar].length);
    const count = String(bucket.count).padStart(COUNT_WIDTH);
    const share = formatShare(bucket.count, total).padStart(6);
    const rowMarks = marks[row]!;
    const line = [
      label,
      ' ',
      paint.cyan(bar),
      padding,
      bucket.count === 0 ? paint.dim(count) : count,
      ' ',
      bucket.count === 0 ? paint.dim(share) : share,
      rowMarks.length > 0 ? `  ${paint.yellow.bold(rowMarks.join(' '))}` : '',
    ].join('');
    lines.push(line);
  });
  return lines.join('\n');
}

/** The marks of each row: a row gets a percentile when the cumulative count first reaches its rank. */
function markRows(counts: number[], total: number): string[][] {
  const rows = counts.map((): string[] => []);
  let cumulative = 0;
  let next = 0;
  counts.forEach((count, row) => {
    cumulative += count;
    while (next < MARKS.length && cumulative >= Math.ceil(MARKS[next]!.fraction * total)) {
      rows[row]!.push(MARKS[next]!.label);
      next += 1;
    }
  });
  return rows;
}

/** `#` per full cell; a non-empty bucket too small for one shows as `.` (it still happened). */
function asciiBar(cells: number, count: number): string {
  const full = Math.floor(cells);
  if (full === 0) return count > 0 ? '.' : '';
  return '#'.repeat(full);
}

function blockBar(cells: number, count: number): string {
  const full = Math.floor(cells);
  const eighths = Math.floor((cells - full) * 8);
  const bar = '█'.repeat(full) + EIGHTHS[eighths]!;
  return bar === '' && count > 0 ? EIGHTHS[1]! : bar;
}

function formatShare(count: number, total: number): string {
  if (count === 0) return '0%';
  const percent = (count / total) * 100;
  if (percent < 0.1) return '<0.1%';
  // Rounding must not claim every request for a bucket that holds fewer.
  if (count < total && percent > 99.9) return '>99.9%';
  return `${percent.toFixed(1)}%`;
}

/** A bucket bound (a round multiple of a power of ten ns) in the unit that keeps it short: 500 ns, 20 µs, 1 s. */
export function formatNs(ns: number): string {
  if (ns < 1e3) return `${ns} ns`;
  if (ns < 1e6) return `${ns / 1e3} µs`;
  if (ns < 1e9) return `${ns / 1e6} ms`;
  return `${ns / 1e9} s`;
}
