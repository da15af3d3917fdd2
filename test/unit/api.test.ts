/**
 * The library API (`import { createBackend, probe, invalidate, stress } from 'memregion'`): what it
 * returns is what the CLI prints, the package's `exports` resolve to the build with its types, and the
 * README's example is examples/library.mjs and runs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  createBackend,
  ExitCode,
  invalidate,
  MemregionError,
  probe,
  type StressSnapshot,
  stress,
} from '../../src/index.js';
import { emu, parseJson, ROOT, withoutHostMeasurements } from '../helpers/cli.js';
import { runSync } from '../helpers/spawn.js';

const withoutTimes = <T extends { started_at?: unknown; finished_at?: unknown }>(report: T) => {
  const { started_at: _s, finished_at: _f, ...rest } = withoutHostMeasurements(report);
  return rest;
};

async function rejectsWith(promise: Promise<unknown>, exitCode: number, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MemregionError, `a MemregionError, not ${String(error)}`);
    assert.equal(error.exitCode, exitCode, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('library API', () => {
  test('probe: the report the CLI prints as --json', async () => {
    for (const profile of ['global', 'unsupported']) {
      const backend = await createBackend({ backend: 'emulated', profile, seed: 1 });
      try {
        const report = await probe(backend);
        assert.deepEqual(report, parseJson(await emu(['--profile', profile, '--json', 'probe'])));
      } finally {
        await backend.close();
      }
    }
  });

  test('invalidate: addresses as text, bigint or number; the CLI report; errors carry the exit code', async () => {
    const backend = await createBackend({ backend: 'emulated', seed: 1, virtualTime: true });
    try {
      const a = await invalidate(backend, { start: '0x80000000', size: '2M' });
      const b = await invalidate(backend, { start: 0x8000_0000n, size: 2n * 1024n * 1024n });
      const c = await invalidate(backend, { start: 0x8000_0000, size: 2 * 1024 * 1024, dryRun: true });
      for (const r of [a, b, c]) {
        assert.equal(r.ok, true);
        assert.equal(r.start, '0x80000000');
        assert.equal(r.size, '2097152');
        assert.equal(r.errno, null);
      }
      assert.equal(c.dry_run, true);
      const cliReport = parseJson(await emu(['--seed', '1', '--json', 'invalidate', '0x80000000', '2M']));
      assert.deepEqual(Object.keys(a).sort(), Object.keys(cliReport).sort());
      await rejectsWith(invalidate(backend, { start: 0, size: 0 }), ExitCode.DATA_ERR, /empty/);
      await rejectsWith(invalidate(backend, { start: 'zero', size: 4096 }), ExitCode.DATA_ERR, /start/);
      await rejectsWith(invalidate(backend, { start: -1, size: 4096 }), ExitCode.USAGE, /start/);
      await rejectsWith(invalidate(backend, { start: 0.5, size: 4096 }), ExitCode.USAGE, /start/);
      await rejectsWith(invalidate(backend, { start: 1n << 64n, size: 1 }), ExitCode.USAGE, /start/);
      await rejectsWith(
        invalidate(backend, { start: (1n << 64n) - 1n, size: 2 }),
        ExitCode.DATA_ERR,
        /2\^64/,
      );
    } finally {
      await backend.close();
    }
    const none = await createBackend({ backend: 'emulated', profile: 'unsupported' });
    try {
      await rejectsWith(invalidate(none, { start: 0, size: 4096 }), ExitCode.UNAVAILABLE);
    } finally {
      await none.close();
    }
  });

  test('stress: the same report as `memregion stress --json` for the same seed (the CLI runs this function)', async () => {
    const backend = await createBackend({
      backend: 'emulated',
      profile: 'busy',
      seed: 11,
      provider: 'batched',
      virtualTime: true,
    });
    let report: Awaited<ReturnType<typeof stress>>;
    try {
      report = await stress(backend, {
        workers: 8,
        ops: 2000,
        verify: true,
        pattern: 'sequential',
        size: '64K',
        span: '64M',
      });
    } finally {
      await backend.close();
    }
    const cli = parseJson(
      await emu([
        '--seed',
        '11',
        '--profile',
        'busy',
        '--provider',
        'batched',
        '--json',
        'stress',
        '--virtual-time',
        '--workers',
        '8',
        '--ops',
        '2000',
        '--verify',
        '--pattern',
        'sequential',
        '--size',
        '64K',
        '--span',
        '64M',
      ]),
    );
    assert.deepEqual(withoutTimes(report), withoutTimes(cli));
    assert.equal(report.provider, 'batched', 'the provider the backend was created with');
    assert.equal(report.seed, 11, 'the seed the backend was created with');
    assert.ok(Date.parse(report.started_at) <= Date.parse(report.finished_at));
  });

  test('stress: onInterval on the virtual clock, and an AbortSignal stops it with the report so far', async () => {
    const backend = await createBackend({ backend: 'emulated', seed: 5, virtualTime: true });
    try {
      const seen: StressSnapshot[] = [];
      const timed = await stress(backend, {
        durationMs: 50,
        intervalMs: 10,
        onInterval: (s) => seen.push(s),
      });
      assert.ok(seen.length >= 4, `${seen.length} interval snapshots`);
      assert.ok(seen.every((s, i) => i === 0 || s.elapsed_us > seen[i - 1]!.elapsed_us));
      assert.equal(timed.interrupted, false);

      const controller = new AbortController();
      controller.abort();
      const stopped = await stress(backend, { ops: 1_000_000, signal: controller.signal });
      assert.equal(stopped.interrupted, true);
      assert.ok(stopped.requests.issued < 1_000_000);
    } finally {
      await backend.close();
    }
  });

  test('stress: bad options are errors with the exit code, before any work', async () => {
    const backend = await createBackend({ backend: 'emulated', seed: 5, virtualTime: true });
    try {
      await rejectsWith(stress(backend, { workers: 0, ops: 1 }), ExitCode.USAGE, /workers/);
      await rejectsWith(stress(backend, { workers: 1.5, ops: 1 }), ExitCode.USAGE, /workers/);
      await rejectsWith(stress(backend, { ops: 1, durationMs: 0 }), ExitCode.USAGE, /duration/);
      await rejectsWith(stress(backend, { ops: 1, intervalMs: -1 }), ExitCode.USAGE, /interval/);
      await rejectsWith(
        stress(backend, { ops: 1, pattern: 'zigzag' as 'random' }),
        ExitCode.USAGE,
        /pattern/,
      );
      await rejectsWith(stress(backend, { ops: 1, size: 0 }), ExitCode.DATA_ERR, /size/);
      await rejectsWith(stress(backend, { ops: 1, size: '8K', span: '4K' }), ExitCode.DATA_ERR, /span/);
    } finally {
      await backend.close();
    }
  });

  test('stress: counts and durations as text, as the CLI hands its flags over, with its messages', async () => {
    const backend = await createBackend({ backend: 'emulated', seed: 5, virtualTime: true });
    try {
      const run = await stress(backend, { workers: '4', ops: '40', base: '0x80000000', size: '4K' });
      assert.equal(run.workers, 4);
      assert.equal(run.requests.completed, 40);
      await rejectsWith(
        stress(backend, { workers: '4\b', ops: 1 }),
        ExitCode.USAGE,
        /^--workers "4\\x08" is not a whole number$/,
      );
      await rejectsWith(stress(backend, { ops: '1_000' }), ExitCode.USAGE, /^--ops "1_000" is not a whole/);
      await rejectsWith(stress(backend, { durationMs: '1 s' }), ExitCode.USAGE, /^--duration "1 s"/);
      await rejectsWith(stress(backend, { durationMs: '0s' }), ExitCode.USAGE, /^--duration must be more/);
      await rejectsWith(stress(backend, { ops: 1, intervalMs: '0.1us' }), ExitCode.USAGE, /floor of 1us/);
      await rejectsWith(stress(backend, { ops: 1, base: '4kb' }), ExitCode.DATA_ERR, /^--base "4kb"/);
      await rejectsWith(stress(backend, { ops: 1, seed: 1.5 }), ExitCode.USAGE, /^--seed/);
      await rejectsWith(
        stress(backend, { region: 'region1', cycles: 'many' }),
        ExitCode.USAGE,
        /^--cycles "many"/,
      );
    } finally {
      await backend.close();
    }
  });

  test('createBackend checks its own options: names, seed, root, virtual time', async () => {
    await rejectsWith(
      createBackend({ backend: 'emulated', provider: 'v3' as 'v2' }),
      ExitCode.USAGE,
      /unknown provider "v3" \(v2, v1, rfc, batched\)/,
    );
    await rejectsWith(createBackend({ backend: 'emulated', seed: -1 }), ExitCode.USAGE, /^--seed "-1"/);
    await rejectsWith(createBackend({ backend: 'emulated', seed: 2 ** 32 }), ExitCode.USAGE, /too large/);
    await rejectsWith(createBackend({ backend: 'sysfs', root: '' }), ExitCode.USAGE, /empty/);
    await rejectsWith(
      createBackend({ backend: 'sysfs', root: '/nonexistent/memregion' }),
      ExitCode.NO_INPUT,
      /no such directory/,
    );
    await rejectsWith(
      createBackend({ backend: 'sysfs', virtualTime: true }),
      ExitCode.USAGE,
      /--virtual-time needs --backend emulated/,
    );
    const seeded = await createBackend({ backend: 'emulated', seed: '7' });
    await seeded.close();
  });

  test('invalidate: the emulated backend leaves the range checks to the API (size 0 is EINVAL, as in Linux)', async () => {
    const backend = await createBackend({ backend: 'emulated', seed: 1, virtualTime: true });
    try {
      await rejectsWith(invalidate(backend, { start: 0, size: 0 }), ExitCode.DATA_ERR, /empty/);
      const direct = await backend.invalidateRange(0x8000_0000n, 0n, { dryRun: false });
      assert.equal(direct.ok, false);
      assert.equal(direct.errno, 'EINVAL');
      assert.equal(
        direct.attempts,
        0,
        'arm_smccc_cache.c returns -EINVAL for size 0 before any firmware call',
      );
    } finally {
      await backend.close();
    }
  });

  test('createBackend: a profile object (the profile file format) is validated like a file', async () => {
    const backend = await createBackend({
      backend: 'emulated',
      profile: { name: 'lab-range', attributes: { global: false, latency_us: 7 }, smccc_version: '1.2' },
    });
    try {
      const report = await probe(backend);
      assert.equal(report.profile, 'lab-range');
      assert.equal(report.smccc.version, '1.2');
      assert.equal(report.attributes?.global, false);
      assert.equal(report.attributes?.latency_us, 7);
    } finally {
      await backend.close();
    }
    await rejectsWith(
      createBackend({ backend: 'emulated', profile: { attributes: { latency_us: 'fast' } } as never }),
      ExitCode.DATA_ERR,
      /latency_us/,
    );
    await rejectsWith(
      createBackend({ backend: 'emulated', profile: { colour: 'red' } as never }),
      ExitCode.DATA_ERR,
      /colour/,
    );
    await rejectsWith(
      createBackend({ backend: 'emulated', profile: 'no-such-profile' }),
      ExitCode.USAGE,
      /no-such-profile/,
    );
    await rejectsWith(createBackend({ backend: 'zfs' as 'sysfs' }), ExitCode.USAGE, /zfs/);
  });
});

describe('the package', () => {
  const scratch = path.join(ROOT, '.tmp', `api-test-${process.pid}`);
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('`exports` resolve "memregion" to the build: the functions, and types a TypeScript consumer can use', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.exports['.'], { types: './dist/src/index.d.ts', import: './dist/src/index.js' });
    assert.equal(pkg.bin.memregion, 'bin/memregion');
    const lib = await import('memregion');
    for (const name of ['createBackend', 'probe', 'invalidate', 'stress', 'MemregionError']) {
      assert.equal(typeof (lib as Record<string, unknown>)[name], 'function', name);
    }
    // A consumer inside the package resolves "memregion" by self-reference, as a dependent would.
    mkdirSync(scratch, { recursive: true });
    writeFileSync(
      path.join(scratch, 'consumer.ts'),
      [
        "import { createBackend, invalidate, probe, stress, type Profile, type ProbeReport, type StressReport } from 'memregion';",
        "const backend = await createBackend({ backend: 'emulated', profile: 'global', virtualTime: true });",
        'const p: ProbeReport = await probe(backend);',
        "const i = await invalidate(backend, { start: 0x80000000n, size: '2M', dryRun: true });",
        'const s: StressReport = await stress(backend, { ops: 10, workers: 2 });',
        "const name: Profile['name'] = 'x';",
        'export const out: [boolean, boolean, number, string] = [p.supported, i.ok, s.requests.completed, name];',
        '// @ts-expect-error: the backend name is checked',
        "await createBackend({ backend: 'zfs' });",
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
          skipLibCheck: true,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = runSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', scratch],
      { encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `a TypeScript consumer does not type-check:\n${tsc.stdout}${tsc.stderr}`);
  });

  test('examples/library.mjs (the README example) runs, deterministically', () => {
    const run = () =>
      runSync(process.execPath, [path.join(ROOT, 'examples/library.mjs')], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stderr, '');
    const lines = first.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^supported: true \(SMCCC 1\.7 via smc\)$/);
    assert.match(lines[1]!, /^invalidate: ok after \d+ attempt\(s\), [\d.]+ µs$/);
    assert.match(
      lines[2]!,
      /^stress: \d+ completed, \d+ failed, p99 [\d.]+ µs, \d+ retries, errors \{.*"EBUSY":\d+.*\}$/,
    );
    assert.equal(run().stdout, first.stdout, 'seeded and on virtual time: the same every run');
  });

  test('the README shows examples/library.mjs as it is', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Fleet and script integration'));
    assert.ok(readme.includes('## Fleet and script integration'), 'README has the integration section');
    const example = readFileSync(path.join(ROOT, 'examples/library.mjs'), 'utf8');
    const blocks = [...section.matchAll(/```(?:js|javascript)\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(
      blocks.includes(example),
      'a ```js block of the README section is examples/library.mjs, byte for byte',
    );
  });
});
