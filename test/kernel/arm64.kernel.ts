import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { captureFixture, repo } from './scenario.js';

interface LabJson {
  kernel: { release: string };
  qemu: { version: string };
  command: { exit_code: number; stdout: string };
}

interface Probe {
  verdict: string;
  smccc: { version: string | null; conduit: string | null };
  provider: { registered: boolean | null };
  reasons: string[];
}

function memregion(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; wallMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${repo}/bin/memregion`, ...args],
      { timeout: 15 * 60_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? ((error as { code?: number }).code ?? null) : 0,
          stdout,
          stderr,
          wallMs: Date.now() - started,
        }),
    );
  });
}

function assertDebianVirt(probe: Probe, conduit: string): void {
  assert.equal(probe.verdict, 'unsupported');
  assert.equal(probe.smccc.conduit, conduit);
  assert.equal(probe.smccc.version, '1.0');
  assert.equal(probe.provider.registered, false);
  // The config line that is there, not the provider symbols that are not.
  assert.match(probe.reasons[0] ?? '', /# CONFIG_CACHEMAINT_FOR_HOTPLUG is not set/);
  assert.doesNotMatch(probe.reasons[0] ?? '', /CONFIG_ARM_SMCCC_CACHE is not set/);
  assert.ok(probe.reasons.some((r) => /^SMCCC 1\.0: /.test(r)));
}

// Debian's arm64 kernel on QEMU virt -cpu max: QEMU's own PSCI (SMCCC 1.0), by HVC, or by SMC with
// virtualization=on. No arm64 node runs here: the guest collects the evidence with busybox, memregion
// judges it on the host with --root.
describe('arm64 virt, Debian newest kernel', () => {
  const temps: string[] = [];
  after(async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  test('lab --arch arm64 -- memregion probe --json: judged on the host, exit 69', async () => {
    const run = await memregion(['lab', '--json', '--arch', 'arm64', '--', 'memregion', 'probe', '--json']);
    assert.equal(run.code, 69, run.stderr);
    const summary = JSON.parse(run.stdout) as LabJson;
    console.log(
      `arm64 guest (probe): Linux ${summary.kernel.release}, QEMU ${summary.qemu.version}, wall ${(run.wallMs / 1000).toFixed(0)} s`,
    );
    assert.equal(summary.command.exit_code, 69);
    assertDebianVirt(JSON.parse(summary.command.stdout) as Probe, 'hvc');
  });

  for (const [cpu, conduit] of [
    ['guest', 'hvc'],
    ['bare-metal', 'smc'],
  ] as const) {
    test(`${cpu}: the collected tree says conduit ${conduit}, SMCCC 1.0, no provider built`, async () => {
      const out = await mkdtemp(path.join(tmpdir(), 'memregion-kernel-arm64-'));
      temps.push(out);
      const run = await memregion([
        'lab',
        '--json',
        '--arch',
        'arm64',
        '--cpu',
        cpu,
        '--out',
        out,
        '--',
        'memregion-collect',
        '/out/tree',
      ]);
      assert.equal(run.code, 0, run.stderr);
      const summary = JSON.parse(run.stdout) as LabJson;
      console.log(
        `arm64 ${cpu} (collect): Linux ${summary.kernel.release}, QEMU ${summary.qemu.version}, wall ${(run.wallMs / 1000).toFixed(0)} s`,
      );
      await captureFixture(path.join(out, 'tree'), `arm64-${conduit}`);
      const judged = await memregion(['--root', path.join(out, 'tree'), 'probe', '--json']);
      assert.equal(judged.code, 69);
      assertDebianVirt(JSON.parse(judged.stdout) as Probe, conduit);
    });
  }
});
