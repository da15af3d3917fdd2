/**
 * Issue 10: `stress --hdr-log` writes the HdrHistogram interval log with hdr-histogram-js; read back
 * with the same library's reader, every interval, count, tag and timestamp is what was recorded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HistogramLogReader } from 'hdr-histogram-js';
import { LatencyRecorder } from '../../src/core/latency.js';
import { HdrIntervalLog } from '../../src/render/hdr-log.js';

const STARTED_AT_MS = 1_796_000_000_000;

function readAll(text: string) {
  const reader = new HistogramLogReader(text);
  const intervals = [];
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    intervals.push({
      startSec: h.startTimeStampMsec / 1000 - STARTED_AT_MS / 1000,
      lengthSec: (h.endTimeStampMsec - h.startTimeStampMsec) / 1000,
      count: h.totalCount,
      maxNs: h.maxValue,
      p50Ns: h.getValueAtPercentile(50),
      tag: h.tag,
    });
  }
  return intervals;
}

describe('HdrIntervalLog', () => {
  test('one histogram per interval, timestamps relative to the start, values in ns', async () => {
    const log = await HdrIntervalLog.create({ startedAtMs: STARTED_AT_MS, virtualTime: false, what: 'test' });
    const recorder = new LatencyRecorder({ tap: log.record });
    for (let i = 0; i < 100; i++) recorder.recordUs(10);
    log.endInterval(1_000_000);
    for (let i = 0; i < 50; i++) recorder.recordUs(2000);
    recorder.recordUs(7000);
    log.endInterval(2_000_000);
    log.endInterval(2_500_000); // an empty interval still holds its place on the time line
    log.endInterval(2_500_000); // nothing new: no line
    const text = log.toString();
    assert.match(text, /^#\[Logged with memregion test\]\n#\[Histogram log format version 1\.3\]\n/);
    assert.match(text, /^#\[StartTime: 1796000000\.000 \(seconds since epoch\), 2026-/m);
    assert.match(
      text,
      /^"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"$/m,
    );
    assert.match(text, /^1\.000,1\.000,7\.00\d,HIST/m, 'Interval_Max in ms');
    const intervals = readAll(text);
    assert.equal(intervals.length, 3);
    assert.deepEqual(
      intervals.map((i) => [i.startSec, i.lengthSec, i.count]),
      [
        [0, 1, 100],
        [1, 1, 51],
        [2, 0.5, 0],
      ],
    );
    assert.ok(Math.abs(intervals[0]!.p50Ns - 10_000) / 10_000 < 1e-3, 'p50 within 3 figures');
    assert.ok(Math.abs(intervals[1]!.maxNs - 7_000_000) / 7_000_000 < 1e-3, 'max within 3 figures');
    assert.equal(recorder.count, 151, 'the recorder counted the same values');
    assert.equal(log.intervalCount, 3);
  });

  test('tags (stress --compare): each tagged series restarts at 0 on its own clock', async () => {
    const log = await HdrIntervalLog.create({ startedAtMs: STARTED_AT_MS, virtualTime: true, what: 'test' });
    assert.match(log.toString(), /virtual time/);
    for (const [tag, n] of [
      ['v2', 3],
      ['batched', 5],
    ] as const) {
      for (let i = 0; i < n; i++) log.record(1000);
      log.endInterval(500_000, tag);
      log.record(1000);
      log.endInterval(800_000, tag);
      log.restartClock();
    }
    const intervals = readAll(log.toString());
    assert.deepEqual(
      intervals.map((i) => [i.tag, i.startSec, i.count]),
      [
        ['v2', 0, 3],
        ['v2', 0.5, 1],
        ['batched', 0, 5],
        ['batched', 0.5, 1],
      ],
    );
  });
});
