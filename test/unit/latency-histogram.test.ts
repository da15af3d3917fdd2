/**
 * Issue 10: the terminal latency histogram (src/render/histogram.ts) and the log-scaled buckets it
 * reads (src/core/latency.ts), on fixed inputs, with colour on and off.
 */
import assert from 'node:assert/strict';
import { createHistogram } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { Chalk } from 'chalk';
import fc from 'fast-check';
import type { EmulatedTraceEvent, SysfsTraceEvent } from '../../src/backends/types.js';
import {
  bucketFloorNs,
  bucketIndex,
  type LatencyDistribution,
  LatencyRecorder,
} from '../../src/core/latency.js';
import { formatNs, renderLatencyHistogram } from '../../src/render/histogram.js';

const ANSI = /\u001b\[[0-9;]*m/g;
const plain = new Chalk({ level: 0 });
const colour = new Chalk({ level: 1 });

function recorded(latenciesUs: Array<[us: number, times: number]>): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const [us, times] of latenciesUs) for (let i = 0; i < times; i++) recorder.recordUs(us);
  return recorder;
}

describe('log-scaled latency buckets', () => {
  test('bounds are 1, 1.5, 2, 3, 5, 7 per decade, exactly at powers of ten', () => {
    assert.deepEqual(
      Array.from({ length: 8 }, (_, i) => bucketFloorNs(i)),
      [1, 1.5, 2, 3, 5, 7, 10, 15],
    );
    for (let decade = 0; decade < 13; decade++) {
      const ns = 10 ** decade;
      assert.equal(bucketIndex(ns), decade * 6, `10^${decade} ns starts its decade`);
      if (decade > 0) assert.equal(bucketIndex(ns - 1), decade * 6 - 1, `10^${decade} - 1 ns ends the last`);
    }
    assert.equal(bucketIndex(1499), 18);
    assert.equal(bucketIndex(1500), 19);
    assert.equal(bucketIndex(6999), 22);
    assert.equal(bucketIndex(7000), 23);
  });

  test('past 2^31 ns the buckets are found by octave too: at every power of two, and to the last bucket', () => {
    for (let k = 31; k < 44; k++) {
      for (const ns of [2 ** k - 1, 2 ** k, 2 ** k + 1]) {
        const i = bucketIndex(ns);
        assert.ok(bucketFloorNs(i) <= ns && ns < bucketFloorNs(i + 1), `${ns} ns in bucket ${i}`);
      }
    }
    const last = 13 * 6 - 1;
    assert.equal(bucketIndex(10 ** 13 - 1), last, 'just below 10^13 ns: the last bucket, 7e12 ns on');
    for (const ns of [10 ** 13, 2 ** 44, 2 ** 60, Number.MAX_SAFE_INTEGER, 1e300]) {
      assert.equal(bucketIndex(ns), last, `${ns} ns is counted in the last bucket`);
    }
  });

  test('every latency falls inside the bounds of its bucket', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_600_000_000_000 }), (ns) => {
        const i = bucketIndex(ns);
        return bucketFloorNs(i) <= ns && ns < bucketFloorNs(i + 1);
      }),
    );
  });

  test('the distribution runs from the first to the last non-empty bucket and counts every value', () => {
    const d = recorded([
      [1.2, 3],
      [40, 2],
      [0.0004, 1],
    ]).distribution();
    assert.equal(d.total, 6);
    assert.equal(d.buckets[0]!.from_ns, 1, '0.4 ns is recorded as 1 ns');
    assert.equal(d.buckets.at(-1)!.from_ns, 30_000);
    assert.equal(
      d.buckets.reduce((sum, b) => sum + b.count, 0),
      6,
    );
    assert.ok(
      d.buckets.some((b) => b.count === 0),
      'empty buckets between are kept',
    );
    assert.deepEqual(new LatencyRecorder().distribution(), { total: 0, buckets: [] });
  });

  test('a tap sees every latency in ns', () => {
    const seen: number[] = [];
    const recorder = new LatencyRecorder({ tap: (ns) => seen.push(ns) });
    recorder.recordUs(2.5);
    recorder.recordUs(1000);
    assert.deepEqual(seen, [2500, 1_000_000]);
  });
});

const FIXED: LatencyDistribution = {
  total: 1000,
  buckets: [
    { from_ns: 50_000, to_ns: 70_000, count: 1 },
    { from_ns: 70_000, to_ns: 100_000, count: 0 },
    { from_ns: 100_000, to_ns: 150_000, count: 600 },
    { from_ns: 150_000, to_ns: 200_000, count: 300 },
    { from_ns: 200_000, to_ns: 300_000, count: 94 },
    { from_ns: 300_000, to_ns: 500_000, count: 4 },
    { from_ns: 500_000, to_ns: 700_000, count: 1 },
  ],
};

describe('LatencyRecorder', () => {
  test('percentiles, max, mean and count are those of every latency, however many are held back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 2000 }),
        (ns) => {
          const recorder = new LatencyRecorder();
          const reference = createHistogram({ lowest: 1, highest: 3_600_000_000_000, figures: 3 });
          for (const value of ns) {
            recorder.recordUs(value / 1000);
            reference.record(value);
          }
          assert.equal(recorder.count, ns.length);
          const summary = recorder.summary()!;
          assert.equal(summary.p50, reference.percentile(50) / 1000);
          assert.equal(summary.p999, reference.percentile(99.9) / 1000);
          assert.equal(summary.max, reference.max / 1000);
          recorder.recordUs(1);
          assert.equal(recorder.count, ns.length + 1, 'a latency after a summary is counted too');
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('renderLatencyHistogram', () => {
  test('colour off: plain ASCII, one row per bucket, percentiles on the rows they fall in', () => {
    const text = renderLatencyHistogram(FIXED, 'request', plain);
    assert.equal(
      text,
      [
        'latency histogram (log-scaled buckets), 1000 requests',
        '  < 70 µs .                                            1   0.1%',
        ' < 100 µs                                              0     0%',
        ' < 150 µs ####################################       600  60.0%  p50',
        ' < 200 µs ##################                         300  30.0%',
        ' < 300 µs #####                                       94   9.4%  p99',
        ' < 500 µs .                                            4   0.4%  p99.9',
        ' < 700 µs .                                            1   0.1%',
      ].join('\n'),
    );
    assert.doesNotMatch(text, ANSI);
    assert.match(text, /^[\x20-\x7e\nµ]*$/, 'ASCII but for µ: reads the same in a log file');
  });

  test('colour on: block bars with eighths, coloured, same numbers and marks', () => {
    const text = renderLatencyHistogram(FIXED, 'request', colour);
    assert.match(text, ANSI);
    const lines = text.replace(ANSI, '').split('\n');
    assert.equal(lines[3], ' < 150 µs ████████████████████████████████████       600  60.0%  p50');
    assert.equal(lines[4], ' < 200 µs ██████████████████                         300  30.0%');
    assert.equal(lines[5], ' < 300 µs █████▋                                      94   9.4%  p99');
    assert.equal(
      lines[1],
      '  < 70 µs ▏                                            1   0.1%',
      'a tail of one still shows',
    );
    assert.doesNotMatch(text, /#/);
  });

  test('fits 80 columns whatever the counts', () => {
    const wide = recorded([
      [0.001, 1],
      [3_000_000_000, 1],
      [50, 999_999_999],
    ]).distribution();
    for (const paint of [plain, colour]) {
      for (const line of renderLatencyHistogram(wide, 'invalidation', paint).split('\n')) {
        assert.ok(line.replace(ANSI, '').length <= 80, `too wide: ${JSON.stringify(line)}`);
      }
    }
  });

  test('rounding never shows 100% for a bucket that holds less than all', () => {
    const text = renderLatencyHistogram(
      recorded([
        [10, 19_991],
        [1, 9],
      ]).distribution(),
      'request',
      plain,
    );
    assert.match(text, />99\.9%/);
    assert.doesNotMatch(text, /100\.0%/);
  });

  test('one bucket holds every mark; nothing recorded renders nothing', () => {
    const text = renderLatencyHistogram(recorded([[5, 10]]).distribution(), 'request', plain);
    assert.match(text, /100\.0% {2}p50 p99 p99\.9$/);
    assert.match(
      renderLatencyHistogram(recorded([[5, 1]]).distribution(), 'request', plain),
      /, 1 request\n/,
    );
    assert.equal(renderLatencyHistogram({ total: 0, buckets: [] }, 'request', plain), '');
  });

  test('bounds are printed in the unit that keeps them short', () => {
    assert.deepEqual([1, 700, 1500, 20_000, 3_000_000, 5e9].map(formatNs), [
      '1 ns',
      '700 ns',
      '1.5 µs',
      '20 µs',
      '3 ms',
      '5 s',
    ]);
  });
});

describe('trace: the histogram is of the invalidations the summary counts', () => {
  test('sysfs `invalidate` and emulated `complete` events with a latency; provider calls and unfinished ones not', async () => {
    const { isInvalidation } = await import('../../src/commands/trace.js');
    const { summarizeEvents } = await import('../../src/backends/sysfs/trace-events.js');
    // The kprobe fields the summary and the histogram do not read, as one process on one CPU.
    const kernelCall = (
      event: Pick<SysfsTraceEvent, 'time_us' | 'kind' | 'latency_us' | 'ret'> & Partial<SysfsTraceEvent>,
    ): SysfsTraceEvent => ({
      function: 'cpu_cache_invalidate_memregion',
      pid: 1,
      comm: 'memregion',
      cpu: 0,
      complete: event.ret !== null,
      ...event,
    });
    const sysfs = [
      kernelCall({ time_us: 1, kind: 'invalidate', latency_us: 250, ret: 0 }),
      kernelCall({ time_us: 2, kind: 'provider', function: 'smccc_cache_wbinv', latency_us: 240, ret: 0 }),
      kernelCall({ time_us: 3, kind: 'invalidate', latency_us: 1000, ret: -16 }),
      kernelCall({ time_us: 4, kind: 'invalidate', latency_us: null, ret: null }),
    ];
    const summary = summarizeEvents(sysfs);
    const recorder = new LatencyRecorder();
    for (const event of sysfs) if (isInvalidation(event)) recorder.recordUs(event.latency_us);
    assert.equal(recorder.count, 2, 'the two the summary has percentiles of');
    assert.equal(summary.latency_us?.max, 1000);
    assert.equal(recorder.distribution().total, 2);
    const complete: EmulatedTraceEvent = {
      time_us: 5,
      source_time_us: 5,
      kind: 'complete',
      seq: 1,
      errno: null,
      attempts: 1,
      latency_us: 12.5,
      ret: 0,
    };
    const firmwareCall: EmulatedTraceEvent = {
      time_us: 6,
      source_time_us: 6,
      kind: 'firmware_call',
      seq: 1,
      attempt: 1,
      start: '0x0',
      size: '64',
      flags: 0,
      status: 'SUCCESS',
      duration_us: 50,
    };
    assert.ok(isInvalidation(complete));
    assert.ok(!isInvalidation(firmwareCall));
  });
});
