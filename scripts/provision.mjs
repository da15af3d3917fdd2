// The tools some tests drive, and how `npm test` gets them on a machine that has nothing but Node: as
// root with apt-get it installs the Debian packages (no recommends, never starting a service); otherwise it
// fails with one line that names the packages. Run by scripts/run-tests.mjs before the tests.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

/** command → the Debian package that has it, and the test files that need it. */
export const TOOLS = [
  { command: 'promtool', pkg: 'prometheus', tests: ['test/e2e/prometheus.test.ts'] },
  { command: 'zsh', pkg: 'zsh', tests: ['test/e2e/completion.test.ts'] },
  { command: 'fish', pkg: 'fish', tests: ['test/e2e/completion.test.ts'] },
];

const has = (command) =>
  spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;

/** A service must not start while we install (Debian's policy-rc.d protocol: 101 = action forbidden). */
const POLICY_RC = '/usr/sbin/policy-rc.d';

function aptGet(args) {
  return spawnSync('apt-get', ['-qq', '-o', 'DPkg::Lock::Timeout=300', '-o', 'Acquire::Retries=3', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'l' },
    timeout: 15 * 60_000,
    killSignal: 'SIGKILL',
  });
}

function lastLine(result) {
  const text = `${result.error?.message ?? ''}\n${result.stderr ?? ''}\n${result.stdout ?? ''}`;
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? `exit ${result.status}`
  );
}

function install(packages) {
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const update = aptGet(['update']);
    if (update.status !== 0) return `apt-get update failed: ${lastLine(update)}`;
    const result = aptGet(['install', '-y', '--no-install-recommends', ...packages]);
    if (result.status !== 0) return `apt-get install failed: ${lastLine(result)}`;
  } finally {
    if (ownPolicy) rmSync(POLICY_RC, { force: true });
  }
  if (packages.includes('prometheus')) {
    // CI needs promtool only: the server the package would run at boot is disabled, and stopped if it runs.
    if (existsSync('/run/systemd/system')) {
      spawnSync('systemctl', ['disable', '--now', 'prometheus.service'], {
        stdio: 'ignore',
        timeout: 60_000,
      });
    } else if (has('update-rc.d')) {
      spawnSync('update-rc.d', ['prometheus', 'disable'], { stdio: 'ignore', timeout: 60_000 });
    }
  }
  return undefined;
}

/**
 * Makes sure the tools the selected test files need are on PATH. Returns undefined when they are, else
 * the one line to print.
 */
export function provision(testFiles) {
  const missing = TOOLS.filter((t) => t.tests.some((f) => testFiles.includes(f)) && !has(t.command));
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((t) => t.pkg))];
  const commands = missing.map((t) => t.command).join(', ');
  const aptLine = `apt-get install --no-install-recommends ${packages.join(' ')}`;
  const advice = `install the Debian packages ${packages.join(' ')} (${aptLine})`;
  const root = process.getuid?.() === 0;
  if (!has('apt-get')) return `tests need ${commands}, which are missing and there is no apt-get: ${advice}`;
  if (!root) return `tests need ${commands}, which are missing: ${advice}, or run npm test as root`;
  console.error(`provision: installing ${packages.join(' ')} (for ${commands}) with apt-get`);
  const failure = install(packages);
  if (failure) return `tests need ${commands}: ${failure}; ${advice}`;
  const still = missing.filter((t) => !has(t.command));
  if (still.length > 0)
    return `tests need ${still.map((t) => t.command).join(', ')}, still missing after installing: ${advice}`;
  return undefined;
}
