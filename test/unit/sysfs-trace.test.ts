import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { withKernelTrace } from '../../src/backends/sysfs/kernel-trace.js';
import { runTrace } from '../../src/backends/sysfs/trace-run.js';
import { TraceSession } from '../../src/backends/sysfs/trace-session.js';
import { PROVIDER_CALLBACKS } from '../../src/backends/sysfs/tracefs.js';
import { locateTracefs } from '../../src/backends/sysfs/tracefs-locate.js';
import type { TraceEvent } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { boundProcessGroup, collectOutput } from '../helpers/spawn.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';
import { FakeKernelTracefs } from './helpers/fake-tracefs.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GROUP = 'memregion_test';
const INSTANCE = `instances/${GROUP}`;
const ENTRY = (ts: string, start: string, len: number) =>
  `  cxl-1 [000] d..1. ${ts}: inv: (cpu_cache_invalidate_memregion+0x0/0x60) start=${start} len=${len}`;
const RETURN = (ts: string, ret: number) =>
  `  cxl-1 [000] d..1. ${ts}: inv_ret: (cxl_region_probe+0x1c/0x200 <- cpu_cache_invalidate_memregion) ret=${ret}`;

let tracefs: FakeKernelTracefs;
const target = () => ({ tracefs, providers: [], warnings: [] });
const groupProbes = () => [...tracefs.live()].filter((p) => p.startsWith(`${GROUP}/`));

const fixture = fixtureEachTest('cxl', {
  setUp: (tree) => {
    tracefs = new FakeKernelTracefs(new SysRoot(tree.root));
  },
});

describe('trace preflight', () => {
  it('finds tracefs and the provider callbacks kallsyms lists', async () => {
    const found = await locateTracefs(new SysRoot(fixture.root));
    assert.equal(found.tracefs.base, 'sys/kernel/tracing');
    assert.deepEqual(
      found.providers.map((p) => p.symbol),
      PROVIDER_CALLBACKS.filter((p) => p.symbol === 'smccc_cache_wbinv').map((p) => p.symbol),
    );
  });

  it('refuses under lockdown confidentiality (77)', async () => {
    writeFileSync(
      path.join(fixture.root, 'sys/kernel/security/lockdown'),
      'none integrity [confidentiality]\n',
    );
    await assert.rejects(
      locateTracefs(new SysRoot(fixture.root)),
      (e: { exitCode: number; message: string }) => {
        assert.equal(e.exitCode, 77);
        assert.match(e.message, /lockdown is "confidentiality"/);
        return true;
      },
    );
  });

  it('refuses without kprobe_events (69) and without the kernel function (69)', async () => {
    const root = new SysRoot(fixture.root);
    writeFileSync(path.join(fixture.root, 'proc/kallsyms'), 'ffff800080000000 T _stext\n');
    await assert.rejects(locateTracefs(root), /has no cpu_cache_invalidate_memregion/);
    await import('node:fs').then((fs) =>
      fs.rmSync(path.join(fixture.root, 'sys/kernel/tracing/kprobe_events')),
    );
    await assert.rejects(locateTracefs(root), (e: { exitCode: number; message: string }) => {
      assert.equal(e.exitCode, 69);
      assert.match(e.message, /CONFIG_KPROBE_EVENTS/);
      return true;
    });
  });
});

describe('trace session', () => {
  it('adds its own group, enables it in its own instance, and removes everything on close', async () => {
    const session = await TraceSession.open(target(), { group: GROUP, log: silentLogger });
    assert.deepEqual(groupProbes().sort(), [`${GROUP}/inv`, `${GROUP}/inv_ret`]);
    assert.ok(existsSync(tracefs.path(`${INSTANCE}/events/${GROUP}/enable`)));
    tracefs.emit(INSTANCE, ENTRY('100.000010', '0x4100000000', 268435456));
    tracefs.emit(INSTANCE, RETURN('100.000400', 0));
    const events = await session.poll();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.latency_us, 390);
    await session.close();
    assert.deepEqual(groupProbes(), []);
    assert.ok(!existsSync(tracefs.path(INSTANCE)));
    await session.close(); // idempotent
  });

  it('removes the probes it added when enabling fails', async () => {
    tracefs.failEnable = true;
    await assert.rejects(TraceSession.open(target(), { group: GROUP, log: silentLogger }));
    assert.deepEqual(groupProbes(), []);
    assert.ok(!existsSync(tracefs.path(INSTANCE)));
  });

  it('leaves no signal or exit listeners behind', async () => {
    const before = [
      process.listenerCount('SIGINT'),
      process.listenerCount('SIGTERM'),
      process.listenerCount('exit'),
    ];
    const session = await TraceSession.open(target(), { group: GROUP, log: silentLogger });
    assert.equal(process.listenerCount('SIGTERM'), before[1]! + 1);
    await session.close();
    assert.deepEqual(
      [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM'), process.listenerCount('exit')],
      before,
    );
  });

  it('traces for a duration and summarizes the invalidations', async () => {
    const seen: TraceEvent[] = [];
    const run = runTrace(
      tracefs.sys,
      silentLogger,
      { durationMs: 300, signal: new AbortController().signal, onEvent: (e) => seen.push(e) },
      { target: target(), group: GROUP, pollMs: 10 },
    );
    await sleep(80);
    tracefs.emit(INSTANCE, ENTRY('5.000000', '0x4080000000', 1073741824));
    tracefs.emit(INSTANCE, RETURN('5.000250', 0));
    tracefs.emit(INSTANCE, ENTRY('6.000000', '0x4080000000', 1073741824));
    tracefs.emitRaw(INSTANCE, RETURN('6.001000', -6).slice(0, 40)); // half a line: completed below
    await sleep(40);
    tracefs.emit(INSTANCE, RETURN('6.001000', -6).slice(40));
    const report = await run;
    assert.equal(report.summary.invalidations, 2);
    assert.equal(report.summary.errors, 1);
    assert.equal(report.summary.latency_us?.max, 1000);
    assert.deepEqual(report['summary'], { ...report.summary, returns: { '0': 1, '-6': 1 } });
    assert.equal(seen.length, 2);
    assert.equal(report['interrupted'], false);
    assert.deepEqual(groupProbes(), []);
  });

  it('runs a command for exactly its lifetime and passes its exit code through', async () => {
    const report = await runTrace(
      tracefs.sys,
      silentLogger,
      {
        command: [process.execPath, '-e', 'setTimeout(() => process.exit(3), 50)'],
        signal: new AbortController().signal,
      },
      { target: target(), group: GROUP, pollMs: 10 },
    );
    assert.equal(report.command_exit_code, 3);
    assert.deepEqual(groupProbes(), []);
  });

  // As env(1) and timeout(1) say it: 127 no such command, 126 one that cannot be executed.
  for (const [what, file, exitCode, pattern] of [
    ['does not exist', '/nonexistent/memregion-test-command', 127, /command not found/],
    ['is a folder', '/', 126, /cannot be executed \(EACCES\)/],
  ] as const) {
    it(`says when the command ${what} (${exitCode}), and still removes the probes`, async () => {
      await assert.rejects(
        runTrace(
          tracefs.sys,
          silentLogger,
          { command: [file], signal: new AbortController().signal },
          { target: target(), group: GROUP, pollMs: 10 },
        ),
        (e: { exitCode: number; message: string }) => {
          assert.equal(e.exitCode, exitCode);
          assert.match(e.message, new RegExp(`cannot run "${file}"`));
          assert.match(e.message, pattern);
          return true;
        },
      );
      assert.deepEqual(groupProbes(), []);
    });
  }

  it('stops on the abort signal and still removes the probes', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const report = await runTrace(
      tracefs.sys,
      silentLogger,
      { signal: controller.signal },
      { target: target(), group: GROUP, pollMs: 10 },
    );
    assert.equal(report['interrupted'], true);
    assert.deepEqual(groupProbes(), []);
  });

  it('traces the kernel calls of an action', async () => {
    const { result, calls } = await withKernelTrace(
      tracefs.sys,
      silentLogger,
      async () => {
        tracefs.emit(INSTANCE, ENTRY('9.000000', '0x40c0000000', 1073741824));
        tracefs.emit(INSTANCE, RETURN('9.000700', 0));
        return 'written';
      },
      { target: target(), group: GROUP, settleMs: 5 },
    );
    assert.equal(result, 'written');
    assert.equal(calls.count, 1);
    assert.equal(calls.latency_us?.p50, 700);
    assert.deepEqual(calls.returns, { '0': 1 });
    assert.deepEqual(groupProbes(), []);
  });
});

describe('trace session in a process that gets signals', () => {
  const runChild = async (signal: NodeJS.Signals | null, mode?: string) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(HERE, 'helpers/trace-child.ts'),
        fixture.root,
        GROUP,
        ...(mode ? [mode] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    boundProcessGroup(child);
    const output = collectOutput(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 15_000;
    while (!existsSync(tracefs.path(`${INSTANCE}/events/${GROUP}/enable`)) && Date.now() < deadline)
      await sleep(20);
    assert.deepEqual(groupProbes().sort(), [`${GROUP}/inv`, `${GROUP}/inv_ret`], output.stderr);
    if (signal) child.kill(signal);
    const code = await exited;
    return { code, stdout: output.stdout, stderr: output.stderr };
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`removes the probes on ${signal}`, async () => {
      const { code, stdout, stderr } = await runChild(signal);
      assert.equal(code, 0, stderr);
      const report = JSON.parse(stdout);
      assert.equal(report.interrupted, true);
      assert.equal(report.signal, signal);
      assert.deepEqual(groupProbes(), []);
      assert.ok(!existsSync(tracefs.path(INSTANCE)));
    });
  }

  it('removes the probes when the process exits in the middle of the session', async () => {
    const { code, stderr } = await runChild(null, 'exit');
    assert.equal(code, 7, stderr);
    assert.deepEqual(groupProbes(), []);
    assert.ok(!existsSync(tracefs.path(INSTANCE)));
  });
});
