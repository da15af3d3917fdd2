/**
 * Issue 10, "What stress users expect to see": the latency histogram at the end of the human report of
 * `stress` and `trace`, `stress --hdr-log FILE` (read back with hdr-histogram-js), and `stress --compare`
 * (table, JSON shape, exit codes, the flags it refuses).
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { HistogramLogReader } from 'hdr-histogram-js';
import {
  ANSI,
  assertExit,
  assertOneErrorLine,
  assertRefused,
  assertSnakeCaseKeys,
  BIN,
  cli,
  describeResult,
  emu,
  NODE,
  parseJson,
  scratchDir,
  withoutHostMeasurements,
} from '../helpers/cli.js';

const SIM = ['--seed', '5', '--profile', 'busy', 'stress', '--virtual-time', '--workers', '8'];

function readLog(file: string) {
  const reader = new HistogramLogReader(readFileSync(file, 'utf8'));
  const intervals = [];
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    intervals.push({
      start: h.startTimeStampMsec,
      end: h.endTimeStampMsec,
      count: h.totalCount,
      tag: h.tag,
    });
  }
  return intervals;
}

describe('latency histogram in the human report', () => {
  test('stress: ends with the histogram, percentiles marked; plain ASCII without colour', async () => {
    const r = await emu([...SIM, '--ops', '3000']);
    assertExit(r, 0);
    const [, histogram] = r.stdout.split('\n\nlatency histogram (log-scaled buckets), 3000 requests\n');
    assert.ok(histogram, `no histogram after the report\n${describeResult(r)}`);
    const rows = histogram.trimEnd().split('\n');
    assert.ok(rows.length >= 3, describeResult(r));
    for (const row of rows) {
      assert.match(row, /^ *< [\d.]+ (ns|µs|ms|s) [#. ]* +\d+ +[<>]?[\d.]+%( {2}p[\d. p]+)?$/, row);
      assert.ok(row.length <= 80, `wider than 80 columns: ${row}`);
    }
    for (const mark of ['p50', 'p99', 'p99.9'])
      assert.ok(
        rows.some((row) => row.split('  ').at(-1)!.split(' ').includes(mark)),
        `${mark} marked`,
      );
    const counted = rows.reduce((sum, row) => sum + Number(/ (\d+) +[<>\d.]+%/.exec(row)![1]), 0);
    assert.equal(counted, 3000, 'the buckets hold every request');
    assert.doesNotMatch(r.stdout, ANSI);
  });

  test('colour on (FORCE_COLOR): block bars in colour', async () => {
    const r = await emu([...SIM, '--ops', '500'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    assertExit(r, 0);
    const histogram = r.stdout.slice(r.stdout.indexOf('latency histogram'));
    assert.match(histogram, ANSI);
    assert.match(histogram, /█/);
    assert.doesNotMatch(histogram, /#/);
  });

  test('--no-color wins over FORCE_COLOR; JSON and prometheus carry no histogram', async () => {
    const plain = await emu(['--no-color', ...SIM, '--ops', '200'], {
      env: { NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    assert.doesNotMatch(plain.stdout, ANSI);
    assert.match(plain.stdout, /latency histogram/);
    const json = await emu(['--json', ...SIM, '--ops', '200']);
    assert.ok(!('latency_histogram' in parseJson(json)));
    assert.doesNotMatch(json.stdout, /histogram/);
    const prom = await emu(['--format', 'prometheus', ...SIM, '--ops', '200']);
    assertExit(prom, 0);
    assert.doesNotMatch(prom.stdout, /latency histogram|#{3}/);
  });

  test('trace (emulated): the summary ends with the histogram of the traced invalidations', async () => {
    const r = await emu(
      ['trace', '--', NODE, BIN, '-b', 'emulated', '--seed', '1', 'stress', '--virtual-time', '--ops', '40'],
      { timeoutMs: 60_000 },
    );
    assertExit(r, 0);
    assert.match(r.stdout, /trace summary\n {2}invalidations +40\n/);
    assert.match(r.stdout, /\n\nlatency histogram \(log-scaled buckets\), 40 invalidations\n/);
    assert.match(r.stdout, /p50/);
    const json = await emu([
      'trace',
      '--json',
      '--',
      NODE,
      BIN,
      '-b',
      'emulated',
      'invalidate',
      '0x80000000',
      '4K',
    ]);
    assertExit(json, 0);
    assert.doesNotMatch(json.stdout, /latency histogram/);
  });
});

describe('stress --hdr-log', () => {
  test('one histogram per --interval of virtual time; the counts add up to the report', async () => {
    const file = path.join(scratchDir('hdr'), 'run.hlog');
    const r = await emu(['--json', ...SIM, '--duration', '2s', '--hdr-log', file, '--interval', '250ms']);
    assertExit(r, 0);
    // --json --interval: the interval lines as ever, then the report line.
    const doc = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!);
    assert.equal(doc.type, 'report');
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^#\[Histogram log format version 1\.3\]$/m);
    assert.match(text, /virtual time/);
    const intervals = readLog(file);
    assert.equal(intervals.length, 8, 'two seconds in 250 ms intervals');
    assert.equal(
      intervals.reduce((sum, i) => sum + i.count, 0),
      doc.requests.completed + doc.requests.failed,
    );
    const lengths = intervals.map((i) => (i.end - i.start) / 1000);
    for (const length of lengths) assert.ok(length >= 0.25 && length < 0.26, `interval of ${length} s`);
    assert.equal(Math.round(intervals.at(-1)!.end - intervals[0]!.start), 2000);
  });

  test('real time: the intervals are timer ticks; the counts still add up to the report', async () => {
    const file = path.join(scratchDir('hdr'), 'real.hlog');
    const r = await emu([
      '--json',
      '--seed',
      '2',
      'stress',
      '--duration',
      '400ms',
      '--hdr-log',
      file,
      '--interval',
      '100ms',
    ]);
    assertExit(r, 0);
    const doc = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!);
    const intervals = readLog(file);
    assert.ok(intervals.length >= 2 && intervals.length <= 6, `${intervals.length} intervals`);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /virtual time/);
    assert.equal(
      intervals.reduce((sum, i) => sum + i.count, 0),
      doc.requests.completed + doc.requests.failed,
    );
  });

  test('default interval 1 s; --json prints no interval lines unless --interval is given', async () => {
    const file = path.join(scratchDir('hdr'), 'default.hlog');
    const r = await emu(['--json', ...SIM, '--duration', '3s', '--hdr-log', file]);
    assertExit(r, 0);
    parseJson(r);
    assert.equal(readLog(file).length, 3);
  });

  test('a symlink is followed and kept, as for --output; no temporary file is left', async () => {
    const dir = scratchDir('hdr-link');
    symlinkSync('real.hlog', path.join(dir, 'link.hlog'));
    const r = await emu([...SIM, '--ops', '100', '--hdr-log', path.join(dir, 'link.hlog')]);
    assertExit(r, 0);
    assert.ok(lstatSync(path.join(dir, 'link.hlog')).isSymbolicLink());
    assert.equal(
      readLog(path.join(dir, 'real.hlog')).reduce((sum, i) => sum + i.count, 0),
      100,
    );
    assert.deepEqual(readdirSync(dir).sort(), ['link.hlog', 'real.hlog']);
  });

  test('refused before the run: a missing folder (73), a directory (74), the --output file, stdout (64)', async () => {
    const dir = scratchDir('hdr-bad');
    assertRefused(
      await emu([...SIM, '--ops', '10', '--hdr-log', path.join(dir, 'no', 'such.hlog')]),
      73,
      /--hdr-log file .*such\.hlog/,
    );
    mkdirSync(path.join(dir, 'folder'));
    assertRefused(
      await emu([...SIM, '--ops', '10', '--hdr-log', path.join(dir, 'folder')]),
      74,
      /a directory/,
    );
    const same = path.join(dir, 'same');
    assertRefused(await emu(['--output', same, ...SIM, '--ops', '10', '--hdr-log', same]), 64, /same file/);
    assertRefused(await emu([...SIM, '--ops', '10', '--hdr-log', '/dev/stdout']), 64, /stdout/);
    assertRefused(await emu([...SIM, '--ops', '10', '--hdr-log', '']), 64, /--hdr-log/);
    assertRefused(
      await emu([...SIM, '--ops', '10', '--hdr-log', path.join(dir, 'fine.hlog'), '--interval', '500us']),
      64,
      /millisecond/,
    );
    assert.deepEqual(readdirSync(dir), ['folder'], 'nothing written');
    assertRefused(
      await emu([...SIM, '--ops', '10', '--interval', '1s']),
      64,
      /--interval needs --json or --hdr-log/,
    );
  });
});

describe('stress --compare', () => {
  const COMPARE = [
    '--seed',
    '1',
    'stress',
    '--virtual-time',
    '--workers',
    '16',
    '--ops',
    '4000',
    '--compare',
  ];

  test('--json: one document, the workload once, one row per variant in order; exit 0 with rfc violations', async () => {
    const r = await emu(['--json', ...COMPARE]);
    assertExit(r, 0);
    assert.equal(r.stderr, '');
    const doc = parseJson(r);
    assertSnakeCaseKeys(doc, ['by_status', 'errors']);
    assert.equal(doc.compare, true);
    assert.equal(doc.workers, 16);
    assert.equal(doc.seed, 1);
    assert.equal(doc.interrupted, false);
    assert.deepEqual(
      doc.variants.map((v: { provider: string }) => v.provider),
      ['v2', 'v1', 'rfc', 'batched'],
    );
    for (const row of doc.variants) {
      for (const key of [
        'throughput_per_s',
        'latency_us',
        'firmware',
        'retries',
        'coalescing_factor',
        'verify',
      ])
        assert.ok(key in row, `${row.provider} has ${key}`);
      assert.equal(row.requests.issued, 4000);
      assert.equal(row.verify.checked, row.requests.completed, 'every request verified');
    }
    const by = Object.fromEntries(doc.variants.map((v: { provider: string }) => [v.provider, v]));
    assert.ok(by.rfc.verify.violations > 0, "the RFC's race shows");
    assert.equal(by.batched.verify.violations, 0, 'batched keeps the guarantee');
    assert.ok(by.batched.firmware.calls < by.v2.firmware.calls, 'coalescing saves calls');
    assert.ok(by.batched.coalescing_factor > 1);
  });

  test('the same seed gives the same rows; the table has one line per variant', async () => {
    const a = parseJson(await emu(['--json', ...COMPARE]));
    const b = parseJson(await emu(['--json', ...COMPARE]));
    const strip = (doc: { variants: Array<Record<string, unknown>> }) =>
      doc.variants.map((row) => withoutHostMeasurements(row));
    assert.deepEqual(strip(a), strip(b));
    const human = await emu(COMPARE);
    assertExit(human, 0);
    const lines = human.stdout.trimEnd().split('\n');
    assert.match(lines[1]!, /^ {2}provider +req\/s +p50 +p99 +max +calls +retries +coalesce +violations$/);
    assert.deepEqual(
      lines.slice(2, 6).map((l) => l.trim().split(/ +/)[0]),
      ['v2', 'v1', 'rfc', 'batched'],
    );
  });

  test('with --verify a violation in any variant is exit 1, naming it; --hdr-log tags each variant', async () => {
    const file = path.join(scratchDir('hdr-compare'), 'compare.hlog');
    const r = await emu(['--json', ...COMPARE, '--verify', '--hdr-log', file]);
    assertExit(r, 1);
    assertOneErrorLine(r, /^memregion: rfc: verify: \d+ request\(s\) were served/);
    const doc = parseJson(r);
    const intervals = readLog(file);
    assert.deepEqual([...new Set(intervals.map((i) => i.tag))], ['v2', 'v1', 'rfc', 'batched']);
    for (const row of doc.variants) {
      const count = intervals.filter((i) => i.tag === row.provider).reduce((sum, i) => sum + i.count, 0);
      assert.equal(count, row.requests.completed + row.requests.failed, row.provider);
    }
  });

  test('refused (64): with --provider, on sysfs, with --region, as prometheus, with --json --interval', async () => {
    assertRefused(await emu(['--provider', 'v1', ...COMPARE]), 64, /--provider/);
    assertRefused(await emu([...COMPARE, '--region', 'region0']), 64, /--region/);
    assertRefused(await emu(['--format', 'prometheus', ...COMPARE]), 64, /prometheus/);
    assertRefused(await emu(['--json', ...COMPARE, '--interval', '1s']), 64, /--interval/);
    const root = scratchDir('sysfs-root');
    const sysfs = await cli(['-b', 'sysfs', '--root', root, 'stress', '--ops', '5', '--compare']);
    assertRefused(sysfs, 64, /--compare needs --backend emulated/);
    assert.ok(!existsSync(path.join(root, 'x')));
  });

  test('MEMREGION_PROVIDER is a default, not a choice: warned about and ignored', async () => {
    const r = await emu(['--json', ...COMPARE], { env: { MEMREGION_PROVIDER: 'rfc' } });
    assertExit(r, 0);
    assertOneErrorLine(r, /MEMREGION_PROVIDER is ignored/);
    assert.equal(parseJson(r).variants.length, 4);
  });
});
