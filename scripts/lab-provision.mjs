#!/usr/bin/env node
// Makes sure this machine can run `npm run test:kernel`: QEMU 8.2 or newer for x86_64 and aarch64, and
// cxl-cli (Debian's ndctl package, copied into the x86 guest as the second opinion on regions). On a Debian
// host, as root, it installs what is missing through a private apt configuration with the suite's
// backports (QEMU 10 for Debian 12), using the archive of the machine's own apt sources, and never changes
// the machine's lists. Elsewhere it fails with one line naming what to install. Kernels and busybox are
// fetched by `memregion lab` itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findDebianArchive } from '../dist/src/lab/apt-sources.js';
import { labCacheDir } from '../dist/src/lab/cache.js';
import { MIN_QEMU, parseQemuVersion, QEMU_INSTALL_HINT, versionAtLeast } from '../dist/src/lab/qemu.js';

const fail = (message) => {
  console.error(`lab-provision: ${message}`);
  process.exit(1);
};
const ok = (binary) => {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  const version = result.status === 0 ? parseQemuVersion(result.stdout) : null;
  return version !== null && versionAtLeast(version, MIN_QEMU);
};
const has = (binary) => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;

const missing = [];
if (!ok('qemu-system-x86_64')) missing.push('qemu-system-x86');
if (!ok('qemu-system-aarch64')) missing.push('qemu-system-arm');
if (!has('cxl')) missing.push('ndctl');
for (const tool of ['apt-get', 'dpkg-deb', 'tar', 'ldd'])
  if (!has(tool)) fail(`${tool} is needed (a Debian host): ${QEMU_INSTALL_HINT}`);
if (missing.length === 0) process.exit(0);

const osRelease = (() => {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return '';
  }
})();
const codename = /^VERSION_CODENAME=(\S+)$/m.exec(osRelease)?.[1];
const archive = await findDebianArchive();
if (process.getuid?.() !== 0 || !codename || !archive || !/^ID=debian$/m.test(osRelease)) {
  fail(`missing ${missing.join(', ')}: ${QEMU_INSTALL_HINT}; and apt-get install ndctl for cxl-cli`);
}

const dir = path.join(labCacheDir(), 'apt', `host-${codename}`);
mkdirSync(path.join(dir, 'lists', 'partial'), { recursive: true });
mkdirSync(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
const signed = archive.signedBy ? `[signed-by=${archive.signedBy}] ` : '';
writeFileSync(
  path.join(dir, 'sources.list'),
  [codename, `${codename}-updates`, `${codename}-backports`]
    .map((s) => `deb ${signed}${archive.uri} ${s} main\n`)
    .join(''),
);
const options = [
  `-oDir::Etc::sourcelist=${path.join(dir, 'sources.list')}`,
  '-oDir::Etc::sourceparts=-',
  `-oDir::State::Lists=${path.join(dir, 'lists')}`,
  `-oDir::Cache=${path.join(dir, 'cache')}`,
  '-oDPkg::Lock::Timeout=300',
  '-oAcquire::Retries=3',
  '-q',
];
// No service may start while we install (ndctl ships a monitor unit): Debian's policy-rc.d protocol,
// 101 = action forbidden, as scripts/provision.mjs does for the tools of npm test.
const POLICY_RC = '/usr/sbin/policy-rc.d';
const ownPolicy = !existsSync(POLICY_RC);
const apt = (args) => {
  const result = spawnSync('apt-get', [...options, ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'l' },
    timeout: 15 * 60_000,
    killSignal: 'SIGKILL',
  });
  if (result.status !== 0) {
    if (ownPolicy) rmSync(POLICY_RC, { force: true });
    fail(`apt-get ${args[0]} failed: ${QEMU_INSTALL_HINT}; and apt-get install ndctl for cxl-cli`);
  }
};
console.error(`lab-provision: installing ${missing.join(', ')} (QEMU from ${codename}-backports)`);
if (ownPolicy) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
apt(['update']);
apt(['install', '-y', '--no-install-recommends', '-t', `${codename}-backports`, ...missing]);
if (ownPolicy) rmSync(POLICY_RC, { force: true });
if (!ok('qemu-system-x86_64') || !ok('qemu-system-aarch64'))
  fail(`QEMU is still missing or older than ${MIN_QEMU.join('.')}: ${QEMU_INSTALL_HINT}`);
if (!has('cxl')) fail('cxl-cli is still missing after installing ndctl: apt-get install ndctl');
