/**
 * Session 14 hostile audit of the sysfs backend's region flows and evidence reading with --root trees
 * that are not what the kernel makes.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertOneErrorLine,
  assertRefused,
  type CliChild,
  type CliResult,
  cli,
  describeResult,
} from '../helpers/cli.js';
import { pollUntil, type StoppedResult, stopRun } from '../helpers/stop-run.js';
import { fixtureEachTest } from '../helpers/temp-trees.js';

const CXL = 'sys/bus/cxl/devices';

/** Links `prefix<first>`..`prefix<first+count-1>` to `target` in `dir`: a tree that takes seconds to read. */
function manyLinks(dir: string, prefix: string, target: string, first: number, count: number): void {
  for (let i = first; i < first + count; i++) symlinkSync(target, path.join(dir, `${prefix}${i}`));
}

/** Whether the process catches SIGTERM (main's stop handlers are in place), from /proc/PID/status. */
function catchesSigterm(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}

/** Ready once the run catches SIGTERM, plus a moment to get into its preflight. */
const handlersUp = async (child: CliChild): Promise<void> => {
  await pollUntil(() => catchesSigterm(child.pid));
  await sleep(300);
};

/** A run sent SIGTERM once it is under way (in a preflight that takes seconds). */
const stopInPreflight = (args: string[]): Promise<StoppedResult> =>
  stopRun(args, 'SIGTERM', handlersUp, { timeoutMs: 60_000 });

/** 143, the line of a flow stopped before its first write, and no report. */
function assertStoppedBeforeAnyWrite(r: StoppedResult): void {
  assert.equal(r.exitedBeforeSignal, false, `ended before the signal: ${describeResult(r)}`);
  assert.equal(r.exitCode, 143, describeResult(r));
  assert.match(
    r.stderr,
    /^memregion: interrupted before any write: nothing was written$/m,
    describeResult(r),
  );
  assert.equal(r.stdout, '', describeResult(r));
}

describe('a signal during the erase preflight stops it before any write (session 14)', () => {
  const tree = fixtureEachTest('cxl', {
    // 30,000 endpoints before endpoint4 in listing order, none of them mem1's: finding mem1's endpoint
    // reads every one of their uport links, seconds before the erase would be written.
    setUp: ({ root }) => manyLinks(path.join(root, CXL), 'endpoint', 'endpoint3', 100_000, 30_000),
  });
  for (const args of [
    ['erase', 'mem1', '--yes'],
    ['erase', '--region', 'region1', '--yes'],
  ]) {
    test(`${args.join(' ')}, SIGTERM in the preflight: 143, mem1 not sanitized (it was written after the signal)`, async () => {
      const sanitize = path.join(tree.root, CXL, 'mem1/security/sanitize');
      const r = await stopInPreflight(['--root', tree.root, '--json', ...args, '--timeout', '5s']);
      assert.equal(readFileSync(sanitize, 'utf8'), '', `written after the signal: ${describeResult(r)}`);
      assertStoppedBeforeAnyWrite(r);
    });
  }
});

describe('a region flow reads a /proc/iomem of many claims in linear time (session 14)', () => {
  const tree = fixtureEachTest('cxl', {
    // 300,000 distinct resources below dax0.0 inside region0: each was looked for in the list of the
    // ones before it, minutes of synchronous work, deaf to every signal.
    setUp: ({ root }) => {
      const lines = readFileSync(path.join(root, 'proc/iomem'), 'utf8').split('\n');
      const at = lines.findIndex((line) => line.endsWith(' : dax0.0'));
      const nested = Array.from({ length: 300_000 }, (_, i) => `      4080000000-40bfffffff : claim${i}`);
      const iomem = [...lines.slice(0, at + 1), ...nested, ...lines.slice(at + 1)];
      writeFileSync(path.join(root, 'proc/iomem'), iomem.join('\n'));
    },
  });
  test('invalidate --region region0 --cycle --dry-run: the in-use refusal (75), not a hang', async () => {
    const r = await cli(['--root', tree.root, 'invalidate', '--region', 'region0', '--cycle', '--dry-run'], {
      timeoutMs: 30_000,
    });
    assertRefused(r, 75, /^memregion: refusing to decommit region0: it is in use \(dax0\.0 is bound to kmem/);
  });
});

/** A memdev's entry in the document of `regions --json`. */
const memdevOf = (r: CliResult, name: string) =>
  JSON.parse(r.stdout).regions.find(
    (e: { name: string; kind: string }) => e.kind === 'cxl_memdev' && e.name === name,
  );

describe('a committed-decoder count the kernel cannot print (session 14)', () => {
  const tree = fixtureEachTest('cxl', {
    setUp: ({ root }) =>
      writeFileSync(path.join(root, CXL, 'endpoint4/decoders_committed'), '18446744073709551615\n'),
  });
  test('decoders_committed 2^64-1: regions --json lists null, not the lossy number 18446744073709552000', async () => {
    const r = await cli(['--root', tree.root, '--json', 'regions']);
    assert.equal(r.exitCode, 0, describeResult(r));
    assert.doesNotMatch(r.stdout, /18446744073709552000/);
    const mem1 = memdevOf(r, 'mem1');
    assert.equal(mem1.decoders_committed, null);
  });
});

describe('a security/state that says nothing confirms no erase (session 14)', () => {
  const tree = fixtureEachTest('cxl', {
    setUp: ({ root }) => writeFileSync(path.join(root, CXL, 'mem1/security/state'), ''),
  });
  for (const args of [
    ['erase', 'mem1'],
    ['erase', '--region', 'region1'],
  ]) {
    test(`${args.join(' ')} with an empty state file: 74, state unknown (it was 0, "finished: state ")`, async () => {
      const r = await cli(['--root', tree.root, '--json', ...args, '--yes']);
      assert.equal(r.exitCode, 74, describeResult(r));
      const doc = JSON.parse(r.stdout);
      const state = doc.memdevs ? doc.memdevs[0].state : doc.state;
      assert.equal(doc.ok, false);
      assert.equal(state, 'unknown');
      assertOneErrorLine(r, /mem1.*\bunknown\b/);
    });
  }
});

describe('a read-only attribute of a --root tree is not written, by root either (session 14)', () => {
  const tree = fixtureEachTest('cxl');
  const cases = [
    {
      args: ['invalidate', '--region', 'region1'],
      file: 'region1/commit',
      line: /region1\/commit <- 1 \(EACCES\)/,
    },
    { args: ['erase', 'mem1'], file: 'mem1/security/sanitize', line: /sanitize mem1 \(EACCES\)/ },
    {
      args: ['erase', '--region', 'region1'],
      file: 'mem1/security/sanitize',
      line: /sanitize of mem1 \(EACCES\) failed/,
    },
  ];
  for (const { args, file, line } of cases) {
    test(`${args.join(' ')} --yes with ${file} mode 0444: 77 and the file as it was (kernfs refuses; root wrote it)`, async () => {
      const target = path.join(tree.root, CXL, file);
      const before = readFileSync(target, 'utf8');
      chmodSync(target, 0o444);
      const r = await cli(['--root', tree.root, ...args, '--yes']);
      assert.equal(readFileSync(target, 'utf8'), before, describeResult(r));
      assert.equal(r.exitCode, 77, describeResult(r));
      assert.match(r.stderr, line, describeResult(r));
    });
  }
});

describe('stress --region stops at the first signal while it reads who uses the region (session 14)', () => {
  const tree = fixtureEachTest('cxl', {
    // region2 (committed, at 0x4100000000, nothing bound) over 90,000 offline memory blocks of 4 KiB.
    setUp: ({ root }) => {
      const memory = path.join(root, 'sys/devices/system/memory');
      writeFileSync(path.join(memory, 'memory0/state'), 'offline\n');
      writeFileSync(path.join(memory, 'block_size_bytes'), '1000\n');
      manyLinks(memory, 'memory', 'memory0', 0x41_0000_0000 / 0x1000, 90_000);
    },
  });
  test('stress --region region2 --cycles 2 --yes, SIGTERM in the preflight: 143, nothing written, no report', async () => {
    const commit = path.join(tree.root, CXL, 'region2/commit');
    writeFileSync(commit, '1');
    const args = ['--root', tree.root, '--json', 'stress', '--region', 'region2', '--cycles', '2', '--yes'];
    const r = await stopInPreflight(args);
    assert.equal(readFileSync(commit, 'utf8'), '1', `region2/commit was written: ${describeResult(r)}`);
    assertStoppedBeforeAnyWrite(r);
  });
});

describe('a memdev whose ram and pmem sizes add up past 64 bits (session 14)', () => {
  const tree = fixtureEachTest('cxl', {
    setUp: ({ root }) => {
      for (const part of ['ram', 'pmem'])
        writeFileSync(path.join(root, CXL, `mem1/${part}/size`), '0xffffffffffffffff\n');
    },
  });
  test('regions --json: mem1 size null, not 36893488147419103230 (a size past 2^64)', async () => {
    const r = await cli(['--root', tree.root, '--json', 'regions']);
    assert.equal(r.exitCode, 0, describeResult(r));
    const mem1 = memdevOf(r, 'mem1');
    assert.equal(mem1.size, null);
    assert.equal(mem1.ram_size, '18446744073709551615');
  });
});
