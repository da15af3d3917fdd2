import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootScenario, captureFixture, type Scenario, timing } from './scenario.js';

// Linux 7.2 (Debian's newest) in an x86_64 guest whose CPUID says "hypervisor": the kernel has
// cpu_cache_invalidate_memregion but refuses it (WARN_ON_ONCE, -ENXIO), so there is no provider.
describe('x86_64 guest, Debian newest kernel', () => {
  let s: Scenario;
  before(async () => {
    s = await bootScenario('x86-guest', ['--cpu', 'guest']);
    await captureFixture(path.join(s.out, 'tree-configured'), 'x86-guest-region-configured');
    console.log(timing('x86_64 guest', s));
  });
  after(async () => {
    if (s) await rm(s.out, { recursive: true, force: true });
  });

  test('the scenario ran to its end and both memdevs came up, found by serial', async () => {
    assert.equal(s.summary.command.exit_code, 0);
    assert.deepEqual(s.summary.modules.failed, []);
    assert.deepEqual(
      s.summary.topology.cxl.map((d) => d.serial),
      ['0x1001', '0x1002'],
    );
    for (const device of s.summary.topology.cxl) assert.match(device.memdev ?? '', /^mem\d+$/);
  });

  test('probe: unsupported because of the hypervisor flag, exit 69', async () => {
    assert.equal(await s.rc('probe'), 69);
    const probe = await s.json<{ verdict: string; reasons: string[]; provider: { name: string } }>('probe');
    assert.equal(probe.verdict, 'unsupported');
    assert.equal(probe.provider.name, 'wbinvd');
    assert.match(probe.reasons[0] ?? '', /hypervisor flag is set/);
  });

  test('regions agree with cxl-cli on memdevs, serials and the configured region', async () => {
    type Region = {
      name: string;
      kind: string;
      serial?: string;
      size: string;
      committed?: boolean;
      memdevs?: string[];
      serials?: string[];
    };
    const regions = (await s.json<{ regions: Region[] }>('regions')).regions;
    const cxlMemdevs = JSON.parse(await s.text('cxl-list.out')) as {
      memdev: string;
      serial: number;
      ram_size?: number;
      pmem_size?: number;
    }[];
    const ours = regions.filter((r) => r.kind === 'cxl_memdev');
    assert.equal(ours.length, cxlMemdevs.length);
    for (const theirs of cxlMemdevs) {
      const mine = ours.find((r) => r.name === theirs.memdev);
      assert.ok(mine, `memregion lists ${theirs.memdev}`);
      assert.equal(BigInt(mine.serial ?? 'x'), BigInt(theirs.serial));
      assert.equal(mine.size, String((theirs.ram_size ?? 0) + (theirs.pmem_size ?? 0)));
    }
    const name = (await s.text('region.name')).trim();
    const region = regions.find((r) => r.name === name);
    assert.ok(region);
    assert.equal(region.committed, false);
    assert.equal(region.size, String(256 * 1024 * 1024));
    assert.deepEqual(region.serials, ['0x1001']);
    const cxlRegions = JSON.parse(await s.text('cxl-list-regions.out')) as { region: string; size: number }[];
    assert.deepEqual(
      cxlRegions.map((r) => [r.region, String(r.size)]),
      [[name, region.size]],
    );
    assert.match(await s.text('regions-human.out'), /serial=0x1001/);
  });

  test('refusals come in order: no provider (69) before no --yes (64); a bad name is 65', async () => {
    assert.equal(await s.rc('no-provider'), 69);
    assert.match(
      await s.text('no-provider.err'),
      /^memregion: .*without a cache invalidation provider.*--force/m,
    );
    assert.equal(await s.rc('force-no-yes'), 64);
    assert.match(await s.text('force-no-yes.err'), /--yes/);
    assert.equal(await s.rc('bad-region'), 65);
  });

  test('--force: the kernel refuses the commit with ENXIO, WARNs and taints; memregion says so (69)', async () => {
    // TAINT_WARN (bit 9, 512): what the kernel's WARN adds; Debian's unsigned test modules already set bit 13.
    const WARN = 512;
    assert.equal(Number(await s.text('before-force.tainted')) & WARN, 0);
    assert.equal(await s.rc('force'), 69);
    assert.match(await s.text('force.err'), /ENXIO/);
    assert.match(await s.text('after-force.dmesg'), /Failed to synchronize CPU cache state/);
    assert.equal(Number(await s.text('after-force.tainted')) & WARN, WARN);
    assert.equal((await s.text('commit-after-force')).trim(), '0');
  });

  test('lockdown=confidentiality: tracefs is refused and said so, never a stack trace', async () => {
    const probe = await s.json<{ verdict: string; evidence: { source: string; detail: string }[] }>(
      'lockdown-probe',
    );
    assert.equal(probe.verdict, 'unsupported');
    assert.ok(probe.evidence.some((e) => /lockdown/.test(e.source) && /confidentiality/.test(e.detail)));
    const rc = await s.rc('lockdown-trace');
    assert.notEqual(rc, 0);
    const err = await s.text('lockdown-trace.err');
    assert.match(err, /^memregion: .*lockdown/m);
    assert.doesNotMatch(err, /\n\s+at /);
  });
});
