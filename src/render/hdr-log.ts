import type { Histogram } from 'hdr-histogram-js';
import { ByteLog } from '../core/byte-log.js';

type HdrLibrary = typeof import('hdr-histogram-js');

/** Values are nanoseconds; Interval_Max is written in milliseconds, as HdrHistogram's own tools expect. */
const NS_PER_MS = 1e6;

/**
 * `stress --hdr-log FILE`: the HdrHistogram interval log (format 1.3), one compressed histogram of the
 * latencies (in ns) per interval, written by hdr-histogram-js so that HistogramLogAnalyzer,
 * HistogramLogProcessor and the other HdrHistogram tools read it. Interval timestamps are seconds since
 * the run began, on the run's clock (virtual seconds with --virtual-time). With a tag (stress --compare),
 * each line carries `Tag=<tag>` and each tagged series starts at 0 on its own run's clock.
 */
export class HdrIntervalLog {
  private readonly hdr: HdrLibrary;
  private readonly text = new ByteLog();
  private readonly writer: InstanceType<HdrLibrary['HistogramLogWriter']>;
  private readonly histogram: Histogram;
  private intervalStartUs = 0;
  private intervals = 0;

  private constructor(hdr: HdrLibrary, header: { startedAtMs: number; virtualTime: boolean; what: string }) {
    this.hdr = hdr;
    this.writer = new hdr.HistogramLogWriter((chunk) => this.text.append(chunk));
    this.histogram = this.newHistogram();
    const startSeconds = (header.startedAtMs / 1000).toFixed(3);
    const iso = new Date(header.startedAtMs).toISOString();
    this.writer.outputComment(`[Logged with memregion ${header.what}]`);
    this.writer.outputLogFormatVersion();
    this.writer.outputComment(`[StartTime: ${startSeconds} (seconds since epoch), ${iso}]`);
    this.writer.outputComment(`[BaseTime: ${startSeconds} (seconds since epoch)]`);
    this.writer.outputComment(
      header.virtualTime
        ? ' latency in nanoseconds; timestamps in seconds of virtual time since the run began'
        : ' latency in nanoseconds; timestamps in seconds since the run began',
    );
    this.writer.outputLegend();
  }

  /** Loads the library only for runs that write a log. */
  static async create(header: {
    startedAtMs: number;
    virtualTime: boolean;
    what: string;
  }): Promise<HdrIntervalLog> {
    const hdr = await import('hdr-histogram-js');
    return new HdrIntervalLog(hdr, header);
  }

  /** The tap for a LatencyRecorder: every latency of the current interval, in ns. */
  readonly record = (ns: number): void => {
    this.histogram.recordValue(ns);
  };

  /** Ends the current interval at `elapsedUs` on the run's clock and starts the next one there. */
  endInterval(elapsedUs: number, tag?: string): void {
    if (elapsedUs <= this.intervalStartUs && this.histogram.totalCount === 0) return;
    if (tag !== undefined) this.histogram.tag = tag;
    this.writer.outputIntervalHistogram(
      this.histogram,
      this.intervalStartUs / 1e6,
      Math.max(elapsedUs, this.intervalStartUs) / 1e6,
      NS_PER_MS,
    );
    this.intervals += 1;
    this.histogram.reset();
    this.intervalStartUs = Math.max(elapsedUs, this.intervalStartUs);
  }

  /** The next run (stress --compare) starts its own timeline at 0. */
  restartClock(): void {
    this.intervalStartUs = 0;
  }

  get intervalCount(): number {
    return this.intervals;
  }

  /** The log so far, as the file is to hold it; null when it grew past the largest buffer Node makes. */
  bytes(): Uint8Array | null {
    return this.text.overflowed ? null : this.text.bytes();
  }

  toString(): string {
    return this.text.toString();
  }

  private newHistogram(): Histogram {
    return this.hdr.build({
      bitBucketSize: 64,
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000_000,
      numberOfSignificantValueDigits: 3,
    });
  }
}
