import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { LatencySummary } from '../backends/types.js';

/**
 * Latency percentiles in constant memory (HdrHistogram-style, 3 significant figures). Values are recorded
 * in nanoseconds so that sub-microsecond virtual latencies are kept; reports are in microseconds.
 */
export class LatencyRecorder {
  private readonly histogram: RecordableHistogram = createHistogram({
    lowest: 1,
    highest: 3_600_000_000_000,
    figures: 3,
  });
  private total = 0;

  recordUs(us: number): void {
    const ns = Math.max(1, Math.round(us * 1000));
    this.histogram.record(ns);
    this.total += us;
  }

  get count(): number {
    return this.histogram.count;
  }

  summary(): LatencySummary | null {
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
}
