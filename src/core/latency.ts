import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { LatencySummary } from '../backends/types.js';

/** One log-scaled bucket of a latency distribution: [from_ns, to_ns). */
export interface LatencyBucket {
  from_ns: number;
  to_ns: number;
  count: number;
}

/** The counts of a run's latencies in log-scaled buckets (STEPS per decade), first to last non-empty one. */
export interface LatencyDistribution {
  total: number;
  buckets: LatencyBucket[];
}

/** Every latency is also handed to this, in nanoseconds (e.g. the interval histograms of --hdr-log). */
export type LatencyTap = (ns: number) => void;

/** Six round bounds per decade, each 1.3 to 1.7 times the last: 1, 1.5, 2, 3, 5, 7, 10, 15, ... */
const STEPS = [1, 1.5, 2, 3, 5, 7] as const;
/** 1 ns up to 10^13 ns (2.8 hours): past the recorder's highest trackable value. */
const DECADES = 13;
const BUCKETS = DECADES * STEPS.length;
/** Latencies kept before they go into the histogram at once. */
const PENDING = 512;
const POW10 = Array.from({ length: DECADES + 1 }, (_, d) => 10 ** d);

/** Lower bound in ns of bucket `index`: 1, 1.5, 2, 3, 5, 7, 10, 15, ... */
export const bucketFloorNs = (index: number): number =>
  POW10[Math.floor(index / STEPS.length)]! * STEPS[index % STEPS.length]!;

const FLOORS = Array.from({ length: BUCKETS + 1 }, (_, i) => bucketFloorNs(i));
/** The octaves below the last bound (10^13 ns is between 2^43 and 2^44). */
const OCTAVES = Math.ceil(Math.log2(FLOORS[BUCKETS]!));
/** The bucket holding 2^k ns, for each octave k: a bound search starts there (at most 2 steps on). */
const OCTAVE_FIRST = Int32Array.from({ length: OCTAVES }, (_, k) => {
  let i = 0;
  while (FLOORS[i + 1]! <= 2 ** k) i += 1;
  return i;
});
const TWO_31 = 0x8000_0000;

/**
 * The bucket of a latency in whole nanoseconds (≥ 1). This runs for every simulated request, so it goes
 * by the octave (a count of leading zeros, of the value or, from 2^31 ns on, of its multiple of 2^31)
 * and a step or two along the bounds, not by a logarithm: with 100,000 workers queued every latency is
 * past 2 s, and Math.log10 cost about 100 instructions a request (cachegrind).
 */
export function bucketIndex(ns: number): number {
  if (ns >= FLOORS[BUCKETS]!) return BUCKETS - 1;
  const octave = ns < TWO_31 ? 31 - Math.clz32(ns) : 62 - Math.clz32(Math.floor(ns / TWO_31));
  let i = OCTAVE_FIRST[octave]!;
  while (ns >= FLOORS[i + 1]!) i += 1;
  return i;
}

/**
 * Latency percentiles in constant memory (HdrHistogram-style, 3 significant figures), and counts in
 * log-scaled buckets for the terminal histogram. Values are recorded in nanoseconds so that
 * sub-microsecond virtual latencies are kept; reports are in microseconds.
 */
export class LatencyRecorder {
  private readonly histogram: RecordableHistogram = createHistogram({
    lowest: 1,
    highest: 3_600_000_000_000,
    figures: 3,
  });
  private readonly buckets = new Float64Array(BUCKETS);
  private total = 0;
  private readonly tap: LatencyTap | null;
  /**
   * Latencies not yet in the histogram. Every histogram createHistogram() makes has a shape of its own,
   * so code that calls record() directly is deoptimized by each new recorder (the simulator's hot path,
   * run after run); only flush() calls it.
   */
  private readonly pending = new Float64Array(PENDING);
  private pendingCount = 0;

  constructor(options: { tap?: LatencyTap } = {}) {
    this.tap = options.tap ?? null;
  }

  recordUs(us: number): void {
    const ns = Math.max(1, Math.round(us * 1000));
    this.pending[this.pendingCount++] = ns;
    if (this.pendingCount === PENDING) this.flush();
    this.buckets[bucketIndex(ns)]! += 1;
    this.total += us;
    if (this.tap !== null) this.tap(ns);
  }

  private flush(): void {
    const histogram = this.histogram;
    for (let i = 0; i < this.pendingCount; i++) histogram.record(this.pending[i]!);
    this.pendingCount = 0;
  }

  get count(): number {
    this.flush();
    return this.histogram.count;
  }

  summary(): LatencySummary | null {
    this.flush();
    const h = this.histogram;
    if (h.count === 0) return null;
    const us = (ns: number) => Math.round(ns) / 1000;
    return {
      p50: us(h.percentile(50)),
      p90: us(h.percentile(90)),
      p99: us(h.percentile(99)),
      p999: us(h.percentile(99.9)),
      max: us(h.max),
      mean: Math.round((this.total / h.count) * 1000) / 1000,
    };
  }

  distribution(): LatencyDistribution {
    const first = this.buckets.findIndex((n) => n > 0);
    if (first < 0) return { total: 0, buckets: [] };
    let last = BUCKETS - 1;
    while (this.buckets[last] === 0) last -= 1;
    const buckets: LatencyBucket[] = [];
    let total = 0;
    for (let i = first; i <= last; i++) {
      const count = this.buckets[i]!;
      total += count;
      buckets.push({ from_ns: bucketFloorNs(i), to_ns: bucketFloorNs(i + 1), count });
    }
    return { total, buckets };
  }
}
