import assert from 'node:assert/strict';
import { appendFile, chmod, cp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { journalSource } from '../../src/backends/sysfs/kmsg.js';
import { type ProbeSysfsOptions, probeSysfs } from '../../src/backends/sysfs/probe.js';
import type { SysfsProbeReport } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import { runSync } from '../helpers/spawn.js';
import { scratchFolders } from '../helpers/temp-trees.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const machines = path.join(repo, 'test/fixtures/machines');
/** Trees collected from real kernels in `memregion lab` guests (see sysfs-kernels.test.ts). */
const kernels = path.join(repo, 'test/fixtures/kernels');
const tempFolder = scratchFolders('memregion-probe-');

const probe = (root: string, options: ProbeSysfsOptions = {}) =>
  probeSysfs(new SysRoot(root), silentLogger, options);
const machine = (name: string, options: ProbeSysfsOptions = {}) => probe(path.join(machines, name), options);

/** A writable copy of a fixture machine (or, from `from`, a captured tree), to vary one file. */
async function copyOf(name: string, from = machines): Promise<string> {
  const dir = tempFolder(`memregion-${name}-`);
  await chmod(dir, 0o755);
  await cp(path.join(from, name), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

const evidenceFrom = (report: SysfsProbeReport, source: string) =>
  (report.evidence ?? []).filter((e) => e.source === source);
const hasEvidence = (report: SysfsProbeReport, source: string, pattern: RegExp) =>
  evidenceFrom(report, source).some((e) => pattern.test(e.detail));

describe('probe verdicts on arm64', () => {
  test('provider registered: supported, with SMCCC version, conduit, SOC_ID, lockdown and tracing', async () => {
    const report = await machine('arm64-registered');
    assert.equal(report.backend, 'sysfs');
    assert.equal(report.verdict, 'supported');
    assert.equal(report.supported, true);
    assert.deepEqual(report.reasons, []);
    assert.equal(report.needs_privileges, false);
    assert.deepEqual(report.provider, { registered: true, name: 'arm_smccc_cache' });
    assert.deepEqual(report.smccc, { version: '1.5', conduit: 'smc' });
    assert.deepEqual(report.functions, { clean_inv_memregion: true, attributes: true });
    assert.equal(report.attributes, null);
    assert.deepEqual(report.kernel, { release: '6.19.0-memregion', arch: 'aarch64' });
    assert.deepEqual(report.soc_id, {
      id: 'jep106:036b:0241',
      family: 'jep106:036b',
      revision: '0x00000001',
      machine: 'NVIDIA Grace',
    });
    assert.equal(report.lockdown, 'integrity');
    assert.deepEqual(report.tracing, {
      kprobes: true,
      tracefs: '/sys/kernel/tracing',
      reason: '/sys/kernel/tracing/kprobe_events present (root needed to add probes)',
    });
    assert.deepEqual(report.kernel_log, { readable: true, complete_from_boot: true, source: '/dev/kmsg' });
    assert.deepEqual(report.warnings, []);
    assert.ok(hasEvidence(report, '/dev/kmsg', /^SMCCC cache clean\+invalidate provider registered$/));
    assert.ok(hasEvidence(report, '/sys/kernel/debug/psci', /SMCCC v1\.5/));
    assert.ok(hasEvidence(report, '/proc/device-tree/psci/method', /conduit smc/));
    assert.ok(hasEvidence(report, '/boot/config-6.19.0-memregion', /ARM_SMCCC_CACHE=y/));
    assert.ok(hasEvidence(report, '/proc/kallsyms', /smccc_cache_wbinv/));
  });

  test('the kernel config is read from proc/config.gz before boot/config-<release>', async () => {
    const root = await copyOf('arm64-registered');
    const config = path.join(root, 'boot/config-6.19.0-memregion');
    await writeFile(path.join(root, 'proc/config.gz'), gzipSync(await readFile(config)));
    await rm(config);
    const report = await probe(root);
    assert.equal(report.verdict, 'supported');
    assert.ok(hasEvidence(report, '/proc/config.gz', /GENERIC_CPU_CACHE_MAINTENANCE=y ARM_SMCCC_CACHE=y/));
  });

  test('provider built but not registered, log complete from boot: unsupported, pointing at initcall_debug', async () => {
    const report = await machine('arm64-not-registered');
    assert.equal(report.verdict, 'unsupported');
    assert.equal(report.supported, false);
    assert.equal(report.needs_privileges, false);
    assert.deepEqual(report.provider, { registered: false, name: 'arm_smccc_cache' });
    assert.deepEqual(report.functions, { clean_inv_memregion: null, attributes: null });
    assert.equal(report.reasons.length, 1);
    assert.match(report.reasons[0] ?? '', /complete from boot/);
    assert.match(report.reasons[0] ?? '', /did not register/);
    assert.match(report.reasons[0] ?? '', /initcall_debug/);
    assert.ok(evidenceFrom(report, '/dev/kmsg').some((e) => !e.found && /no "SMCCC cache/.test(e.detail)));
  });

  test('an initcall_debug line gives the provider return code', async () => {
    const root = await copyOf('arm64-not-registered');
    await appendFile(
      path.join(root, 'dev/kmsg'),
      '7,16,20731,-;initcall smccc_cache_init+0x0/0x1b8 returned -19 after 412 usecs\n',
    );
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.match(report.reasons[0] ?? '', /smccc_cache_init returned -19 \(ENODEV\)/);
  });

  test('provider built, log wrapped: unknown, not a privilege problem', async () => {
    const report = await machine('arm64-not-registered-wrapped');
    assert.equal(report.verdict, 'unknown');
    assert.equal(report.supported, false);
    assert.equal(report.needs_privileges, false);
    assert.equal(report.provider.registered, null);
    assert.deepEqual(report.kernel_log, { readable: true, complete_from_boot: false, source: '/dev/kmsg' });
    assert.match(report.reasons[0] ?? '', /wrapped/);
    assert.match(report.reasons[0] ?? '', /initcall_debug/);
    assert.ok(hasEvidence(report, '/dev/kmsg', /wrapped: first is seq 48213/));
    assert.ok(hasEvidence(report, '/proc/kallsyms', /addresses hidden/));
  });

  test('log wrapped, the journal has the whole boot with the registration line: supported', async () => {
    const journal = `[    0.000000] grace kernel: Booting Linux on physical CPU 0x0000000000 [0x410fd4f0]
[    0.000000] grace kernel: Linux version 6.19.0-memregion (mockbuild@builder) #1 SMP PREEMPT_DYNAMIC
[    0.000000] grace kernel: psci: SMC Calling Convention v1.5
[    0.020731] grace kernel: SMCCC cache clean+invalidate provider registered
`;
    const report = await machine('arm64-not-registered-wrapped', {
      journal: async () => journalSource('journalctl -k -b', journal),
    });
    assert.equal(report.verdict, 'supported');
    assert.deepEqual(report.kernel_log, {
      readable: true,
      complete_from_boot: true,
      source: 'journalctl -k -b',
    });
    assert.ok(hasEvidence(report, 'journalctl -k -b', /complete from boot/));
    assert.ok(hasEvidence(report, '/dev/kmsg', /wrapped/));
  });

  test('log wrapped, the journal has the whole boot without the line: unsupported', async () => {
    const journal = `[    0.000000] grace kernel: Booting Linux on physical CPU 0x0000000000 [0x410fd4f0]
[    0.000000] grace kernel: psci: SMC Calling Convention v1.5
`;
    const report = await machine('arm64-not-registered-wrapped', {
      journal: async () => journalSource('journalctl -k -b', journal),
    });
    assert.equal(report.verdict, 'unsupported');
    assert.match(report.reasons[0] ?? '', /journalctl -k -b: complete from boot/);
  });

  test('log wrapped but still showing "Failed to synchronize CPU cache state": unsupported', async () => {
    const root = await copyOf('arm64-not-registered-wrapped');
    await appendFile(
      path.join(root, 'dev/kmsg'),
      '3,48217,8702100000,-;cxl_region region0: Failed to synchronize CPU cache state\n SUBSYSTEM=cxl\n DEVICE=+cxl:region0\n',
    );
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.match(report.reasons[0] ?? '', /Failed to synchronize CPU cache state/);
  });

  test('SMCCC 1.0: unsupported, the provider needs 1.1', async () => {
    const report = await machine('arm64-smccc-1.0');
    assert.equal(report.verdict, 'unsupported');
    assert.deepEqual(report.smccc, { version: '1.0', conduit: 'smc' });
    assert.match(report.reasons[0] ?? '', /^SMCCC 1\.0: .*1\.1 or later/);
    assert.ok(hasEvidence(report, '/sys/kernel/debug/psci', /assumed/));
  });

  test('SMCCC 1.0 is also read from the kernel log when debugfs is absent', async () => {
    const root = await copyOf('arm64-smccc-1.0');
    await rm(path.join(root, 'sys/kernel/debug'), { recursive: true });
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.equal(report.smccc.version, '1.0');
    assert.ok(hasEvidence(report, '/sys/kernel/debug/psci', /absent/));
  });

  test('no SMCCC conduit (device tree without a psci node): unsupported', async () => {
    const root = await copyOf('arm64-not-registered');
    await rm(path.join(root, 'proc/device-tree/psci'), { recursive: true });
    await writeFile(path.join(root, 'proc/device-tree/compatible'), 'nvidia,grace\0');
    await rm(path.join(root, 'sys/kernel/debug'), { recursive: true });
    const kmsg = await readFile(path.join(root, 'dev/kmsg'), 'utf8');
    await writeFile(
      path.join(root, 'dev/kmsg'),
      kmsg
        .split('\n')
        .filter((line) => !line.includes('psci:'))
        .join('\n'),
    );
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.equal(report.smccc.conduit, 'none');
    assert.match(report.reasons[0] ?? '', /no SMCCC conduit/);
  });

  test('kernel without the framework (config): unsupported', async () => {
    const report = await machine('arm64-no-framework');
    assert.equal(report.verdict, 'unsupported');
    assert.deepEqual(report.provider, { registered: false });
    assert.match(report.reasons[0] ?? '', /no CONFIG_GENERIC_CPU_CACHE_MAINTENANCE line/);
    assert.match(report.reasons[0] ?? '', /no memregion invalidation framework/);
    assert.equal(report.smccc.version, '1.2');
  });

  test('kernel without the framework (kallsyms, when the config is missing): unsupported', async () => {
    const root = await copyOf('arm64-no-framework');
    await rm(path.join(root, 'boot'), { recursive: true });
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.match(report.reasons[0] ?? '', /^\/proc\/kallsyms: no cpu_cache_invalidate_memregion/);
  });

  test('framework without any provider built (config): unsupported', async () => {
    const report = await machine('arm64-no-provider');
    assert.equal(report.verdict, 'unsupported');
    assert.match(
      report.reasons[0] ?? '',
      /# CONFIG_ARM_SMCCC_CACHE is not set, # CONFIG_HISI_SOC_HHA is not set/,
    );
  });

  test('framework without any provider built (kallsyms): unsupported', async () => {
    const root = await copyOf('arm64-no-provider');
    await rm(path.join(root, 'boot'), { recursive: true });
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.match(report.reasons[0] ?? '', /^\/proc\/kallsyms: no smccc_cache_wbinv, no hisi_soc_hha_wbinv/);
  });

  test('KVM guest: conduit hvc, discovery fails, unsupported', async () => {
    const report = await machine('arm64-kvm-guest');
    assert.equal(report.verdict, 'unsupported');
    assert.deepEqual(report.smccc, { version: '1.1', conduit: 'hvc' });
    assert.match(report.reasons[0] ?? '', /KVM/);
    assert.ok(hasEvidence(report, '/dev/kmsg', /KVM: hypervisor services detected/));
    assert.ok(
      evidenceFrom(report, '/proc/cpuinfo').some(
        (e) => e.found && /^aarch64 \(from the fields of cpuinfo/.test(e.detail),
      ),
    );
    assert.equal(report.kernel && (report.kernel as { arch: string }).arch, 'aarch64');
  });

  test('test kernel with the bypass option: a data-integrity warning', async () => {
    const report = await machine('arm64-test-bypass');
    assert.equal(report.verdict, 'unsupported');
    assert.equal(report.warnings?.length, 1);
    assert.match(report.warnings?.[0] ?? '', /Bypassing cpu_cache_invalidate_memregion\(\) for testing!/);
    assert.match(report.warnings?.[0] ?? '', /data integrity is off/);
  });

  test('the bypass option in the config alone also warns', async () => {
    const root = await copyOf('arm64-test-bypass');
    const kmsg = await readFile(path.join(root, 'dev/kmsg'), 'utf8');
    await writeFile(path.join(root, 'dev/kmsg'), kmsg.replace(/.*Bypassing.*\n( .*\n)*/, ''));
    const report = await probe(root);
    assert.match(report.warnings?.[0] ?? '', /CONFIG_CXL_REGION_INVALIDATION_TEST=y.*data integrity is off/);
  });

  test("NVDIMM's bypass line is reported as NVDIMM's, not as CXL's", async () => {
    const root = await copyOf('arm64-test-bypass');
    const kmsg = await readFile(path.join(root, 'dev/kmsg'), 'utf8');
    // drivers/nvdimm/region_devs.c nd_region_invalidate_memregion(), dev_warn, typo included (Linux 7.2).
    const nvdimm = 'nd_region region1: Bypassing cpu_cache_invalidate_memergion() for testing!';
    await writeFile(
      path.join(root, 'dev/kmsg'),
      kmsg.replace(
        /.*Bypassing.*\n( .*\n)*/,
        `4,14,5120331,-;${nvdimm}\n SUBSYSTEM=nd\n DEVICE=+nd:region1\n`,
      ),
    );
    const report = await probe(root);
    const warnings = report.warnings ?? [];
    assert.ok(warnings.some((w) => w.includes(nvdimm) && /NVDIMM region enable skips/.test(w)));
    // The CXL warning now rests on the config alone.
    assert.ok(warnings.some((w) => /CONFIG_CXL_REGION_INVALIDATION_TEST=y\): CXL region commit/.test(w)));
    assert.ok(!warnings.some((w) => w.includes(nvdimm) && /CXL/.test(w)));
    assert.ok(hasEvidence(report, '/dev/kmsg', /nd_region region1: Bypassing/));
    // The CXL commit guard reads this: an NVDIMM bypass says nothing about a CXL commit.
    assert.equal(report.region_commit?.bypass_logged, false);
  });

  test('HiSilicon HHA bound on an ACPI machine: supported through hisi_soc_hha', async () => {
    const report = await machine('arm64-hisi-hha');
    assert.equal(report.verdict, 'supported');
    assert.deepEqual(report.provider, { registered: true, name: 'hisi_soc_hha' });
    assert.deepEqual(report.functions, { clean_inv_memregion: null, attributes: null });
    assert.ok(hasEvidence(report, '/sys/bus/platform/drivers/hisi_soc_hha', /HISI0511:00, HISI0511:01/));
    assert.ok(hasEvidence(report, '/proc/device-tree/psci/method', /ACPI machine/));
  });
});

describe('probe verdicts on x86 and elsewhere', () => {
  test('x86 bare metal (Linux 7.2, captured): supported through WBINVD; lockdown confidentiality rules out kprobes', async () => {
    const root = await copyOf('x86-bare-metal-region-committed', kernels);
    await writeFile(path.join(root, 'sys/kernel/security/lockdown'), 'none integrity [confidentiality]\n');
    const report = await probe(root);
    assert.equal(report.verdict, 'supported');
    assert.deepEqual(report.provider, { registered: true, name: 'wbinvd' });
    assert.deepEqual(report.smccc, { version: null, conduit: null });
    assert.equal(report.lockdown, 'confidentiality');
    assert.equal((report.tracing as { kprobes: boolean }).kprobes, false);
    assert.match((report.tracing as { reason: string }).reason, /confidentiality/);
    assert.ok(hasEvidence(report, '/proc/cpuinfo', /bare metal/));
  });

  test('x86 guest (Linux 7.2, captured; hypervisor flag): unsupported; arch from the shape of cpuinfo', async () => {
    const root = await copyOf('x86-guest-region-configured', kernels);
    await rm(path.join(root, 'proc/sys/kernel/arch'));
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.deepEqual(report.provider, { registered: false, name: 'wbinvd' });
    assert.match(report.reasons[0] ?? '', /hypervisor flag/);
    assert.deepEqual(report.kernel, { release: '7.2.13+deb14-amd64', arch: 'x86_64' });
    assert.ok(
      evidenceFrom(report, '/proc/cpuinfo').some((e) =>
        /^x86_64 \(from the fields of cpuinfo/.test(e.detail),
      ),
    );
  });

  test('another architecture: unsupported', async () => {
    const root = await copyOf('x86-guest-region-configured', kernels);
    await writeFile(path.join(root, 'proc/sys/kernel/arch'), 'riscv64\n');
    const report = await probe(root);
    assert.equal(report.verdict, 'unsupported');
    assert.match(report.reasons[0] ?? '', /^riscv64: /);
  });

  test('nothing readable: unknown, naming the architecture', async () => {
    const root = tempFolder('memregion-empty-');
    const report = await probe(root);
    assert.equal(report.verdict, 'unknown');
    assert.equal(report.needs_privileges, false);
    assert.match(report.reasons[0] ?? '', /architecture unknown/);
    assert.ok((report.evidence ?? []).length > 0);
  });
});

describe('a tree without read permission on the kernel log, the config and debugfs', () => {
  test('unknown, needing privileges (run as an unprivileged user, since root ignores permission bits)', async () => {
    const root = await copyOf('arm64-unreadable');
    await chmod(path.join(root, 'dev/kmsg'), 0o000);
    await chmod(path.join(root, 'boot/config-6.19.0-memregion'), 0o000);
    await chmod(path.join(root, 'sys/kernel/debug'), 0o000);

    let uid: number | null;
    let report: SysfsProbeReport;
    if (process.getuid?.() === 0) {
      const child = runSync(
        process.execPath,
        ['--import', 'tsx', path.join(here, 'helpers/probe-child.ts'), root],
        { cwd: repo, uid: 65534, gid: 65534, encoding: 'utf8', env: { ...process.env, HOME: tmpdir() } },
      );
      assert.equal(child.status, 0, child.stderr);
      ({ uid, report } = JSON.parse(child.stdout) as { uid: number; report: SysfsProbeReport });
    } else {
      uid = process.getuid?.() ?? null;
      report = await probe(root);
    }
    assert.notEqual(uid, 0);
    assert.equal(report.verdict, 'unknown');
    assert.equal(report.needs_privileges, true);
    assert.equal(report.supported, false);
    assert.deepEqual(report.kernel_log, { readable: false, complete_from_boot: null, source: '/dev/kmsg' });
    assert.ok(evidenceFrom(report, '/dev/kmsg').some((e) => !e.found && /EACCES/.test(e.detail)));
    assert.ok(
      evidenceFrom(report, '/proc/config.gz').some(
        (e) => !e.found && /boot\/config-6\.19\.0-memregion EACCES/.test(e.detail),
      ),
    );
    assert.ok(
      evidenceFrom(report, '/sys/kernel/debug/psci').some((e) => !e.found && /EACCES/.test(e.detail)),
    );
    // kallsyms stays world-readable: it shows the provider is built, so only the log is missing.
    assert.ok(hasEvidence(report, '/proc/kallsyms', /smccc_cache_wbinv/));
    assert.match(report.reasons[0] ?? '', /kernel log is not readable/);
    assert.equal(report.smccc.conduit, 'smc');
  });
});

describe('evidence rendering and the real machine', () => {
  test("probe of this machine's real / ends with a verdict and evidence, whatever the machine", async () => {
    const report = await probe('/');
    assert.ok(['supported', 'unsupported', 'unknown'].includes(report.verdict));
    assert.equal(report.supported, report.verdict === 'supported');
    assert.ok((report.evidence ?? []).length > 0);
    for (const item of report.evidence ?? []) {
      assert.match(item.source, /^(\/|journalctl)/);
      assert.ok(item.detail.length > 0);
    }
    assert.equal(report.reasons.length === 0, report.verdict === 'supported');
    assert.equal(typeof (report.kernel as { release: unknown }).release, 'string');
  });
});
