import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { EndpointUports, listCxlMemdevs } from '../../src/backends/sysfs/cxl.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { listRegions } from '../../src/backends/sysfs/regions.js';
import type { SysfsCxlMemdevInfo } from '../../src/backends/types.js';
import { FIXTURES } from './helpers/sysfs-fixture.js';

/** A root that counts the readlinks of every endpoint's `uport` link. */
class CountingRoot extends SysRoot {
  readonly uportReads = new Map<string, number>();
  override async link(relative: string): Promise<string | null> {
    if (relative.endsWith('/uport')) this.uportReads.set(relative, (this.uportReads.get(relative) ?? 0) + 1);
    return super.link(relative);
  }
  get totalUportReads(): number {
    return [...this.uportReads.values()].reduce((sum, n) => sum + n, 0);
  }
}

const memdevsOf = (regions: { kind: string }[]) =>
  regions.filter((r): r is SysfsCxlMemdevInfo => r.kind === 'cxl_memdev');

/** A CXL tree of `count` memdevs; endpoint(count+i) stands for mem(count-1-i), so the last memdev's endpoint comes first. */
function treeOfMemdevs(count: number): { root: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'memregion-uports-'));
  const devices = path.join(dir, 'sys/bus/cxl/devices');
  for (let i = 0; i < count; i++) {
    const memdev = path.join(devices, `mem${i}`);
    mkdirSync(path.join(memdev, 'security'), { recursive: true });
    writeFileSync(path.join(memdev, 'serial'), `0x${i}\n`);
    writeFileSync(path.join(memdev, 'security/state'), 'disabled\n');
    const endpoint = path.join(devices, `endpoint${count + i}`);
    mkdirSync(endpoint);
    writeFileSync(path.join(endpoint, 'decoders_committed'), '0\n');
    symlinkSync(`../mem${count - 1 - i}`, path.join(endpoint, 'uport'));
  }
  return { root: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('`regions` reads each endpoint uport link once per listing', () => {
  test('the captured CXL tree: regions and memdevs share one reading of the three uport links', async () => {
    const sys = new CountingRoot(path.join(FIXTURES, 'cxl'));
    const report = await listRegions(sys);
    const memdevs = memdevsOf(report.regions);
    assert.deepEqual(
      memdevs.map((m) => [m.name, m.endpoint]),
      [
        ['mem0', 'endpoint3'],
        ['mem1', 'endpoint4'],
        ['mem2', 'endpoint5'],
      ],
    );
    assert.deepEqual([...sys.uportReads.values()], [1, 1, 1], [...sys.uportReads.keys()].join(', '));
  });

  test('16 memdevs behind 16 endpoints: 16 readlinks (one per endpoint), not one per memdev and endpoint', async () => {
    const tree = treeOfMemdevs(16);
    try {
      const sys = new CountingRoot(tree.root);
      const memdevs = memdevsOf((await listRegions(sys)).regions);
      assert.equal(memdevs.length, 16);
      for (const memdev of memdevs) {
        const index = Number(memdev.name.slice('mem'.length));
        assert.equal(memdev.endpoint, `endpoint${16 + (15 - index)}`, memdev.name);
      }
      assert.equal(sys.uportReads.size, 16);
      assert.equal(sys.totalUportReads, 16);
    } finally {
      tree.cleanup();
    }
  });

  test('16 memdevs: each endpoint is looked at once in all, not once per memdev (M×E steps, minutes on a big tree)', async () => {
    const tree = treeOfMemdevs(16);
    try {
      const uports = new EndpointUports(new SysRoot(tree.root));
      let asked = 0;
      const memdevOf = uports.memdevOf.bind(uports);
      uports.memdevOf = (endpoint) => {
        asked += 1;
        return memdevOf(endpoint);
      };
      const memdevs = await listCxlMemdevs(new SysRoot(tree.root), uports);
      assert.deepEqual(
        memdevs.map((m) => m.endpoint),
        memdevs.map((_, i) => `endpoint${16 + (15 - i)}`),
      );
      assert.equal(asked, 16);
    } finally {
      tree.cleanup();
    }
  });
});
