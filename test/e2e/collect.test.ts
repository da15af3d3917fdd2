/** `memregion collect`: the archive round trip (collect, unpack, probe/regions --root give the same JSON). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { x as extract } from 'tar';
import { cli, cliToFile, describeResult, parseJson, scratchDir } from '../helpers/cli.js';
import { copyFixture, FIXTURES } from '../unit/helpers/sysfs-fixture.js';

const TOP = 'memregion-evidence';
const trees = [
  ...readdirSync(path.join(FIXTURES, 'machines')).map((n) => `machines/${n}`),
  ...readdirSync(path.join(FIXTURES, 'kernels')).map((n) => `kernels/${n}`),
  'cxl',
];

/** Collects `root` (undefined: the real /) into a fresh folder and unpacks it; the unpacked root. */
async function collectAndUnpack(root: string | undefined): Promise<{ unpacked: string; stderr: string }> {
  const dir = scratchDir('collect');
  const archive = path.join(dir, 'evidence.tar.gz');
  const r = await cli([...(root ? ['--root', root] : []), 'collect', '--output', archive], {
    timeoutMs: 120_000,
  });
  assert.equal(r.exitCode, 0, describeResult(r));
  assert.equal(r.stdout, '');
  await extract({ file: archive, cwd: dir });
  return { unpacked: path.join(dir, TOP), stderr: r.stderr };
}

async function sameAnswers(original: string[], unpacked: string): Promise<void> {
  for (const command of ['probe', 'regions']) {
    const a = await cli([...original, '--json', command], { timeoutMs: 60_000 });
    const b = await cli(['--root', unpacked, '--json', command], { timeoutMs: 60_000 });
    assert.equal(b.exitCode, a.exitCode, `${command}: ${describeResult(b)}`);
    assert.equal(b.stdout, a.stdout, `${command} --root <unpacked> answers as on the original`);
  }
}

describe('collect', () => {
  for (const tree of trees) {
    test(`round trip of ${tree}: probe and regions answer the same from the archive`, async () => {
      const root = path.join(FIXTURES, tree);
      const { unpacked, stderr } = await collectAndUnpack(root);
      assert.match(stderr, /collected \d+ files/);
      const manifest = JSON.parse(readFileSync(path.join(unpacked, 'memregion-collect.json'), 'utf8'));
      assert.equal(manifest.tool, 'memregion collect');
      assert.deepEqual(manifest.unreadable, []);
      await sameAnswers(['--root', root], unpacked);
    });
  }

  test('round trip of this machine (real /)', async () => {
    const { unpacked } = await collectAndUnpack(undefined);
    const host = parseJson(await cli(['--json', 'probe'], { timeoutMs: 60_000 })) as {
      kernel_log: { source: string };
    };
    // With a wrapped ring the host also reads journalctl, which the archive does not hold: compare what
    // does not come from the kernel log then.
    if (host.kernel_log.source === '/dev/kmsg') {
      await sameAnswers([], unpacked);
    } else {
      const b = parseJson(
        await cli(['--root', unpacked, '--json', 'probe'], { timeoutMs: 60_000 }),
      ) as Record<string, unknown>;
      const a = host as unknown as Record<string, unknown>;
      for (const key of ['kernel', 'lockdown', 'tracing', 'soc_id']) assert.deepEqual(b[key], a[key], key);
    }
  });

  test('a file that cannot be read is listed in the manifest, and the probe of the archive reports the same error', async () => {
    const fixture = copyFixture('machines/arm64-registered');
    const server = net.createServer();
    try {
      // open() of a socket fails with ENXIO: unreadable, as a root-only file would be without root.
      rmSync(path.join(fixture.root, 'sys/kernel/security/lockdown'), { force: true });
      await new Promise<void>((resolve) =>
        server.listen(path.join(fixture.root, 'sys/kernel/security/lockdown'), resolve),
      );
      const { unpacked } = await collectAndUnpack(fixture.root);
      const manifest = JSON.parse(readFileSync(path.join(unpacked, 'memregion-collect.json'), 'utf8'));
      assert.deepEqual(manifest.unreadable, [{ path: 'sys/kernel/security/lockdown', code: 'ENXIO' }]);
      const probe = parseJson(await cli(['--root', unpacked, '--json', 'probe'], { timeoutMs: 60_000 })) as {
        evidence: { source: string; detail: string }[];
      };
      const lockdown = probe.evidence.find((e) => e.source === '/sys/kernel/security/lockdown');
      assert.equal(lockdown?.detail, 'not readable (ENXIO)');
      await sameAnswers(['--root', fixture.root], unpacked);
    } finally {
      server.close();
      fixture.cleanup();
    }
  });

  test('a hostile tree (kmsg a /dev/zero clone, kallsyms a FIFO) is collected without hanging, bounded', async () => {
    const fixture = copyFixture('cxl');
    try {
      const at = (relative: string) => path.join(fixture.root, relative);
      rmSync(at('dev/kmsg'), { force: true });
      await execa('mknod', [at('dev/kmsg'), 'c', '1', '5']);
      rmSync(at('proc/kallsyms'), { force: true });
      await execa('mkfifo', [at('proc/kallsyms')]);
      const { unpacked } = await collectAndUnpack(fixture.root);
      // Below a root but / a device node is not opened (session 12): the ring is empty, and said unreadable.
      assert.equal(readFileSync(path.join(unpacked, 'dev/kmsg')).length, 0);
      const manifest = JSON.parse(readFileSync(path.join(unpacked, 'memregion-collect.json'), 'utf8'));
      assert.deepEqual(
        manifest.unreadable.filter((u: { path: string }) => u.path === 'dev/kmsg'),
        [{ path: 'dev/kmsg', code: 'EXDEV' }],
      );
      assert.equal(readFileSync(path.join(unpacked, 'proc/kallsyms')).length, 0);
    } finally {
      fixture.cleanup();
    }
  });

  test('refuses what it cannot do: the emulated backend (64), a JSON format (64)', async () => {
    const emulated = await cli([
      '--backend',
      'emulated',
      'collect',
      '--output',
      path.join(scratchDir(), 'x.tar.gz'),
    ]);
    assert.equal(emulated.exitCode, 64, describeResult(emulated));
    assert.match(emulated.stderr, /^memregion: collect copies the evidence of the sysfs backend/);
    const json = await cli(['--json', 'collect']);
    assert.equal(json.exitCode, 64, describeResult(json));
    assert.equal(json.stdout, '');
  });

  test('without --output the archive goes to stdout (not a terminal)', async () => {
    const dir = scratchDir('stdout');
    const archive = path.join(dir, 'out.tar.gz');
    const r = await cliToFile(archive, ['--root', path.join(FIXTURES, 'cxl'), 'collect'], {
      timeoutMs: 60_000,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    await extract({ file: archive, cwd: dir });
    await sameAnswers(['--root', path.join(FIXTURES, 'cxl')], path.join(dir, TOP));
  });
});
