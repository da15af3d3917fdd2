import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type ReadResult, SysRoot } from '../../src/backends/sysfs/fs.js';
import { iomemAddressesHidden, isInvalidationTarget, parseIomem } from '../../src/backends/sysfs/iomem.js';
import { listRegions } from '../../src/backends/sysfs/regions.js';
import type { SysfsRegionInfo } from '../../src/backends/types.js';
import { ofKind } from '../helpers/regions.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';

const fixture = fixtureEachTest('cxl');

const byKind = async <K extends SysfsRegionInfo['kind']>(kind: K) =>
  ofKind((await listRegions(new SysRoot(fixture.root))).regions, kind);

describe('regions on the CXL fixture', () => {
  it('lists CXL regions with resource, size, mode, commit state and what uses them', async () => {
    const regions = await byKind('cxl_region');
    assert.deepEqual(
      regions.map((r) => [r.name, r.start, r.size, r['mode'], r['committed']]),
      [
        ['region0', '0x4080000000', '1073741824', 'ram', true],
        ['region1', '0x40c0000000', '1073741824', 'ram', false],
        ['region2', '0x4100000000', '268435456', 'ram', true],
      ],
    );
    assert.deepEqual(regions[0]!['dax_devices'], [{ name: 'dax0.0', driver: 'kmem' }]);
    assert.deepEqual(regions[0]!['memdevs'], ['mem0']);
    assert.equal(regions[1]!['driver'], null);
  });

  it('lists CXL memdevs with security state and committed decoders', async () => {
    const memdevs = await byKind('cxl_memdev');
    assert.deepEqual(
      memdevs.map((m) => [
        m.name,
        m['security_state'],
        m['decoders_committed'],
        m['sanitize'],
        m['secure_erase'],
      ]),
      [
        ['mem0', 'disabled', 2, true, true],
        ['mem1', 'disabled', 0, true, true],
        ['mem2', 'disabled', 0, true, false],
      ],
    );
  });

  it('lists NVDIMM DIMMs and regions', async () => {
    const dimms = await byKind('nvdimm_dimm');
    const regions = await byKind('nvdimm_region');
    assert.deepEqual(
      dimms.map((d) => [d.name, d['security']]),
      [['nmem0', 'disabled']],
    );
    assert.deepEqual(
      regions.map((r) => [r.name, r.start, r.size, r['dimms']]),
      [['region0', '0x6000000000', '17179869184', ['nmem0']]],
    );
  });

  it('lists the /proc/iomem targets with their nesting', async () => {
    const iomem = await byKind('iomem');
    assert.deepEqual(
      iomem.map((r) => [r.name, r.start, r.size, r['parent']]),
      [
        ['CXL Window 0', '0x4080000000', '4294967296', null],
        ['region0', '0x4080000000', '1073741824', 'CXL Window 0'],
        ['region1', '0x40c0000000', '1073741824', 'CXL Window 0'],
        ['region2', '0x4100000000', '268435456', 'CXL Window 0'],
        ['Soft Reserved', '0x5000000000', '17179869184', null],
        ['Persistent Memory', '0x6000000000', '17179869184', null],
      ],
    );
  });

  it('does not print zeros as addresses when /proc/iomem hides them (no root), and says so', async () => {
    const file = path.join(fixture.root, 'proc/iomem');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/[0-9a-f]+-[0-9a-f]+ :/g, '00000000-00000000 :'));
    const report = await listRegions(new SysRoot(fixture.root));
    const iomem = report.regions.filter((r) => r.kind === 'iomem');
    assert.equal(iomem.length, 6);
    assert.ok(iomem.every((r) => r.start === null && r.size === null));
    assert.match(report.warnings.join('\n'), /addresses read as zero without root/);
  });

  it('reports an unreadable /proc/iomem as a warning, not an error', async () => {
    class DeniedIomem extends SysRoot {
      override async read(relative: string): Promise<ReadResult> {
        if (relative === 'proc/iomem') return { ok: false, code: 'EACCES', denied: true };
        return super.read(relative);
      }
    }
    const report = await listRegions(new DeniedIomem(fixture.root));
    assert.match(report.warnings.join('\n'), /proc\/iomem: cannot read \(permission denied\)/);
    assert.equal(report.regions.filter((r) => r.kind === 'iomem').length, 0);
    assert.equal(report.regions.filter((r) => r.kind === 'cxl_region').length, 3);
  });

  it('lists nothing, without failing, on a machine without CXL or NVDIMM', async () => {
    const report = await listRegions(new SysRoot(path.join(fixture.root, 'sys/kernel')));
    assert.deepEqual(report.regions, []);
  });
});

describe('/proc/iomem parsing', () => {
  it('reads nesting from two spaces per level', () => {
    const entries = parseIomem(
      'a0-ff : CXL Window 1\n  a0-bf : region3\n    a0-af : dax3.0\n  c0-ff : region4\n100-1ff : System RAM\n',
    );
    assert.deepEqual(
      entries.map((e) => [e.name, e.depth, e.parent, e.start, e.end]),
      [
        ['CXL Window 1', 0, null, 0xa0n, 0xffn],
        ['region3', 1, 'CXL Window 1', 0xa0n, 0xbfn],
        ['dax3.0', 2, 'region3', 0xa0n, 0xafn],
        ['region4', 1, 'CXL Window 1', 0xc0n, 0xffn],
        ['System RAM', 0, null, 0x100n, 0x1ffn],
      ],
    );
  });

  // Session 7: `5000-1000 : Soft Reserved` in a --root tree was listed with a size of -16383.
  it('skips a line whose end is below its start: no resource the kernel holds', () => {
    const entries = parseIomem('5000-1000 : Soft Reserved\n6000-6fff : Soft Reserved\n');
    assert.deepEqual(
      entries.map((e) => [e.name, e.start, e.end]),
      [['Soft Reserved', 0x6000n, 0x6fffn]],
    );
  });

  it('nests below MAX_IORES_LEVEL by range, where r_show() stops indenting', () => {
    // kernel/resource.c r_show(): depth 8 and deeper are all printed 16 spaces in.
    const line = (depth: number, start: number, end: number, name: string) =>
      `${' '.repeat(2 * Math.min(depth, 8))}${start.toString(16)}-${end.toString(16)} : ${name}`;
    const chain = Array.from({ length: 8 }, (_, d) => line(d, 0x1000, 0x1fff, `level${d}`));
    const entries = parseIomem(
      [
        ...chain,
        line(8, 0x1000, 0x17ff, 'level8'),
        line(9, 0x1000, 0x13ff, 'level9'),
        line(10, 0x1000, 0x10ff, 'level10'),
        line(9, 0x1400, 0x17ff, 'level9b'),
        line(8, 0x1800, 0x1fff, 'level8b'),
        line(1, 0x2000, 0x2fff, 'after'),
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      entries.slice(8).map((e) => [e.name, e.depth, e.parent]),
      [
        ['level8', 8, 'level7'],
        ['level9', 9, 'level8'],
        ['level10', 10, 'level9'],
        ['level9b', 9, 'level8'],
        ['level8b', 8, 'level7'],
        ['after', 1, 'level0'],
      ],
    );
    // Without root every address is zero: the clamped entries stay at the printed level.
    const hidden = parseIomem(
      chain
        .concat(line(8, 0, 0, 'a'), line(9, 0, 0, 'b'))
        .join('\n')
        .replace(/[0-9a-f]+-[0-9a-f]+ :/g, '00000000-00000000 :'),
    );
    assert.deepEqual(
      hidden.slice(8).map((e) => [e.name, e.depth, e.parent]),
      [
        ['a', 8, 'level7'],
        ['b', 8, 'level7'],
      ],
    );
  });

  it('knows which names are invalidation targets', () => {
    for (const name of [
      'CXL Window 0',
      'CXL Window 12',
      'region7',
      'Soft Reserved',
      'Persistent Memory',
      'Persistent Memory (legacy)',
    ]) {
      assert.ok(isInvalidationTarget(name), name);
    }
    for (const name of ['System RAM', 'dax0.0', 'Kernel code', 'CXL Window', 'region'])
      assert.ok(!isInvalidationTarget(name), name);
  });

  it('tells hidden addresses from a real zero range', () => {
    assert.ok(
      iomemAddressesHidden(parseIomem('00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n')),
    );
    assert.ok(
      !iomemAddressesHidden(parseIomem('00000000-00000fff : Reserved\n00001000-0009ffff : System RAM\n')),
    );
  });
});

describe('regions on a hostile --root tree (session 8)', () => {
  it('a proc/iomem of hundreds of thousands of targets is listed, not an internal error (call stack exceeded)', async () => {
    const lines = 300_000;
    writeFileSync(
      path.join(fixture.root, 'proc/iomem'),
      '4080000000-40bfffffff : CXL Window 0\n'.repeat(lines),
    );
    const iomem = await byKind('iomem');
    assert.equal(iomem.length, lines);
  });
});
