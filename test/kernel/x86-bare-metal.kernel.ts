import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootScenario, captureFixture, type Scenario, timing } from './scenario.js';

interface Report {
  ok: boolean;
  errno: string | null;
  action: string;
  status: string;
  driver: string | null;
  plan: string[];
  kernel_calls: { count: number | null; events?: { kind: string; start?: string; len?: string }[] };
}

// Linux 7.2 on an x86_64 CPU without the hypervisor bit: cpu_cache_invalidate_memregion is WBINVD on all
// CPUs, so commits go through; kprobes on it show each call. Tracing itself is x86-bare-metal-trace.kernel.ts.
describe('x86_64 bare metal, Debian newest kernel', () => {
  let s: Scenario;
  before(async () => {
    s = await bootScenario('x86-bare-metal', ['--cpu', 'bare-metal']);
    await captureFixture(path.join(s.out, 'tree-committed'), 'x86-bare-metal-region-committed');
    await captureFixture(path.join(s.out, 'tree-in-use'), 'x86-bare-metal-region-in-use');
    console.log(timing('x86_64 bare metal', s));
  });
  after(async () => {
    if (s) await rm(s.out, { recursive: true, force: true });
  });

  test('probe: supported through WBINVD, exit 0', async () => {
    assert.equal(s.summary.command.exit_code, 0);
    assert.equal(await s.rc('probe'), 0);
    const probe = await s.json<{ verdict: string; provider: { registered: boolean; name: string } }>('probe');
    assert.equal(probe.verdict, 'supported');
    assert.deepEqual(probe.provider, { registered: true, name: 'wbinvd' });
  });

  test('without --yes and no terminal: 64, and nothing was written', async () => {
    assert.equal(await s.rc('no-yes'), 64);
    assert.match(await s.text('no-yes.err'), /--yes/);
  });

  test('commit: one kernel invalidation of the region range, seen by kprobes; the region is left unbound', async () => {
    assert.equal(await s.rc('commit'), 0);
    const report = await s.json<Report>('commit');
    assert.equal(report.ok, true);
    assert.equal(report.status, 'committed');
    assert.equal(report.kernel_calls.count, 1);
    assert.equal(report.driver, null);
    const regions = await s.json<{
      regions: { name: string; committed?: boolean; driver?: string | null; dax_devices?: unknown[] }[];
    }>('regions-committed');
    const name = (await s.text('region.name')).trim();
    const region = regions.regions.find((r) => r.name === name);
    assert.equal(region?.committed, true);
    assert.equal(region?.driver, null);
    assert.deepEqual(region?.dax_devices, []);
    assert.equal((await s.text('after-commit.kprobes')).trim(), '');
  });

  test('already committed without --cycle: 64', async () => {
    assert.equal(await s.rc('again'), 64);
    assert.match(await s.text('again.err'), /already committed.*--cycle/);
  });

  test('erase while a decoder is committed: refused', async () => {
    assert.notEqual(await s.rc('erase-committed'), 0);
    assert.match(await s.text('erase-committed.err'), /^memregion: .*commit/m);
  });

  test('--cycle: two invalidations (decommit and commit)', async () => {
    assert.equal(await s.rc('cycle'), 0);
    const report = await s.json<Report>('cycle');
    assert.equal(report.action, 'cycle');
    assert.equal(report.kernel_calls.count, 2);
  });

  test('--enable binds the region after the commit, as cxl enable-region does', async () => {
    assert.equal(await s.rc('enable'), 0);
    const report = await s.json<Report>('enable');
    assert.ok(report.plan.includes('bind cxl_region'));
    assert.equal(report.driver, 'cxl_region');
    const regions = await s.json<{
      regions: { name: string; driver?: string | null; dax_devices?: { driver: string | null }[] }[];
    }>('regions-enabled');
    const region = regions.regions.find((r) => r.name === (report as unknown as { region: string }).region);
    assert.equal(region?.driver, 'cxl_region');
    assert.ok((region?.dax_devices ?? []).length > 0);
  });

  test('a DAX device bound to device_dax makes the region in use: --cycle is refused (75) and nothing is written', async () => {
    const dax = (await s.text('dax.name')).trim();
    assert.match(dax, /^dax[0-9]+\.[0-9]+$/);
    assert.equal(await s.text('dax-bind.err'), '');
    assert.equal((await s.text('dax-driver')).trim(), 'device_dax');
    assert.equal(await s.rc('in-use'), 75);
    const err = await s.text('in-use.err');
    assert.match(err, /^memregion: refusing to decommit region[0-9]+: it is in use \(/);
    assert.ok(err.includes(`(${dax} is bound to device_dax (/dev/${dax}))`), err);
    assert.equal(err.trim().split('\n').length, 1);
    assert.equal(await s.text('in-use.out'), '');
    assert.equal((await s.text('in-use.commit')).trim(), '1');
    assert.equal((await s.text('in-use.driver')).trim(), 'device_dax');
  });

  test('erase: sanitize once decommitted; secure-erase is not offered by the device', async () => {
    assert.equal(await s.rc('erase'), 0);
    const erase = await s.json<{ ok?: boolean; state?: string }>('erase');
    assert.notEqual(erase.ok, false);
    assert.equal(await s.rc('secure-erase'), 69);
    assert.match(await s.text('secure-erase.err'), /^memregion: .*secure/m);
  });

  test('erase --region without --yes: 64, the region still committed', async () => {
    assert.equal(await s.rc('erase-region-no-yes'), 64);
    const err = await s.text('erase-region-no-yes.err');
    assert.match(
      err,
      /^memregion: refusing without confirmation: Sanitize region[0-9]+ \(mem[0-9]+ serial 0x1001\)/,
    );
    assert.equal((await s.text('erase-region-no-yes.commit')).trim(), '1');
  });

  test('erase --region --recommit: decommit, sanitize the memdev, commit again with one invalidation', async () => {
    assert.equal(await s.rc('erase-region'), 0);
    const report = await s.json<{
      ok: boolean;
      outcome: string;
      decommitted: boolean;
      memdevs: { memdev: string; serial: string; ok: boolean; error: string | null }[];
      erased: number;
      failed: number;
      status: string;
      commit: { ok: boolean; invalidated: boolean | null } | null;
      invalidation_errno: string | null;
    }>('erase-region');
    assert.equal(report.ok, true);
    assert.equal(report.outcome, 'done');
    assert.equal(report.decommitted, true);
    assert.equal(report.status, 'committed');
    assert.equal(report.commit?.ok, true);
    assert.equal(report.commit?.invalidated, true, 'the commit invalidated (seen by the return probe)');
    assert.equal(report.invalidation_errno, null);
    assert.equal(report.failed, 0);
    const mem = (await s.text('memdev.name')).trim();
    assert.deepEqual(
      report.memdevs.map((m) => [m.memdev, m.serial, m.ok, m.error]),
      [[mem, '0x1001', true, null]],
    );
    assert.equal(report.erased, 1);
    assert.equal((await s.text('erase-region.commit')).trim(), '1', 'the region is committed again');
  });
});
