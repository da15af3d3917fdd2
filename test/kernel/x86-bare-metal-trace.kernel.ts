import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { bootScenario, type Scenario, timing } from './scenario.js';

// Linux 7.2 on an x86_64 CPU without the hypervisor bit, a boot of its own for tracing with real kprobes:
// each commit write is one cpu_cache_invalidate_memregion call, stress --region cycles the real region,
// and trace removes its probes on every signal it can catch (the next run sweeps them after SIGKILL).
describe('x86_64 bare metal, Debian newest kernel: tracing', () => {
  let s: Scenario;
  before(async () => {
    s = await bootScenario('x86-bare-metal-trace', ['--cpu', 'bare-metal']);
    console.log(timing('x86_64 bare metal (trace)', s));
  });
  after(async () => {
    if (s) await rm(s.out, { recursive: true, force: true });
  });

  test('trace -- <command>: each commit write is one traced call with the region range', async () => {
    assert.equal(await s.rc('trace-writes'), 0);
    const trace = await s.json<{ summary: { invalidations: number; errors: number } }>('trace-writes');
    assert.equal(trace.summary.invalidations, 2);
    assert.equal(trace.summary.errors, 0);
  });

  test('stress --region: cycles of the real region, counted by --cycles or --ops', async () => {
    assert.equal(await s.rc('stress'), 0);
    const stress = await s.json<{ requests: { completed: number; failed: number } }>('stress');
    assert.equal(stress.requests.completed, 3);
    assert.equal(stress.requests.failed, 0);
    assert.equal(await s.rc('stress-ops'), 0);
    const byOps = await s.json<{ requests: { completed: number; failed: number } }>('stress-ops');
    assert.equal(byOps.requests.completed, 2);
    assert.equal(byOps.requests.failed, 0);
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
});
