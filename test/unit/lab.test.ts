import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseDeb822, parseOneLine } from '../../src/lab/apt-sources.js';
import { labCacheDir } from '../../src/lab/cache.js';
import { CpioWriter } from '../../src/lab/cpio.js';
import { chooseKernelPackages, compareKernelVersions } from '../../src/lab/debian-kernel.js';
import { Initramfs, parseLdd } from '../../src/lab/initramfs.js';
import { moduleDepends } from '../../src/lab/modules.js';
import { parseCxlSpec } from '../../src/lab/options.js';
import { parseQemuVersion, qemuArgs, versionAtLeast } from '../../src/lab/qemu.js';
import { describeCommand } from '../../src/lab/run.js';
import { parseStatus, shellQuote } from '../../src/lab/session.js';
import { scratchFolders } from '../helpers/temp-trees.js';

const tempFolder = scratchFolders('memregion-cpio-');

/** The names in a newc archive, read the way the kernel's init/initramfs.c does (header, name, padding, data). */
function newcNames(data: Buffer): string[] {
  const names: string[] = [];
  let at = 0;
  const pad = (n: number) => (4 - (n % 4)) % 4;
  while (at + 110 <= data.length) {
    assert.equal(data.subarray(at, at + 6).toString(), '070701');
    const field = (i: number) =>
      Number.parseInt(data.subarray(at + 6 + i * 8, at + 14 + i * 8).toString(), 16);
    const size = field(6);
    const nameSize = field(11);
    const name = data.subarray(at + 110, at + 110 + nameSize - 1).toString();
    if (name === 'TRAILER!!!') break;
    names.push(name);
    at += 110 + nameSize + pad(110 + nameSize);
    at += size + pad(size);
  }
  return names;
}

describe('lab: the machine and the packages', () => {
  test('the archive comes from the apt sources, deb822 or one-line, skipping disabled entries', () => {
    const deb822 = parseDeb822(
      'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nSigned-By: /usr/share/keyrings/k.gpg\n\nTypes: deb-src\nURIs: http://src.example/debian\n\nTypes: deb\nEnabled: no\nURIs: http://off.example/debian\n',
    );
    assert.deepEqual(deb822, [
      { uri: 'http://mirror.example/debian', signedBy: '/usr/share/keyrings/k.gpg' },
    ]);
    assert.deepEqual(
      parseOneLine('# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n'),
      [{ uri: 'http://m.example/debian', signedBy: '/k.gpg' }],
    );
  });

  test('the newest generic kernel: 7.x split packages (with linux-base), or an old suite linux-image', () => {
    const names = [
      'linux-binary-7.2.13+deb14-amd64',
      'linux-binary-7.10.1+deb14-amd64',
      'linux-binary-7.10.1+deb14-cloud-amd64',
      'linux-modules-7.10.1+deb14-amd64',
      'linux-base-7.10.1+deb14-amd64',
    ];
    assert.deepEqual(chooseKernelPackages(names, 'amd64'), [
      'linux-binary-7.10.1+deb14-amd64',
      'linux-modules-7.10.1+deb14-amd64',
      'linux-base-7.10.1+deb14-amd64',
    ]);
    assert.deepEqual(chooseKernelPackages(names, 'amd64', '7.2'), [
      'linux-binary-7.2.13+deb14-amd64',
      'linux-modules-7.2.13+deb14-amd64',
    ]);
    const bookworm = [
      'linux-image-6.1.0-47-amd64-unsigned',
      'linux-image-6.1.0-50-amd64-unsigned',
      'linux-image-6.12.95+deb12-amd64-unsigned',
    ];
    assert.deepEqual(chooseKernelPackages(bookworm, 'amd64', '6.1'), ['linux-image-6.1.0-50-amd64-unsigned']);
    assert.equal(chooseKernelPackages(bookworm, 'arm64'), null);
    assert.ok(compareKernelVersions('7.10.1', '7.2.13') > 0);
  });

  test('the cache folder follows XDG_CACHE_HOME when it is absolute', () => {
    assert.equal(labCacheDir({ XDG_CACHE_HOME: '/c' }), '/c/memregion/lab');
    assert.match(labCacheDir({ XDG_CACHE_HOME: 'relative' }), /\.cache\/memregion\/lab$/);
  });

  test('QEMU versions', () => {
    assert.equal(parseQemuVersion('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)'), '10.0.2');
    assert.equal(parseQemuVersion('something else'), null);
    assert.equal(versionAtLeast('8.2.0', [8, 2]), true);
    assert.equal(versionAtLeast('8.1.5', [8, 2]), false);
    assert.equal(versionAtLeast('10.0', [8, 2]), true);
  });

  test('ldd: the libraries and the loader, not the vdso', () => {
    const text =
      '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n';
    assert.deepEqual(parseLdd(text), ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
    assert.equal(Initramfs.guestPath('/lib64/ld-linux-x86-64.so.2'), '/usr/lib64/ld-linux-x86-64.so.2');
    assert.equal(Initramfs.guestPath('/opt/x'), '/opt/x');
  });

  test("a module's depends= field", () => {
    const data = Buffer.from('\0license=GPL\0depends=cxl_core,libnvdimm\0intree=Y\0');
    assert.deepEqual(moduleDepends(data), ['cxl_core', 'libnvdimm']);
    assert.deepEqual(moduleDepends(Buffer.from('\0depends=\0')), []);
    assert.deepEqual(moduleDepends(Buffer.from('no modinfo')), []);
  });
});

describe('lab: the VM', () => {
  test('--cxl: devices with serials in order; sizes in 256M units; none', () => {
    assert.deepEqual(parseCxlSpec('ram:256M,pmem:512M'), [
      { kind: 'ram', size: 256n << 20n, serial: '0x1001' },
      { kind: 'pmem', size: 512n << 20n, serial: '0x1002' },
    ]);
    assert.deepEqual(parseCxlSpec('none'), []);
    for (const bad of ['ram:100M', 'disk:256M', 'ram:256M,', 'ram:0'])
      assert.throws(() => parseCxlSpec(bad), { exitCode: 64 });
  });

  test('the QEMU command line: TCG, the CXL topology, the bare-metal CPU, the ports', () => {
    const args = qemuArgs({
      arch: 'x86_64',
      cpu: 'bare-metal',
      kernel: '/k',
      initrd: '/i',
      append: ['lockdown=confidentiality'],
      cxl: parseCxlSpec('ram:256M,pmem:256M'),
      memoryMiB: 2048,
      work: '/w',
      ports: ['status'],
    });
    const line = args.join(' ');
    assert.match(line, /-accel tcg/);
    assert.match(line, /-M q35,cxl=on -cpu max,-hypervisor/);
    assert.match(line, /cxl-type3,bus=rp0,volatile-memdev=cxlmem0,id=cxl-dev0,sn=0x1001/);
    assert.match(line, /cxl-type3,bus=rp1,persistent-memdev=cxlmem1,lsa=cxllsa1,id=cxl-dev1,sn=0x1002/);
    assert.match(line, /cxl-fmw\.0\.targets\.0=cxl\.1/);
    assert.match(line, /console=ttyS0 .*lockdown=confidentiality/);
    assert.match(line, / no_timer_check /, 'a late timer interrupt under TCG must not panic the boot');
    assert.match(line, /virtserialport,bus=vser\.0,chardev=port-status,name=memregion\.status/);
    assert.doesNotMatch(line, /kvm/);
    const arm = qemuArgs({
      arch: 'arm64',
      cpu: 'bare-metal',
      kernel: '/k',
      initrd: '/i',
      append: [],
      cxl: [],
      memoryMiB: 1024,
      work: '/w',
      ports: [],
    }).join(' ');
    assert.match(arm, /-M virt,virtualization=on -cpu max/);
    assert.match(arm, /console=ttyAMA0/);
    assert.doesNotMatch(arm, /no_timer_check/, 'an x86 parameter only');
  });

  test("the guest's status lines", () => {
    const status = parseStatus(
      'booted 7.79\nmodule-failed dax_cxl\nmemdev mem1 0x1001\nmemdev mem0 0x1002\nready 10.5\nexit 69 48.38\n',
    );
    assert.deepEqual(status, {
      bootedAt: 7.79,
      readyAt: 10.5,
      exitCode: 69,
      exitedAt: 48.38,
      memdevs: [
        { name: 'mem1', serial: '0x1001' },
        { name: 'mem0', serial: '0x1002' },
      ],
      failedModules: ['dax_cxl'],
    });
    assert.equal(parseStatus('booted 1\n').exitCode, undefined);
  });

  test('shell quoting survives any argument; progress shows a short command', () => {
    const words = ["it's", '$(rm -rf /)', 'a b', ''];
    const echoed = execFileSync('sh', ['-c', `printf '%s\\n' ${words.map(shellQuote).join(' ')}`], {
      encoding: 'utf8',
    });
    assert.equal(echoed, `${words.join('\n')}\n`);
    assert.equal(describeCommand(['memregion', 'probe']), 'memregion probe');
    assert.match(describeCommand(['sh', '-c', 'x\ny']), /\.\.\.$/);
  });

  test('the initramfs is a newc archive that cpio lists back, links and all', async () => {
    const dir = tempFolder();
    const file = path.join(dir, 'a.cpio');
    const image = await Initramfs.create(file);
    await image.file('/lab/command', "'true'\n", 0o644);
    await image.file('/lib/x86_64-linux-gnu/libx.so', 'x', 0o755);
    await image.close();
    const listed = newcNames(await readFile(file));
    for (const name of ['bin', 'lib', 'usr/lib/x86_64-linux-gnu/libx.so', 'lab/command'])
      assert.ok(listed.includes(name), name);
    assert.equal((await readFile(file)).subarray(0, 6).toString(), '070701');
    const empty = path.join(dir, 'b.cpio');
    const writer = new CpioWriter(empty);
    await writer.close();
    assert.match((await readFile(empty)).toString('latin1'), /TRAILER!!!/);
  });
});
