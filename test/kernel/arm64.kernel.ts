import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { repo } from './scenario.js';

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

/** `memregion lab --arch arm64 --json -- memregion probe --json`: the evidence is collected in the guest and judged here. */
function labProbe(
  cpu: 'guest' | 'bare-metal',
): Promise<{ code: number | null; summary: LabJson; wallMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        `${repo}/bin/memregion`,
        'lab',
        '--json',
        '--arch',
        'arm64',
        '--cpu',
        cpu,
        '--',
        'memregion',
        'probe',
        '--json',
      ],
      { timeout: 15 * 60_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!stdout.trim().startsWith('{'))
          reject(new Error(`lab failed: ${stderr.trim().split('\n').pop()}`));
        else
          resolve({
            code: error ? ((error as { code?: number }).code ?? null) : 0,
            summary: JSON.parse(stdout),
            wallMs: Date.now() - started,
          });
      },
    );
  });
}

// Debian's arm64 7.2 on QEMU virt -cpu max: QEMU's own PSCI (SMCCC 1.0), and a config with the provider menu off.
describe('arm64 virt, Debian newest kernel', () => {
  for (const [cpu, conduit] of [
    ['guest', 'hvc'],
    ['bare-metal', 'smc'],
  ] as const) {
    test(`${cpu}: conduit ${conduit}, SMCCC 1.0, unsupported for the config line that is there and for SMCCC 1.0`, async () => {
      const run = await labProbe(cpu);
      console.log(
        `arm64 ${cpu}: Linux ${run.summary.kernel.release}, QEMU ${run.summary.qemu.version}, wall ${(run.wallMs / 1000).toFixed(0)} s`,
      );
      assert.equal(run.code, 69);
      assert.equal(run.summary.command.exit_code, 69);
      const probe = JSON.parse(run.summary.command.stdout) as Probe;
      assert.equal(probe.verdict, 'unsupported');
      assert.equal(probe.smccc.conduit, conduit);
      assert.equal(probe.smccc.version, '1.0');
      assert.equal(probe.provider.registered, false);
      assert.match(probe.reasons[0] ?? '', /# CONFIG_CACHEMAINT_FOR_HOTPLUG is not set/);
      assert.doesNotMatch(
        probe.reasons[0] ?? '',
        /CONFIG_ARM_SMCCC_CACHE is not set|CONFIG_ARM_SMCCC_CACHE and/,
      );
      assert.ok(probe.reasons.some((r) => /^SMCCC 1\.0: /.test(r)));
    });
  }
});
