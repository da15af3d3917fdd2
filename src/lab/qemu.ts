import path from 'node:path';
import { unavailableError } from '../core/errors.js';
import type { CxlDeviceSpec, LabArch, LabCpu } from './options.js';

/** CXL sanitize (the memdev's security/sanitize) needs QEMU 8.2 or newer. */
export const MIN_QEMU = [8, 2] as const;

/** The one line that says what to install, on a Debian 12 host: bookworm-backports has QEMU 10. */
export const QEMU_INSTALL_HINT =
  'install QEMU 8.2 or newer, on Debian 12: apt-get install -t bookworm-backports qemu-system-x86 qemu-system-arm (after adding bookworm-backports to the apt sources)';

export const qemuBinary = (arch: LabArch) =>
  arch === 'x86_64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64';

export interface QemuInfo {
  binary: string;
  version: string;
}

export function parseQemuVersion(text: string): string | null {
  return /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? null;
}

export function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < minimum.length; i++) {
    const d = (parts[i] ?? 0) - minimum[i]!;
    if (d !== 0) return d > 0;
  }
  return true;
}

/** The system's QEMU for `arch`, refused (exit 69, with the install line) when missing or too old. */
export async function findQemu(arch: LabArch): Promise<QemuInfo> {
  const binary = qemuBinary(arch);
  const { execa } = await import('execa');
  const result = await execa(binary, ['--version'], { reject: false, stdin: 'ignore', timeout: 30_000 });
  if (result.failed) throw unavailableError(`${binary} is not available: ${QEMU_INSTALL_HINT}`);
  const version = parseQemuVersion(String(result.stdout));
  if (!version) throw unavailableError(`${binary} --version did not say its version: ${QEMU_INSTALL_HINT}`);
  if (!versionAtLeast(version, MIN_QEMU)) {
    throw unavailableError(
      `${binary} is version ${version}, the lab needs ${MIN_QEMU.join('.')} or newer: ${QEMU_INSTALL_HINT}`,
    );
  }
  return { binary, version };
}

export interface QemuPlan {
  arch: LabArch;
  cpu: LabCpu;
  kernel: string;
  initrd: string;
  append: string[];
  cxl: CxlDeviceSpec[];
  memoryMiB: number;
  /** Work folder: backing files, chardev outputs. */
  work: string;
  ports: string[];
}

/**
 * The QEMU command line. x86_64: q35 with CXL, one pxb-cxl host bridge, one root port and one type-3
 * device per --cxl entry (serial numbers 0x1001...), one fixed memory window over the bridge (as in
 * QEMU's docs/system/devices/cxl.rst). arm64: virt (PSCI by HVC; with virtualization=on, EL2 and SMC).
 * TCG always: a KVM guest hangs on the machines this was built on, and TCG runs everywhere.
 */
export function qemuArgs(plan: QemuPlan): string[] {
  const x86 = plan.arch === 'x86_64';
  const console = x86 ? 'ttyS0' : 'ttyAMA0';
  const args = [
    '-accel',
    'tcg',
    '-nodefaults',
    '-no-reboot',
    '-display',
    'none',
    '-smp',
    '2',
    '-kernel',
    plan.kernel,
    '-initrd',
    plan.initrd,
    '-append',
    [
      `console=${console}`,
      'panic=-1',
      'loglevel=4',
      // check_timer() (arch/x86/kernel/apic/io_apic.c) panics "IO-APIC + timer doesn't work!" when TCG
      // on a loaded host delivers the timer interrupt late; no_timer_check skips that test.
      ...(x86 ? ['no_timer_check'] : []),
      ...plan.append,
    ].join(' '),
    '-chardev',
    `file,id=console,path=${path.join(plan.work, 'console.log')}`,
    '-serial',
    'chardev:console',
  ];
  if (x86) {
    const cxl = plan.cxl.length > 0;
    args.push(
      '-M',
      cxl ? 'q35,cxl=on' : 'q35',
      '-cpu',
      plan.cpu === 'bare-metal' ? 'max,-hypervisor' : 'max',
    );
    args.push('-m', `${plan.memoryMiB}M,maxmem=8G,slots=4`);
    if (cxl) {
      args.push('-device', 'pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1');
      plan.cxl.forEach((device, i) => {
        const size = `${device.size / (1n << 20n)}M`;
        args.push('-device', `cxl-rp,port=${i},bus=cxl.1,id=rp${i},chassis=0,slot=${i + 2}`);
        if (device.kind === 'ram') {
          args.push('-object', `memory-backend-ram,id=cxlmem${i},share=on,size=${size}`);
          args.push(
            '-device',
            `cxl-type3,bus=rp${i},volatile-memdev=cxlmem${i},id=cxl-dev${i},sn=${device.serial}`,
          );
        } else {
          const file = path.join(plan.work, `cxl${i}.pmem`);
          args.push('-object', `memory-backend-file,id=cxlmem${i},share=on,mem-path=${file},size=${size}`);
          args.push('-object', `memory-backend-file,id=cxllsa${i},share=on,mem-path=${file}.lsa,size=256M`);
          args.push(
            '-device',
            `cxl-type3,bus=rp${i},persistent-memdev=cxlmem${i},lsa=cxllsa${i},id=cxl-dev${i},sn=${device.serial}`,
          );
        }
      });
      args.push('-M', 'cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G');
    }
  } else {
    args.push('-M', plan.cpu === 'bare-metal' ? 'virt,virtualization=on' : 'virt', '-cpu', 'max');
    args.push('-m', `${plan.memoryMiB}M`);
  }
  args.push('-device', 'virtio-serial-pci,bus=pcie.0,id=vser');
  plan.ports.forEach((name) => {
    args.push('-chardev', `file,id=port-${name},path=${path.join(plan.work, `${name}.out`)}`);
    args.push('-device', `virtserialport,bus=vser.0,chardev=port-${name},name=memregion.${name}`);
  });
  return args;
}
