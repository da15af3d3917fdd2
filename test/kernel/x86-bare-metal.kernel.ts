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
// CPUs, so commits go through; kprobes on it show each call.
describe('x86_64 bare metal, Debian newest kernel', () => {
  let s: Scenario;
  before(async () => {
    s = await bootScenario('x86-bare-metal', ['--cpu', 'bare-metal']);
    await captureFixture(path.join(s.out, 'tree-committed'), 'x86-bare-metal-region-committed');
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
    assert.equal(await s.text('dax-bind.err'), '');
  });

  test('trace -- <command>: each commit write is one traced call with the region range', async () => {
    assert.equal(await s.rc('trace-writes'), 0);
    const trace = await s.json<{ summary: { invalidations: number; errors: number } }>('trace-writes');
    assert.equal(trace.summary.invalidations, 2);
    assert.equal(trace.summary.errors, 0);
  });

  test('stress --region: cycles of the real region', async () => {
    assert.equal(await s.rc('stress'), 0);
    const stress = await s.json<{ requests: { completed: number; failed: number } }>('stress');
    assert.equal(stress.requests.completed, 3);
    assert.equal(stress.requests.failed, 0);
  });

  for (const [signal, code] of [
    ['INT', 130],
    ['TERM', 143],
    ['HUP', 129],
  ] as const) {
    test(`trace removes its kprobes on SIG${signal} (exit ${code})`, async () => {
      assert.notEqual((await s.text(`trace-${signal}.during`)).trim(), '');
      assert.equal(Number((await s.text(`trace-${signal}.rc`)).trim()), code);
      assert.equal((await s.text(`trace-${signal}.after`)).trim(), '');
    });
  }

  test('after SIGKILL the probes stay, and the next trace sweeps them', async () => {
    assert.notEqual((await s.text('trace-KILL.after')).trim(), '');
    assert.equal(await s.rc('trace-sweep'), 0);
    assert.equal((await s.text('trace-sweep.after')).trim(), '');
  });

  test('erase: sanitize once decommitted; secure-erase is not offered by the device', async () => {
    assert.equal(await s.rc('erase'), 0);
    const erase = await s.json<{ ok?: boolean; state?: string }>('erase');
    assert.notEqual(erase.ok, false);
    assert.equal(await s.rc('secure-erase'), 69);
    assert.match(await s.text('secure-erase.err'), /^memregion: .*secure/m);
  });
});
