/**
 * Session 12 hostile audit of the sysfs backend with --root trees that are not what the kernel makes.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertOneErrorLine, cli, describeResult, scratchDir } from '../helpers/cli.js';
import { stopRun } from '../helpers/stop-run.js';
import { copyFixture } from '../unit/helpers/sysfs-fixture.js';

describe('tracefs in a --root tree stays inside it (session 12)', () => {
  test('a dead session named in kprobe_events whose enable links out: the file outside is not written', async () => {
    const fixture = copyFixture('cxl');
    const outside = mkdtempSync(path.join(scratchDir('outside'), 'v-'));
    try {
      const victim = path.join(outside, 'victim');
      writeFileSync(victim, 'precious\n');
      const tracing = path.join(fixture.root, 'sys/kernel/tracing');
      // A group of a memregion pid that no longer runs: the leftover clean-up disables it first.
      appendFileSync(
        path.join(tracing, 'kprobe_events'),
        'p:memregion_3999999/inv cpu_cache_invalidate_memregion\n',
      );
      mkdirSync(path.join(tracing, 'events/memregion_3999999'), { recursive: true });
      symlinkSync(victim, path.join(tracing, 'events/memregion_3999999/enable'));
      const instances = path.join(tracing, 'instances');
      rmSync(instances, { recursive: true, force: true });
      symlinkSync(outside, instances);
      const r = await cli(['--root', fixture.root, 'invalidate', '--region', 'region1', '--yes'], {
        timeoutMs: 20_000,
      });
      assert.equal(
        readFileSync(victim, 'utf8'),
        'precious\n',
        `written through the link: ${describeResult(r)}`,
      );
      assert.match(r.stdout, /tracing: cannot create the tracing instance .*\(EXDEV\)/, describeResult(r));
    } finally {
      fixture.cleanup();
    }
  });
});

describe('one-line kernel files of a --root tree are quoted as one bounded line (session 12)', () => {
  test('a lockdown file of 1 MiB: probe --json quotes its first page, not all of it', async () => {
    const fixture = copyFixture('machines/arm64-registered');
    try {
      const lockdown = path.join(fixture.root, 'sys/kernel/security/lockdown');
      writeFileSync(lockdown, `none [integrity] ${'x'.repeat(1024 * 1024)}\nsecond line\n`);
      const r = await cli(['--root', fixture.root, '--json', 'probe'], { timeoutMs: 20_000 });
      assert.equal(r.exitCode, 0, describeResult(r));
      const evidence = JSON.parse(r.stdout).evidence as { source: string; detail: string }[];
      const detail = evidence.find((e) => e.source === '/sys/kernel/security/lockdown')?.detail ?? '';
      assert.match(detail, /^mode integrity \(none \[integrity\] x+\)$/);
      assert.ok(detail.length < 8192, `detail of ${detail.length} characters`);
    } finally {
      fixture.cleanup();
    }
  });
});

/** Links `prefix<first>`..`prefix<first+count-1>` to `target` in `dir`: a tree that takes seconds to read. */
function manyLinks(dir: string, prefix: string, target: string, first: number, count: number): void {
  for (let i = first; i < first + count; i++) symlinkSync(target, path.join(dir, `${prefix}${i}`));
}

describe('a --root tree that takes seconds to read stops at the first signal (session 12)', () => {
  const cases = [
    {
      command: 'regions',
      fixture: 'cxl',
      grow: (root: string) =>
        manyLinks(path.join(root, 'sys/bus/cxl/devices'), 'region', 'region1', 100, 30_000),
      line: /^memregion: interrupted: no regions listed$/m,
    },
    {
      command: 'probe',
      fixture: 'machines/arm64-registered',
      grow: (root: string) => manyLinks(path.join(root, 'sys/devices'), 'soc', 'soc0', 1, 30_000),
      line: /^memregion: interrupted: nothing probed$/m,
    },
  ];
  for (const { command, fixture: name, grow, line } of cases) {
    test(`${command} of 30,000 linked devices, SIGTERM after 1 s: 143 at once (it read on for seconds)`, async () => {
      const fixture = copyFixture(name);
      try {
        grow(fixture.root);
        const r = await stopRun(['--root', fixture.root, '--json', command], 'SIGTERM', () => sleep(1000), {
          timeoutMs: 60_000,
        });
        assert.equal(r.exitedBeforeSignal, false, `ended before the signal: ${describeResult(r)}`);
        assert.equal(r.exitCode, 143, describeResult(r));
        assert.ok(r.stopMs < 2000, `stopped ${Math.round(r.stopMs)} ms after the signal`);
        assert.match(r.stderr, line, describeResult(r));
        assert.equal(r.stdout, '');
      } finally {
        fixture.cleanup();
      }
    });
  }
});

describe('a region flow stops at the first signal while it reads who uses the region (session 12)', () => {
  /** region0 (committed, at 0x4080000000) over 90,000 online memory blocks of 4 KiB, all links to one. */
  function manyBlocks(root: string): void {
    const memory = path.join(root, 'sys/devices/system/memory');
    mkdirSync(path.join(memory, 'memory0'), { recursive: true });
    writeFileSync(path.join(memory, 'memory0/state'), 'online\n');
    writeFileSync(path.join(memory, 'block_size_bytes'), '1000\n');
    manyLinks(memory, 'memory', 'memory0', 0x40_8000_0000 / 0x1000, 90_000);
  }
  for (const args of [
    ['invalidate', '--region', 'region0', '--cycle', '--yes'],
    ['erase', '--region', 'region0', '--yes'],
  ]) {
    test(`${args.join(' ')}, SIGTERM after 1 s: 143 at once, nothing written (it was 75, seconds later)`, async () => {
      const fixture = copyFixture('cxl');
      try {
        manyBlocks(fixture.root);
        const r = await stopRun(['--root', fixture.root, '--json', ...args], 'SIGTERM', () => sleep(1000), {
          timeoutMs: 60_000,
        });
        assert.equal(r.exitedBeforeSignal, false, `ended before the signal: ${describeResult(r)}`);
        assert.equal(r.exitCode, 143, describeResult(r));
        assert.ok(r.stopMs < 2000, `stopped ${Math.round(r.stopMs)} ms after the signal`);
        assert.match(r.stderr, /^memregion: interrupted before any write: nothing was written$/m);
        assert.equal(
          readFileSync(path.join(fixture.root, 'sys/bus/cxl/devices/region0/commit'), 'utf8'),
          '1\n',
        );
      } finally {
        fixture.cleanup();
      }
    });
  }
});

describe('regions shows the names of a --root tree escaped (session 12)', () => {
  test('escape sequences and a bidi override in /proc/iomem names reach the terminal escaped', async () => {
    const fixture = copyFixture('cxl');
    try {
      writeFileSync(
        path.join(fixture.root, 'proc/iomem'),
        [
          '4080000000-417fffffff : CXL Window 0\u001b[2J\u001b]0;title\u0007',
          '  4080000000-40bfffffff : region0',
          '5000000000-53ffffffff : Evil \u001b[31m\u202e',
          '  5000000000-50ffffffff : Soft Reserved',
          '',
        ].join('\n'),
      );
      const r = await cli(['--root', fixture.root, 'regions'], { timeoutMs: 20_000 });
      assert.equal(r.exitCode, 0, describeResult(r));
      assert.doesNotMatch(r.stdout, /[\u001b\u0007\u202e]/, 'a control character reached stdout raw');
      assert.match(r.stdout, /parent=CXL Window 0\\x1b\[2J\\x1b\]0;title\\x07 /);
      assert.match(r.stdout, /parent=Evil \\x1b\[31m\\u202e /);
    } finally {
      fixture.cleanup();
    }
  });
});

describe('a region interleave_ways the kernel cannot print (session 12)', () => {
  for (const ways of ['18446744073709551615', '4294967296', '17']) {
    test(`interleave_ways ${ways}: invalidate --region is refused with 65 and one line, regions lists null`, async () => {
      const fixture = copyFixture('cxl');
      try {
        const region = path.join(fixture.root, 'sys/bus/cxl/devices/region1');
        writeFileSync(path.join(region, 'interleave_ways'), `${ways}\n`);
        const r = await cli(['--root', fixture.root, 'invalidate', '--region', 'region1', '--yes'], {
          timeoutMs: 20_000,
        });
        assert.equal(r.exitCode, 65, describeResult(r));
        assertOneErrorLine(r, /region1 is not fully configured \(no readable interleave_ways/);
        assert.equal(readFileSync(path.join(region, 'commit'), 'utf8'), '0\n', 'commit was written');
        const listed = await cli(['--root', fixture.root, '--json', 'regions'], { timeoutMs: 20_000 });
        const doc = JSON.parse(listed.stdout) as {
          regions: { name: string; kind: string; interleave_ways: unknown }[];
        };
        const entry = doc.regions.find((e) => e.name === 'region1' && e.kind === 'cxl_region');
        assert.equal(entry?.interleave_ways, null, describeResult(listed));
      } finally {
        fixture.cleanup();
      }
    });
  }
});
