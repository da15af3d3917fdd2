import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parsePsciDebugfs } from '../../src/backends/sysfs/firmware.js';
import { SysRoot } from '../../src/backends/sysfs/fs.js';
import { findSymbols } from '../../src/backends/sysfs/kallsyms.js';
import { parseKconfig } from '../../src/backends/sysfs/kconfig.js';
import { isBootBanner, journalSource, parseKmsg, readKmsg } from '../../src/backends/sysfs/kmsg.js';
import { scanKernelLog, versionAtLeast } from '../../src/backends/sysfs/logfacts.js';
import { archFromCpuinfo, hasHypervisorFlag, parseLockdown } from '../../src/backends/sysfs/platform.js';
import { readTracing } from '../../src/backends/sysfs/tracing.js';
import { scratchFolders } from '../helpers/temp-trees.js';

const tempFolder = scratchFolders('memregion-parsers-');

async function tree(files: Record<string, string>): Promise<SysRoot> {
  const root = tempFolder();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  return new SysRoot(root);
}

describe('kmsg', () => {
  test('records, continuation lines and escapes', () => {
    const records = parseKmsg(
      [
        '6,0,0,-;Booting Linux on physical CPU 0x0000000000 [0x413fd0c1]',
        '3,17,412880,c;cxl_region region0: Failed to synchronize CPU cache state',
        ' SUBSYSTEM=cxl',
        ' DEVICE=+cxl:region0',
        '12,18,500000,-,caller=T1;tab\\x09here',
        'garbage line',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      records.map((r) => [r.facility, r.level, r.seq, r.usec, r.text]),
      [
        [0, 6, 0, 0, 'Booting Linux on physical CPU 0x0000000000 [0x413fd0c1]'],
        [0, 3, 17, 412880, 'cxl_region region0: Failed to synchronize CPU cache state'],
        [1, 4, 18, 500000, 'tab\there'],
      ],
    );
  });

  test('escaped bytes are UTF-8, as msg_add_ext_text() escaped them', () => {
    // kernel/printk/printk.c escapes bytes < 0x20, >= 0x7f and the backslash as \xNN.
    const [record] = parseKmsg(
      '6,40,900000,-;nvdimm: DIMM \\xc2\\xb5-controller \\xe2\\x80\\x94 path C:\\x5cfw\\x09ok\n',
    );
    assert.equal(record?.text, 'nvdimm: DIMM µ-controller — path C:\\fw\tok');
  });

  test('boot banners', () => {
    assert.ok(isBootBanner('Booting Linux on physical CPU 0x0000000000 [0x410fd4f0]'));
    assert.ok(isBootBanner('Linux version 6.19.0 (builder@host) #1 SMP'));
    assert.ok(!isBootBanner('psci: SMC Calling Convention v1.5'));
  });

  test('an empty kmsg file is readable but not complete', async () => {
    const sys = await tree({ 'dev/kmsg': '' });
    const log = await readKmsg(sys);
    assert.equal(log.readable, true);
    assert.equal(log.completeFromBoot, false);
  });

  test('a missing dev/kmsg is unreadable, not denied', async () => {
    const log = await readKmsg(await tree({}));
    assert.deepEqual([log.readable, log.denied, log.completeFromBoot], [false, false, null]);
    assert.match(log.detail, /ENOENT/);
  });

  test('the real /dev/kmsg is read to its end without blocking', async () => {
    const log = await readKmsg(new SysRoot('/'));
    if (log.readable) assert.ok(log.messages.length > 0);
    else assert.match(log.detail, /not readable \(E[A-Z]+/);
  });

  test('journal output: prefixes removed, continuation joined, completeness from the banner', () => {
    const source = journalSource(
      'journalctl -k -b',
      '[    0.000000] host kernel: Linux version 6.19.0\n    second line\n[    0.020731] host kernel: SMCCC cache clean+invalidate provider registered\n',
    );
    assert.deepEqual(source.messages, [
      'Linux version 6.19.0\nsecond line',
      'SMCCC cache clean+invalidate provider registered',
    ]);
    assert.equal(source.completeFromBoot, true);
    assert.equal(journalSource('j', '').readable, false);
    assert.equal(journalSource('j', '[ 9.1] h kernel: eth0: link up\n').completeFromBoot, false);
  });
});

describe('kernel config, kallsyms, platform files', () => {
  test('kconfig: y, m, strings, not set', () => {
    const values = parseKconfig(
      'CONFIG_ARM_SMCCC_CACHE=y\nCONFIG_HISI_SOC_HHA=m\nCONFIG_LOCALVERSION="-memregion"\n# CONFIG_CXL_REGION_INVALIDATION_TEST is not set\n# comment\nCONFIG_NR_CPUS=512\n',
    );
    assert.deepEqual(Object.fromEntries(values), {
      ARM_SMCCC_CACHE: 'y',
      HISI_SOC_HHA: 'm',
      LOCALVERSION: '-memregion',
      CXL_REGION_INVALIDATION_TEST: 'n',
      NR_CPUS: '512',
    });
  });

  test('kconfig: strings unescaped as scripts/kconfig reads them back', () => {
    // escape_string_value() writes `"` and `\` behind a backslash; conf_set_sym_val() drops it again.
    const values = parseKconfig(
      [
        'CONFIG_CMDLINE="console=ttyAMA0 dyndbg=\\"file region.c +p\\""',
        'CONFIG_EXTRA_FIRMWARE_DIR="C:\\\\fw"',
        'CONFIG_LOCALVERSION="-a" trailing',
        'CONFIG_BROKEN="no end',
        '',
      ].join('\n'),
    );
    assert.deepEqual(Object.fromEntries(values), {
      CMDLINE: 'console=ttyAMA0 dyndbg="file region.c +p"',
      EXTRA_FIRMWARE_DIR: 'C:\\fw',
      LOCALVERSION: '-a',
      BROKEN: '"no end',
    });
  });

  test('kallsyms: module symbols and hidden addresses', async () => {
    const sys = await tree({
      'proc/kallsyms':
        '0000000000000000 T _text\n0000000000000000 t hisi_soc_hha_wbinv\t[hisi_soc_hha]\n0000000000000000 t smccc_cache_wbinv\n',
    });
    const lookup = await findSymbols(sys, [
      'hisi_soc_hha_wbinv',
      'smccc_cache_wbinv',
      'cpu_cache_invalidate_memregion',
    ]);
    assert.deepEqual([...lookup.found].sort(), ['hisi_soc_hha_wbinv', 'smccc_cache_wbinv']);
    assert.equal(lookup.addressesHidden, true);
    const visible = await findSymbols(
      await tree({ 'proc/kallsyms': 'ffff800080a1b2c0 t smccc_cache_wbinv\n' }),
      ['smccc_cache_wbinv'],
    );
    assert.equal(visible.addressesHidden, false);
    assert.equal((await findSymbols(await tree({}), ['x'])).readable, false);
  });

  test('lockdown', () => {
    assert.equal(parseLockdown('[none] integrity confidentiality\n'), 'none');
    assert.equal(parseLockdown('none [integrity] confidentiality\n'), 'integrity');
    assert.equal(parseLockdown('none integrity [confidentiality]\n'), 'confidentiality');
    assert.equal(parseLockdown('none integrity confidentiality\n'), null);
  });

  test('cpuinfo shapes and the hypervisor flag', () => {
    assert.equal(
      archFromCpuinfo('processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\n'),
      'aarch64',
    );
    assert.equal(
      archFromCpuinfo('processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu lm svm\n'),
      'x86_64',
    );
    assert.equal(archFromCpuinfo('processor\t: 0\nhart\t: 0\nisa\t: rv64imafdc\n'), null);
    assert.equal(hasHypervisorFlag('flags\t\t: fpu vme hypervisor lahf_lm\n'), true);
    assert.equal(hasHypervisorFlag('flags\t\t: fpu vme lahf_lm\n'), false);
    assert.equal(hasHypervisorFlag('Features\t: fp asimd\n'), null);
  });

  test('debugfs psci', () => {
    assert.deepEqual(parsePsciDebugfs('PSCIv1.1\nSMC Calling Convention v1.2\nOSI is not supported\n'), {
      psciVersion: '1.1',
      smcccVersion: '1.2',
      smcccAssumed: false,
    });
    assert.deepEqual(parsePsciDebugfs('PSCIv1.0\nSMC Calling Convention v1.0 is assumed\n'), {
      psciVersion: '1.0',
      smcccVersion: '1.0',
      smcccAssumed: true,
    });
    assert.deepEqual(parsePsciDebugfs('PSCIv0.2\n'), {
      psciVersion: '0.2',
      smcccVersion: null,
      smcccAssumed: false,
    });
  });
});

describe('kernel log facts', () => {
  test('every line DESIGN §6 names', () => {
    const facts = scanKernelLog([
      'psci: probing for conduit method from ACPI.',
      'psci: PSCIv1.1 detected in firmware.',
      'psci: SMC Calling Convention v1.4',
      'smccc: KVM: hypervisor services detected (0x00000000 0x00000000 0x00000000 0x00000003)',
      'SMCCC: SOC_ID: ID = jep106:036b:0241 Revision = 0x00000001',
      'initcall smccc_cache_init+0x0/0x1b8 returned -19 after 412 usecs',
      'initcall other_init+0x0/0x10 returned -19 after 1 usecs',
      'nd_region region1: Bypassing cpu_cache_invalidate_memergion() for testing!',
      'cxl_region region0: Failed to synchronize CPU cache state',
    ]);
    assert.equal(facts.conduitProbe, 'ACPI');
    assert.equal(facts.psciVersion, '1.1');
    assert.equal(facts.smcccVersion, '1.4');
    assert.ok(facts.kvm);
    assert.deepEqual(facts.socId?.id, 'jep106:036b:0241');
    assert.deepEqual(facts.socId?.revision, '0x00000001');
    assert.deepEqual([facts.initcall?.name, facts.initcall?.ret], ['smccc_cache_init', -19]);
    // The nd_region line is NVDIMM's bypass (drivers/nvdimm/region_devs.c), not CXL's.
    assert.equal(
      facts.nvdimmBypass,
      'nd_region region1: Bypassing cpu_cache_invalidate_memergion() for testing!',
    );
    assert.equal(facts.cxlBypass, null);
    assert.ok(facts.syncFailed);
    assert.equal(facts.registered, null);
  });

  test('the two test bypasses told apart by device prefix, else by spelling', () => {
    const of = (line: string) => {
      const facts = scanKernelLog([line]);
      return [facts.cxlBypass !== null, facts.nvdimmBypass !== null];
    };
    // drivers/cxl/core/region.c: region unbound while committing (bus name) or bound (driver name).
    assert.deepEqual(of('cxl region0: Bypassing cpu_cache_invalidate_memregion() for testing!'), [
      true,
      false,
    ]);
    assert.deepEqual(of('cxl_region region3: Bypassing cpu_cache_invalidate_memregion() for testing!'), [
      true,
      false,
    ]);
    // drivers/nvdimm/region_devs.c, with its typo; a kernel that fixes the typo is still NVDIMM's.
    assert.deepEqual(of('nd_region region0: Bypassing cpu_cache_invalidate_memergion() for testing!'), [
      false,
      true,
    ]);
    assert.deepEqual(of('nd_region region0: Bypassing cpu_cache_invalidate_memregion() for testing!'), [
      false,
      true,
    ]);
    // No device prefix (a journal line stripped of it): the spelling decides.
    assert.deepEqual(of('Bypassing cpu_cache_invalidate_memergion() for testing!'), [false, true]);
    assert.deepEqual(of('Bypassing cpu_cache_invalidate_memregion() for testing!'), [true, false]);
    assert.deepEqual(of('Bypassing something else for testing!'), [false, false]);
  });

  test("the HiSilicon HHA initcall is module_driver()'s <driver>_init", () => {
    const facts = scanKernelLog([
      'initcall hisi_soc_hha_driver_init+0x0/0x30 [hisi_soc_hha] returned 0 after 12 usecs',
    ]);
    assert.deepEqual([facts.initcall?.name, facts.initcall?.ret], ['hisi_soc_hha_driver_init', 0]);
  });

  test('a DT psci node without "method": no conduit', () => {
    // drivers/firmware/psci/psci.c get_set_conduit_method() returns -ENXIO before set_conduit().
    const facts = scanKernelLog([
      'psci: probing for conduit method from DT.',
      'psci: missing "method" property',
    ]);
    assert.equal(facts.conduitProbe, 'DT');
    assert.equal(facts.noPsci, 'psci: missing "method" property');
  });

  test('versions', () => {
    assert.ok(versionAtLeast('1.1', 1, 1));
    assert.ok(versionAtLeast('2.0', 1, 1));
    assert.ok(!versionAtLeast('1.0', 1, 1));
    assert.ok(versionAtLeast('1.10', 1, 2));
  });
});

describe('tracing', () => {
  test('tracefs under debugfs is refused by lockdown integrity', async () => {
    const sys = await tree({ 'sys/kernel/debug/tracing/kprobe_events': '' });
    const none = await readTracing(sys, 'y', 'none');
    assert.deepEqual(none, {
      kprobes: true,
      tracefs: '/sys/kernel/debug/tracing',
      reason: '/sys/kernel/debug/tracing/kprobe_events present (root needed to add probes)',
    });
    const integrity = await readTracing(sys, 'y', 'integrity');
    assert.equal(integrity.kprobes, false);
    assert.match(integrity.reason, /lockdown integrity/);
  });

  test('no kprobe_events: the config says why, else tracefs is not mounted', async () => {
    const sys = await tree({ 'sys/kernel/tracing/trace': '' });
    assert.match((await readTracing(sys, 'n', null)).reason, /without CONFIG_KPROBE_EVENTS/);
    assert.match((await readTracing(sys, null, null)).reason, /has no kprobe_events/);
    assert.match((await readTracing(await tree({}), null, null)).reason, /not mounted/);
  });
});
