/**
 * `erase --region` on the sysfs backend, on a copy of the CXL fixture tree with an interleaved region
 * added (region3: 2-way over mem1 and mem2, committed). The test plays the kernel's part: a decommit
 * drops the endpoints' committed decoders, a write of 1 to security/sanitize starts a sanitize that ends
 * after a while (security/state reads `sanitize` until then).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RegionFlowDeps } from '../../src/backends/sysfs/commit.js';
import { type EraseDeps, eraseRegion } from '../../src/backends/sysfs/erase.js';
import type { RegionEraseOptions, Verdict } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { errnoError } from './helpers/recording-root.js';
import { refusal } from './helpers/refusal.js';
import { confirmer, fakeProbe } from './helpers/sysfs-fixture.js';

const DEVICES = 'sys/bus/cxl/devices';
const timers: NodeJS.Timeout[] = [];

const file = (relative: string) => path.join(fixture.root, relative);
const put = (relative: string, text: string) => writeFileSync(file(relative), `${text}\n`);
const read = (relative: string) => readFileSync(file(relative), 'utf8').trim();

/** As sysfs does, a reader sees the old value or the new one, never an empty file. */
function setAtomically(relative: string, text: string): void {
  writeFileSync(`${file(relative)}.new`, `${text}\n`);
  renameSync(`${file(relative)}.new`, file(relative));
}

function addInterleavedRegion(): void {
  const region = `${DEVICES}/region3`;
  mkdirSync(file(region));
  put(`${region}/commit`, '1');
  put(`${region}/interleave_ways`, '2');
  put(`${region}/target0`, 'decoder4.1');
  put(`${region}/target1`, 'decoder5.0');
  put(`${region}/size`, '0x20000000');
  put(`${region}/resource`, '0x4200000000');
  put(`${region}/mode`, 'ram');
  put(`${region}/devtype`, 'cxl_region');
  symlinkSync('../../drivers/cxl_region', file(`${region}/driver`));
  put(`${DEVICES}/endpoint4/decoders_committed`, '1');
  put(`${DEVICES}/endpoint5/decoders_committed`, '1');
}

/** The kernel's part; `sanitizeMs` per memdev (null: never ends), `refuse` fails a memdev's write. */
function kernel(sanitizeMs: Record<string, number | null>, refuse: Record<string, string> = {}): void {
  fixture.sys.hook = (relative, value) => {
    if (relative === `${DEVICES}/region3/commit`) {
      for (const endpoint of ['endpoint4', 'endpoint5'])
        setAtomically(`${DEVICES}/${endpoint}/decoders_committed`, value === '1' ? '1' : '0');
      return;
    }
    const match = /devices\/(mem[0-9]+)\/security\/(sanitize|erase)$/.exec(relative);
    if (!match || value !== '1') return;
    const memdev = match[1]!;
    if (refuse[memdev]) throw errnoError(refuse[memdev]!);
    if (read(`${DEVICES}/endpoint${memdev === 'mem1' ? 4 : 5}/decoders_committed`) !== '0')
      throw errnoError('EBUSY');
    setAtomically(`${DEVICES}/${memdev}/security/state`, 'sanitize');
    const ms = sanitizeMs[memdev];
    if (ms !== null && ms !== undefined)
      timers.push(setTimeout(() => setAtomically(`${DEVICES}/${memdev}/security/state`, 'disabled'), ms));
  };
}

const fixture = fixtureEachTest('cxl', {
  setUp: addInterleavedRegion,
  tearDown: () => {
    for (const t of timers) clearTimeout(t);
  },
});

const deps = (verdict: Verdict = 'supported'): EraseDeps & RegionFlowDeps => ({
  sys: fixture.sys,
  log: silentLogger,
  probe: fakeProbe(verdict),
  pollMs: 5,
  trace: false,
});
const options = (over: Partial<RegionEraseOptions> = {}): RegionEraseOptions => ({
  method: 'sanitize',
  recommit: false,
  timeoutMs: 5000,
  force: false,
  confirm: async () => true,
  signal: new AbortController().signal,
  ...over,
});
const short = (w: { file: string; value: string }) => `${w.file.split('/').slice(-2).join('/')}=${w.value}`;

describe('erase --region regionN (sysfs)', () => {
  it('asks once naming every device by serial, decommits, starts both sanitizes before waiting, recommits and binds', async () => {
    kernel({ mem1: 40, mem2: 80 });
    const ask = confirmer(true, () =>
      assert.deepEqual(fixture.sys.writes, [], 'nothing written before the answer'),
    );
    const report = await eraseRegion('region3', options({ recommit: true, confirm: ask.confirm }), deps());
    assert.deepEqual(ask.questions, [
      'Sanitize region3 (mem1 serial 0x2, mem2 serial 0x3)? It is decommitted first, then all data on these 2 devices is destroyed, and the region is committed again.',
    ]);
    assert.deepEqual(fixture.sys.writes.map(short), [
      'region3/commit=0',
      'security/sanitize=1',
      'security/sanitize=1',
      'region3/commit=1',
      'cxl_region/bind=region3',
    ]);
    assert.deepEqual(
      fixture.sys.writes.slice(1, 3).map((w) => w.file),
      [`${DEVICES}/mem1/security/sanitize`, `${DEVICES}/mem2/security/sanitize`],
    );
    assert.equal(report.backend, 'sysfs');
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.memdevs.map((m) => [m.memdev, m.serial, m.ok, m.state]),
      [
        ['mem1', '0x2', true, 'disabled'],
        ['mem2', '0x3', true, 'disabled'],
      ],
    );
    assert.ok(report.memdevs[1]!.elapsed_ms >= report.memdevs[0]!.elapsed_ms);
    assert.equal(report.status, 'committed');
    assert.deepEqual(report.commit?.plan, ['commit <- 1', 'bind cxl_region']);
    // Tracing was off: the report says the outcome cannot be known, as invalidate --region does.
    assert.equal(report.commit?.invalidated, null);
    assert.ok(report.warnings.some((w) => /outcome of region3's cache invalidation cannot be known/.test(w)));
    assert.match(report.next_step, /whether the kernel's cache invalidation succeeded cannot be known/);
  });

  it('without --recommit the region is left decommitted, and the next step says to commit it', async () => {
    kernel({ mem1: 5, mem2: 5 });
    const report = await eraseRegion('region3', options(), deps());
    assert.equal(report.ok, true);
    assert.equal(report.status, 'decommitted');
    assert.equal(read(`${DEVICES}/region3/commit`), '0');
    assert.match(report.next_step, /commit region3 again/);
  });

  it('a device the kernel refuses (EBUSY) does not stop the wait for the other; no recommit; the region is left decommitted', async () => {
    kernel({ mem1: 40, mem2: 40 }, { mem2: 'EBUSY' });
    const report = await eraseRegion('region3', options({ recommit: true }), deps());
    assert.equal(report.ok, false);
    assert.equal(report.errno, 'EBUSY');
    assert.deepEqual(
      report.memdevs.map((m) => [m.memdev, m.ok, m.error, m.state]),
      [
        ['mem1', true, null, 'disabled'],
        ['mem2', false, 'EBUSY', 'disabled'],
      ],
    );
    assert.ok(report.memdevs[0]!.elapsed_ms >= 30, 'mem1 was waited for');
    assert.ok(!fixture.sys.writes.some((w) => w.value === '1' && w.file.endsWith('/commit')), 'no recommit');
    assert.equal(read(`${DEVICES}/region3/commit`), '0');
    assert.ok(report.warnings.some((w) => /region3 is left decommitted/.test(w)));
  });

  it('a timeout (75) carries the report so far; the kernel keeps sanitizing', async () => {
    kernel({ mem1: 5, mem2: null });
    try {
      await eraseRegion('region3', options({ timeoutMs: 60 }), deps());
      assert.fail('the erase did not time out');
    } catch (error) {
      const e = error as { exitCode: number; message: string; partial?: Record<string, unknown> };
      assert.equal(e.exitCode, 75);
      assert.match(
        e.message,
        /timed out.*mem2.*keeps running \(watch sys\/bus\/cxl\/devices\/mem2\/security\/state\)/,
      );
      assert.equal(e.partial?.['outcome'], 'timeout');
      assert.deepEqual(
        (e.partial!['memdevs'] as Array<{ ok: boolean; state: string }>).map((m) => [m.ok, m.state]),
        [
          [true, 'disabled'],
          [false, 'sanitize'],
        ],
      );
    }
  });
});

describe('erase --region refusals (sysfs), before any write', () => {
  it('a memdev that also decodes another committed region (75): mem0 carries region0 and region2', async () => {
    await assert.rejects(
      eraseRegion('region2', options(), deps()),
      refusal(
        75,
        /mem0 also decodes another region \(2 decoder\(s\) committed on endpoint3, 1 of them region2's\)/,
      ),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('a region in use (75), a device without security/erase (69)', async () => {
    await assert.rejects(eraseRegion('region0', options(), deps()), refusal(75, /in use.*dax0\.0/));
    await assert.rejects(
      eraseRegion('region3', options({ method: 'secure-erase' }), deps()),
      refusal(69, /mem2 has no security\/erase/),
    );
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('no provider: 69 before the question; then a refused confirmation: 64', async () => {
    const ask = confirmer(false);
    await assert.rejects(
      eraseRegion('region3', options({ confirm: ask.confirm }), deps('unsupported')),
      refusal(69, /refusing to sanitize region3: the probe verdict is "unsupported".*--force/),
    );
    assert.equal(ask.questions.length, 0);
    await assert.rejects(
      eraseRegion('region3', options({ confirm: ask.confirm }), deps()),
      refusal(64, /^cancelled$/),
    );
    assert.equal(ask.questions.length, 1);
    assert.deepEqual(fixture.sys.writes, []);
  });

  it('bad and unknown names (65)', async () => {
    await assert.rejects(eraseRegion('region3/..', options(), deps()), refusal(65, /is not a region name/));
    await assert.rejects(eraseRegion('region9', options(), deps()), refusal(65, /^no such region: region9/));
  });
});
