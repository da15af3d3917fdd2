/**
 * End-to-end tests of the command line (DESIGN §5) on the emulated backend: the built bin/memregion is
 * spawned with no TTY and NO_COLOR=1, and exit code, stdout and stderr are asserted separately.
 * This file: global options and usage errors, probe, invalidate (ranges), profile files, profiles,
 * regions, --output, colour, and a sweep of bad inputs for stack traces. Stress is in
 * cli-emulated-stress.test.ts; invalidate --region, erase and trace in cli-emulated-flows.test.ts.
 *
 *   npx tsc -p . && node --import tsx --test test/e2e/*.test.ts
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  ANSI,
  assertExit,
  assertOneErrorLine,
  assertRefused,
  assertSnakeCaseKeys,
  BIN,
  childEnv,
  cli,
  cxlRegions,
  DECIMAL,
  type Doc,
  describeResult,
  emu,
  HEX_ADDRESS,
  isCommitted,
  NODE,
  parseJson,
  ROOT,
  scratchDir,
  writeScratchFile,
} from '../helpers/cli.js';
import { hasTimedOut, spawnBounded } from '../helpers/spawn.js';

/** Spawns in parallel; the machine may have 2 cores, so not all at once. */
const CONCURRENCY = 6;

const EX = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATA_ERR: 65,
  NO_INPUT: 66,
  UNAVAILABLE: 69,
  TEMP_FAIL: 75,
} as const;

const COMMANDS = ['probe', 'invalidate', 'stress', 'profiles', 'regions', 'erase', 'trace'];
const DESIGN_PROFILES = ['global', 'range', 'busy', 'rate-limited', 'unsupported', 'smccc-1.0', 'stuck'];

describe('memregion CLI on the emulated backend', { concurrency: CONCURRENCY }, () => {
  describe('help, version and usage errors', { concurrency: CONCURRENCY }, () => {
    test('--help: exit 0, usage on stdout naming every command and global option, nothing on stderr', async () => {
      const r = await cli(['--help']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^Usage: memregion /);
      for (const command of COMMANDS)
        assert.match(r.stdout, new RegExp(`^  ${command}\\b`, 'm'), `--help lists ${command}`);
      for (const option of [
        '--backend',
        '--profile',
        '--root',
        '--seed',
        '--provider',
        '--json',
        '--format',
        '--output',
        '--quiet',
        '--verbose',
        '--no-color',
      ]) {
        assert.ok(r.stdout.includes(option), `--help lists ${option}`);
      }
    });

    test("<command> --help and help <command>: exit 0 with that command's usage", async () => {
      const [a, b] = await Promise.all([cli(['invalidate', '--help']), cli(['help', 'invalidate'])]);
      for (const r of [a, b]) {
        assertExit(r, EX.OK);
        assert.equal(r.stderr, '');
        assert.match(r.stdout, /^Usage: memregion invalidate /);
        assert.match(r.stdout, /--dry-run/);
      }
    });

    test('--version and -V: exit 0, the package version alone on stdout', async () => {
      const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        version: string;
      };
      const results = await Promise.all([cli(['--version']), cli(['-V'])]);
      for (const r of results) {
        assertExit(r, EX.OK);
        assert.equal(r.stdout, `${version}\n`);
        assert.equal(r.stderr, '');
      }
    });

    const usageCases: Array<{
      name: string;
      args: string[];
      env?: Record<string, string>;
      message?: RegExp;
    }> = [
      { name: 'unknown command', args: ['frobnicate'], message: /unknown command 'frobnicate'/ },
      { name: 'unknown global flag', args: ['--bogus', 'probe'], message: /unknown option '--bogus'/ },
      {
        name: 'unknown flag after the command',
        args: ['-b', 'emulated', 'probe', '--bogus'],
        message: /unknown option '--bogus'/,
      },
      {
        name: 'unknown flag of invalidate',
        args: ['-b', 'emulated', 'invalidate', '0', '4K', '--frob'],
        message: /--frob/,
      },
      { name: 'bad --backend', args: ['--backend', 'nfs', 'probe'], message: /nfs/ },
      { name: 'bad -b after the command', args: ['probe', '-b', 'nfs'], message: /nfs/ },
      { name: 'bad --provider', args: ['-b', 'emulated', '--provider', 'v3', 'probe'], message: /v3/ },
      { name: '--format bogus', args: ['-b', 'emulated', '--format', 'bogus', 'probe'], message: /bogus/ },
      {
        name: '--json contradicts --format human',
        args: ['-b', 'emulated', 'probe', '--json', '--format', 'human'],
        message: /--json/,
      },
      { name: '--backend without its value', args: ['probe', '-b'], message: /argument missing/ },
      { name: '--seed not a number', args: ['-b', 'emulated', '--seed', 'abc', 'probe'], message: /--seed/ },
      { name: 'missing argument of erase', args: ['-b', 'emulated', 'erase'], message: /memdev/ },
      {
        name: 'too many arguments',
        args: ['-b', 'emulated', 'invalidate', '1', '2', '3'],
        message: /too many arguments/,
      },
      {
        name: 'invalidate with no range and no --region',
        args: ['-b', 'emulated', 'invalidate'],
        message: /--region/,
      },
      { name: 'invalidate with a start but no size', args: ['-b', 'emulated', 'invalidate', '0x1000'] },
      {
        name: 'bad MEMREGION_BACKEND',
        args: ['probe'],
        env: { MEMREGION_BACKEND: 'nfs' },
        message: /MEMREGION_BACKEND/,
      },
      {
        name: 'bad MEMREGION_PROVIDER',
        args: ['-b', 'emulated', 'probe'],
        env: { MEMREGION_PROVIDER: 'v9' },
        message: /MEMREGION_PROVIDER/,
      },
      {
        name: 'unknown built-in profile',
        args: ['-b', 'emulated', '--profile', 'nosuch', 'probe'],
        message: /unknown profile "nosuch"/,
      },
      {
        name: '--format prometheus where there is none',
        args: ['-b', 'emulated', '--format', 'prometheus', 'profiles'],
        message: /prometheus/,
      },
    ];
    for (const c of usageCases) {
      test(`${c.name} → 64, one "memregion:" line on stderr, nothing on stdout`, async () => {
        assertRefused(await cli(c.args, { env: c.env }), EX.USAGE, c.message);
      });
    }
  });

  describe('global options and environment', { concurrency: CONCURRENCY }, () => {
    test('global options give the same document before and after the command', async () => {
      const variants = [
        ['-b', 'emulated', '--profile', 'range', '--provider', 'v1', '--json', 'probe'],
        ['probe', '-b', 'emulated', '--profile', 'range', '--provider', 'v1', '--json'],
        ['--json', 'probe', '--backend', 'emulated', '--profile=range', '--provider=v1'],
        ['--backend=emulated', 'probe', '--format', 'json', '--provider', 'v1', '--profile', 'range'],
      ];
      const results = await Promise.all(variants.map((args) => cli(args)));
      const docs = results.map((r) => {
        assertExit(r, EX.OK);
        assert.equal(r.stderr, '');
        return parseJson(r);
      });
      assert.equal(docs[0].backend, 'emulated');
      assert.equal(docs[0].profile, 'range');
      assert.equal(docs[0].provider.variant, 'v1');
      for (const doc of docs.slice(1)) assert.deepEqual(doc, docs[0]);
    });

    test('MEMREGION_BACKEND, MEMREGION_PROFILE and MEMREGION_PROVIDER select backend, profile and variant', async () => {
      const r = await cli(['probe', '--json'], {
        env: { MEMREGION_BACKEND: 'emulated', MEMREGION_PROFILE: 'range', MEMREGION_PROVIDER: 'batched' },
      });
      assertExit(r, EX.OK);
      const doc = parseJson(r);
      assert.equal(doc.backend, 'emulated');
      assert.equal(doc.profile, 'range');
      assert.equal(doc.provider.variant, 'batched');
    });

    test('flags win over the environment', async () => {
      const r = await cli(['--profile', 'busy', '--provider', 'rfc', 'probe', '--json'], {
        env: { MEMREGION_BACKEND: 'emulated', MEMREGION_PROFILE: 'range', MEMREGION_PROVIDER: 'batched' },
      });
      assertExit(r, EX.OK);
      const doc = parseJson(r);
      assert.equal(doc.profile, 'busy');
      assert.equal(doc.provider.variant, 'rfc');
    });

    test('MEMREGION_PROFILE naming an unsupported firmware makes probe exit 69', async () => {
      const r = await cli(['probe', '--json'], {
        env: { MEMREGION_BACKEND: 'emulated', MEMREGION_PROFILE: 'unsupported' },
      });
      assertExit(r, EX.UNAVAILABLE);
      assert.equal(parseJson(r).profile, 'unsupported');
    });
  });

  describe('probe', { concurrency: CONCURRENCY }, () => {
    /** What DESIGN §4 says of each built-in profile. */
    const expected: Record<string, { supported: boolean; check?: (doc: Doc) => void }> = {
      global: {
        supported: true,
        check: (d) =>
          assert.deepEqual(d.attributes, {
            global: true,
            latency_us: 100,
            rate_limit: 0,
            breakeven_bytes: '1073741824',
          }),
      },
      range: { supported: true, check: (d) => assert.equal(d.attributes.global, false) },
      busy: { supported: true },
      'rate-limited': { supported: true, check: (d) => assert.equal(d.attributes.rate_limit, 1000) },
      stuck: { supported: true },
      unsupported: {
        supported: false,
        check: (d) => {
          assert.equal(d.functions.clean_inv_memregion, false);
          assert.equal(d.attributes, null);
          assert.ok(
            d.reasons.some((r: string) => /CLEAN_INV_MEMREGION/.test(r)),
            'a reason names CLEAN_INV_MEMREGION',
          );
        },
      },
      'smccc-1.0': {
        supported: false,
        check: (d) => {
          assert.equal(d.smccc.version, '1.0');
          assert.equal(d.attributes, null);
          assert.ok(
            d.reasons.some((r: string) => /1\.1/.test(r)),
            'a reason says SMCCC 1.1 is needed',
          );
        },
      },
    };

    /** The probe contract of DESIGN §5, field by field (more fields are welcome). */
    function assertProbeContract(doc: Doc, profile: string): void {
      assert.equal(doc.backend, 'emulated');
      assert.equal(doc.profile, profile);
      assert.equal(typeof doc.supported, 'boolean');
      assert.ok(doc.smccc && typeof doc.smccc === 'object', 'smccc');
      assert.ok(
        doc.smccc.version === null || /^[0-9]+\.[0-9]+$/.test(doc.smccc.version),
        `smccc.version ${doc.smccc.version}`,
      );
      assert.ok(['smc', 'hvc', 'none'].includes(doc.smccc.conduit), `smccc.conduit ${doc.smccc.conduit}`);
      for (const fn of ['clean_inv_memregion', 'attributes']) {
        assert.ok(fn in doc.functions, `functions.${fn}`);
        assert.ok(doc.functions[fn] === null || typeof doc.functions[fn] === 'boolean', `functions.${fn}`);
      }
      if (doc.attributes !== null) {
        const a = doc.attributes;
        assert.equal(typeof a.global, 'boolean');
        assert.ok(Number.isInteger(a.latency_us) && a.latency_us >= 0, 'attributes.latency_us');
        assert.ok(Number.isInteger(a.rate_limit) && a.rate_limit >= 0, 'attributes.rate_limit');
        assert.match(a.breakeven_bytes, DECIMAL, 'attributes.breakeven_bytes is a decimal string');
      }
      assert.equal(typeof doc.provider.registered, 'boolean');
      assert.ok(
        Array.isArray(doc.reasons) &&
          doc.reasons.every((r: unknown) => typeof r === 'string' && r.length > 0),
        'reasons',
      );
      assert.equal(doc.reasons.length === 0, doc.supported, 'reasons are empty exactly when supported');
      assert.equal(doc.provider.registered, doc.supported, 'emulated: supported means a provider registered');
      assertSnakeCaseKeys(doc);
    }

    test('every profile that `profiles --json` lists probes with the contract; DESIGN §4 ones as documented', async (t) => {
      const listing = await emu(['profiles', '--json']);
      assertExit(listing, EX.OK);
      const names: string[] = parseJson(listing).profiles.map((p: { name: string }) => p.name);
      for (const name of DESIGN_PROFILES) assert.ok(names.includes(name), `profiles lists ${name}`);
      await Promise.all(
        names.map((name) =>
          t.test(name, async () => {
            const [json, human] = await Promise.all([
              emu(['--profile', name, 'probe', '--json']),
              emu(['--profile', name, 'probe']),
            ]);
            const doc = parseJson(json);
            assertProbeContract(doc, name);
            const want = expected[name];
            if (want) assert.equal(doc.supported, want.supported, `${name} supported`);
            assertExit(json, doc.supported ? EX.OK : EX.UNAVAILABLE);
            assert.equal(json.stderr, '', `probe --json writes nothing on stderr\n${describeResult(json)}`);
            want?.check?.(doc);
            // Human output: the same verdict and exit code, the reasons listed.
            assertExit(human, json.exitCode!);
            assert.match(human.stdout, doc.supported ? /: supported/ : /not supported/);
            for (const reason of doc.reasons)
              assert.ok(human.stdout.includes(reason), `human output lists "${reason}"`);
            assert.doesNotMatch(human.stdout, ANSI);
          }),
        ),
      );
    });

    test('--provider shows in probe (provider.variant)', async () => {
      const docs = await Promise.all(
        ['v2', 'v1', 'rfc', 'batched'].map(
          async (variant) =>
            [variant, parseJson(await emu(['--provider', variant, 'probe', '--json']))] as const,
        ),
      );
      for (const [variant, doc] of docs) assert.equal(doc.provider.variant, variant);
    });
  });

  describe('invalidate <start> <size>', { concurrency: CONCURRENCY }, () => {
    test('ok: exit 0, JSON with the contract fields (start 0x hex, size decimal)', async () => {
      const r = await emu(['invalidate', '0x80000000', '4K', '--json', '--seed', '1']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      const doc = parseJson(r);
      assert.equal(doc.backend, 'emulated');
      assert.equal(doc.profile, 'global');
      assert.equal(doc.start, '0x80000000');
      assert.equal(doc.size, '4096');
      assert.equal(doc.dry_run, false);
      assert.equal(doc.ok, true);
      assert.equal(doc.errno, null);
      assert.equal(doc.attempts, 1);
      assert.ok(Number.isInteger(doc.elapsed_us) && doc.elapsed_us >= 0, 'elapsed_us is a whole number');
      assertSnakeCaseKeys(doc);
    });

    test('ok, human output: one success line, nothing on stderr', async () => {
      const r = await emu(['invalidate', '0x80000000', '2M']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^✓ invalidated 0x80000000 \+ 2 MiB\n/);
      assert.match(r.stdout, /attempts\s+1 \(0 retries\)/);
    });

    const parsing: Array<[string, string, string, string]> = [
      ['2G', '4KiB', '0x80000000', '4096'],
      ['1T', '2M', '0x10000000000', '2097152'],
      ['4096', '4KB', '0x1000', '4000'],
      ['0X1000', '1G', '0x1000', '1073741824'],
      ['0xdeadBEEF000', '1024', '0xdeadbeef000', '1024'],
      ['1MiB', '1GiB', '0x100000', '1073741824'],
      ['0', '1', '0x0', '1'],
    ];
    for (const [start, size, wantStart, wantSize] of parsing) {
      test(`units: ${start} ${size} → start ${wantStart}, size ${wantSize}`, async () => {
        const r = await emu(['invalidate', start, size, '--json']);
        assertExit(r, EX.OK);
        const doc = parseJson(r);
        assert.equal(doc.start, wantStart);
        assert.equal(doc.size, wantSize);
      });
    }

    test('0xffffffffffffffff 1 ends exactly at 2^64: ok', async () => {
      const r = await emu(['invalidate', '0xffffffffffffffff', '1', '--json']);
      assertExit(r, EX.OK);
      const doc = parseJson(r);
      assert.equal(doc.start, '0xffffffffffffffff');
      assert.equal(doc.size, '1');
      assert.equal(doc.ok, true);
    });

    const badData: Array<[string, string[], RegExp]> = [
      ['a range past 2^64', ['0xffffffffffffffff', '2'], /overflow|2\^64/],
      ['size 0', ['0x80000000', '0'], /empty|size 0/],
      ['size 0x0', ['0x80000000', '0x0'], /empty|size 0/],
      ['garbage start', ['zz', '4K'], /start "zz"/],
      ['garbage size', ['0x1000', 'lots'], /size "lots"/],
      ['an unknown unit', ['0x1000', '4Q'], /unit/],
      ['a negative size', ['0x1000', '-1'], /-1/],
      ['a start above 64 bits', ['0x10000000000000000', '1'], /64 bits/],
      ['a size above 64 bits', ['0', '16E'], /64 bits/],
      ['an empty start', ['', '4K'], /start/],
    ];
    for (const [name, args, message] of badData) {
      test(`${name} → 65, nothing on stdout`, async () => {
        assertRefused(await emu(['invalidate', ...args, '--json']), EX.DATA_ERR, message);
      });
    }

    test('--dry-run: exit 0, dry_run true, ok', async () => {
      const r = await emu(['invalidate', '0x80000000', '4K', '--dry-run', '--json']);
      assertExit(r, EX.OK);
      const doc = parseJson(r);
      assert.equal(doc.dry_run, true);
      assert.equal(doc.ok, true);
      assert.equal(doc.errno, null);
    });

    test('range profile, misaligned start → 65, the report on stdout with errno EINVAL, one line on stderr', async () => {
      const r = await emu(['--profile', 'range', 'invalidate', '0x80000001', '4K', '--json']);
      assertExit(r, EX.DATA_ERR);
      const doc = parseJson(r);
      assert.equal(doc.ok, false);
      assert.equal(doc.errno, 'EINVAL');
      assert.equal(doc.attempts, 1, 'EINVAL is not retried');
      assertOneErrorLine(r, /EINVAL/);
    });

    test('range profile, 64-byte aligned → ok; misaligned --dry-run → 65 too', async () => {
      const [aligned, dry] = await Promise.all([
        emu(['--profile', 'range', 'invalidate', '0x80000040', '128', '--json']),
        emu(['--profile', 'range', 'invalidate', '0x80000000', '100', '--dry-run', '--json']),
      ]);
      assertExit(aligned, EX.OK);
      assert.equal(parseJson(aligned).ok, true);
      assertExit(dry, EX.DATA_ERR);
      assert.equal(parseJson(dry).errno, 'EINVAL');
      assert.equal(parseJson(dry).dry_run, true);
    });

    test('stuck firmware → 75 after 5 attempts, errno EBUSY (v2: 5 sleeps)', async () => {
      const r = await emu(['--profile', 'stuck', 'invalidate', '0x80000000', '4K', '--json']);
      assertExit(r, EX.TEMP_FAIL);
      const doc = parseJson(r);
      assert.equal(doc.ok, false);
      assert.equal(doc.errno, 'EBUSY');
      assert.equal(doc.attempts, 5);
      assert.equal(doc.retries, 4);
      assert.equal(doc.sleeps, 5);
      assertOneErrorLine(r, /EBUSY/);
    });

    test('stuck firmware with --provider v1 → 75, 5 attempts but only 4 sleeps', async () => {
      const r = await emu([
        '--profile',
        'stuck',
        '--provider',
        'v1',
        'invalidate',
        '0x80000000',
        '4K',
        '--json',
      ]);
      assertExit(r, EX.TEMP_FAIL);
      const doc = parseJson(r);
      assert.equal(doc.attempts, 5);
      assert.equal(doc.sleeps, 4);
    });

    test('stuck firmware, human output: the failure on stdout, one error line on stderr', async () => {
      const r = await emu(['--profile', 'stuck', 'invalidate', '0x80000000', '4K']);
      assertExit(r, EX.TEMP_FAIL);
      assert.match(r.stdout, /^✗ failed to invalidate 0x80000000 \+ 4 KiB: EBUSY/);
      assertOneErrorLine(r, /EBUSY after 5 attempts/);
    });

    for (const profile of ['unsupported', 'smccc-1.0']) {
      test(`${profile} firmware → 69, nothing on stdout`, async () => {
        assertRefused(
          await emu(['--profile', profile, 'invalidate', '0x80000000', '4K', '--json']),
          EX.UNAVAILABLE,
          /no cache invalidation provider/,
        );
      });
    }
  });

  describe('profile files', { concurrency: CONCURRENCY }, () => {
    test('a valid file: its values are used, the name comes from the file', async () => {
      const file = writeScratchFile('lab-a.json', {
        name: 'lab-a',
        description: 'range firmware, 4 KiB alignment',
        smccc_version: '1.2',
        conduit: 'hvc',
        attributes: { global: false, latency_us: 7, rate_limit: 250, breakeven_bytes: '2147483648' },
        checks: { align_bytes: '4096' },
      });
      const [probe, aligned, misaligned] = await Promise.all([
        emu(['--profile', file, 'probe', '--json']),
        emu(['--profile', file, 'invalidate', '0x1000', '8K', '--json']),
        emu(['--profile', file, 'invalidate', '0x1040', '8K', '--json']),
      ]);
      assertExit(probe, EX.OK);
      const doc = parseJson(probe);
      assert.equal(doc.profile, 'lab-a');
      assert.deepEqual(doc.smccc, { version: '1.2', conduit: 'hvc' });
      assert.deepEqual(doc.attributes, {
        global: false,
        latency_us: 7,
        rate_limit: 250,
        breakeven_bytes: '2147483648',
      });
      assertExit(aligned, EX.OK);
      assert.equal(parseJson(aligned).profile, 'lab-a');
      assertExit(misaligned, EX.DATA_ERR);
      assert.equal(parseJson(misaligned).errno, 'EINVAL');
    });

    test('a file without a name is named after the file; "none" conduit → not supported (69)', async () => {
      const file = writeScratchFile('no-conduit.json', { conduit: 'none' });
      const r = await emu(['--profile', file, 'probe', '--json']);
      assertExit(r, EX.UNAVAILABLE);
      const doc = parseJson(r);
      assert.equal(doc.profile, 'no-conduit');
      assert.equal(doc.supported, false);
      assert.equal(doc.smccc.conduit, 'none');
    });

    test('a file with attributes_status BUSY → probe 69 (ATTRIBUTES must return SUCCESS)', async () => {
      const file = writeScratchFile('attr-busy.json', { attributes_status: 'busy' });
      const r = await emu(['--profile', file, 'probe', '--json']);
      assertExit(r, EX.UNAVAILABLE);
      assert.ok(parseJson(r).reasons.some((reason: string) => /ATTRIBUTES/.test(reason)));
    });

    const invalid: Array<[string, string | object, RegExp]> = [
      ['an unknown top-level key', { name: 'x', bogus_key: 1 }, /"bogus_key"/],
      ['an unknown nested key', { faults: { busy_probabilty: 0.1 } }, /faults\.busy_probabilty/],
      ['a wrong type', { attributes: { latency_us: 'slow' } }, /attributes\.latency_us/],
      ['a probability above 1', { faults: { busy_probability: 2 } }, /faults\.busy_probability/],
      ['a bad status name', { faults: { always: 'sometimes' } }, /faults\.always/],
      ['a bad region name', { regions: [{ name: '../x', start: '0x0', size: '4096' }] }, /regions\.0\.name/],
      ['a 64-bit value too large', { checks: { align_bytes: '0x10000000000000000' } }, /checks\.align_bytes/],
      ['not JSON', '{ "name": ', /not valid JSON/],
      ['JSON that is not an object', '[1, 2]', /profile/],
    ];
    for (const [name, content, message] of invalid) {
      test(`${name} → 65 naming the problem, for probe and for invalidate`, async () => {
        const file = writeScratchFile('bad.json', content);
        const [probe, inv] = await Promise.all([
          emu(['--profile', file, 'probe', '--json']),
          emu(['--profile', file, 'invalidate', '0', '4K']),
        ]);
        assertRefused(probe, EX.DATA_ERR, message);
        assertRefused(inv, EX.DATA_ERR, message);
      });
    }

    test('a missing file → 66', async () => {
      const missing = path.join(scratchDir('missing'), 'nope.json');
      assertRefused(await emu(['--profile', missing, 'probe']), EX.NO_INPUT, /nope\.json/);
    });

    test('a folder given as a profile file → 66', async () => {
      const dir = scratchDir('profile-dir');
      assertRefused(await emu(['--profile', `${dir}/`, 'probe']), EX.NO_INPUT);
    });
  });

  describe('profiles and regions', { concurrency: CONCURRENCY }, () => {
    test('profiles: human output lists every built-in name, one per line; --json the same names', async () => {
      const [human, json] = await Promise.all([emu(['profiles']), emu(['profiles', '--json'])]);
      assertExit(human, EX.OK);
      assertExit(json, EX.OK);
      assert.equal(human.stderr, '');
      assert.equal(json.stderr, '');
      const names: string[] = parseJson(json).profiles.map((p: { name: string }) => p.name);
      assert.deepEqual([...names].sort(), [...DESIGN_PROFILES].sort());
      const firstWords = human.stdout.split('\n').map((line) => line.split(/\s+/)[0]);
      for (const name of names) assert.ok(firstWords.includes(name), `human profiles lists ${name}`);
      for (const p of parseJson(json).profiles) {
        assert.equal(typeof p.description, 'string');
        assertSnakeCaseKeys(p);
      }
    });

    test('profiles works without --backend emulated (it lists the emulated firmwares)', async () => {
      const r = await cli(['profiles', '--json']);
      assertExit(r, EX.OK);
      assert.equal(parseJson(r).profiles.length, DESIGN_PROFILES.length);
    });

    test("regions --json lists the default profile's regions, 0x start and decimal size", async () => {
      const r = await emu(['regions', '--json']);
      assertExit(r, EX.OK);
      assert.equal(r.stderr, '');
      const doc = parseJson(r);
      assert.equal(doc.backend, 'emulated');
      assert.equal(doc.profile, 'global');
      assertSnakeCaseKeys(doc);
      const regions = cxlRegions(doc);
      const byName = Object.fromEntries(regions.map((region: Doc) => [region.name, region]));
      assert.deepEqual(Object.keys(byName).sort(), ['region0', 'region1']);
      for (const region of regions) {
        assert.match(region.start, HEX_ADDRESS);
        assert.match(region.size, DECIMAL);
      }
      assert.equal(byName.region0.start, '0x4080000000');
      assert.equal(byName.region0.size, '1073741824');
      assert.equal(isCommitted(byName.region0), false);
      assert.equal(isCommitted(byName.region1), true);
    });

    test('regions of a profile file; human output', async () => {
      const file = writeScratchFile('regions.json', {
        regions: [
          { name: 'region3', start: '0x2000000000', size: '268435456', memdev: 'mem2' },
          { name: 'region4', start: 68719476736, size: '0x10000000', committed: true },
        ],
      });
      const [json, human] = await Promise.all([
        emu(['--profile', file, 'regions', '--json']),
        emu(['--profile', file, 'regions']),
      ]);
      assertExit(json, EX.OK);
      const regions = cxlRegions(parseJson(json));
      assert.deepEqual(
        regions.map((r: Doc) => [r.name, r.start, r.size, isCommitted(r)]),
        [
          ['region3', '0x2000000000', '268435456', false],
          ['region4', '0x1000000000', '268435456', true],
        ],
      );
      assertExit(human, EX.OK);
      assert.match(human.stdout, /^region3\s+cxl_region\s+0x2000000000\s+256 MiB/m);
      assert.match(human.stdout, /^region4\s/m);
    });
  });

  describe('--output, colour', { concurrency: CONCURRENCY }, () => {
    for (const format of [['--json'], []]) {
      test(`--output ${format.length ? 'with --json' : '(human)'}: the file holds exactly what stdout would, stdout is empty, no temporary left`, async () => {
        const dir = scratchDir('output');
        const target = path.join(dir, 'probe.out');
        const [toFile, toStdout] = await Promise.all([
          emu(['--profile', 'range', 'probe', ...format, '--output', target]),
          emu(['--profile', 'range', 'probe', ...format]),
        ]);
        assertExit(toFile, EX.OK);
        assertExit(toStdout, EX.OK);
        assert.equal(toFile.stdout, '');
        assert.equal(toFile.stderr, '');
        assert.ok(toStdout.stdout.length > 0);
        assert.equal(readFileSync(target, 'utf8'), toStdout.stdout);
        assert.deepEqual(readdirSync(dir), ['probe.out']);
      });
    }

    test('--output replaces an existing file; a failing command still writes its report and keeps its exit code', async () => {
      const dir = scratchDir('output-fail');
      const target = path.join(dir, 'result.json');
      const first = await emu(['regions', '--json', '--output', target]);
      assertExit(first, EX.OK);
      const r = await emu([
        '--profile',
        'stuck',
        'invalidate',
        '0x80000000',
        '4K',
        '--json',
        '--output',
        target,
      ]);
      assertExit(r, EX.TEMP_FAIL);
      assert.equal(r.stdout, '');
      assertOneErrorLine(r, /EBUSY/);
      const doc = JSON.parse(readFileSync(target, 'utf8'));
      assert.equal(doc.errno, 'EBUSY');
      assert.deepEqual(readdirSync(dir), ['result.json']);
    });

    test('--output into a folder that does not exist → 73 (cannot create), one error line, nothing on stdout', async () => {
      const target = path.join(scratchDir('output-missing'), 'no', 'such', 'dir', 'x.json');
      const r = await emu(['probe', '--json', '--output', target]);
      assertExit(r, 73);
      assert.equal(r.stdout, '');
      assertOneErrorLine(r, /cannot create/);
    });

    test('FORCE_COLOR=1 colours human output; NO_COLOR and --no-color turn it off; JSON never has escapes', async () => {
      const forced = { NO_COLOR: undefined, FORCE_COLOR: '1' };
      const [coloured, noColorEnv, noColorFlag, json] = await Promise.all([
        emu(['probe'], { env: forced }),
        emu(['probe'], { env: { NO_COLOR: '1', FORCE_COLOR: undefined } }),
        emu(['probe', '--no-color'], { env: forced }),
        emu(['probe', '--json'], { env: forced }),
      ]);
      for (const r of [coloured, noColorEnv, noColorFlag, json]) assertExit(r, EX.OK);
      assert.match(coloured.stdout, ANSI, 'FORCE_COLOR=1 gives ANSI colours');
      assert.doesNotMatch(noColorEnv.stdout, ANSI, 'NO_COLOR=1 gives none');
      assert.doesNotMatch(noColorFlag.stdout, ANSI, '--no-color gives none even with FORCE_COLOR=1');
      assert.doesNotMatch(json.stdout, ANSI, 'JSON has no escapes');
      assert.equal(
        coloured.stdout.replace(new RegExp(ANSI.source, 'g'), ''),
        noColorEnv.stdout,
        'colour changes nothing but the escapes',
      );
    });

    test('no colour by default when stdout is not a terminal (neither NO_COLOR nor FORCE_COLOR set)', async () => {
      const r = await emu(['--profile', 'unsupported', 'probe'], {
        env: { NO_COLOR: undefined, FORCE_COLOR: undefined },
      });
      assertExit(r, EX.UNAVAILABLE);
      assert.doesNotMatch(r.stdout, ANSI);
    });

    test('errors are not coloured either, even with FORCE_COLOR=1', async () => {
      const r = await emu(['invalidate', 'zz', '4K'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
      assertRefused(r, EX.DATA_ERR);
      assert.doesNotMatch(r.stderr, ANSI);
    });
  });

  describe('no stack trace for any bad input', { concurrency: CONCURRENCY }, () => {
    const notJson = writeScratchFile('garbage.json', '\u0000\u0001 not json');
    const cases: Array<[string[], number]> = [
      [['-b', 'emulated', 'invalidate', '0x', '4K'], EX.DATA_ERR],
      [['-b', 'emulated', 'invalidate', '4K', '0x'], EX.DATA_ERR],
      [['-b', 'emulated', 'invalidate', '1e3', '4K'], EX.DATA_ERR],
      [['-b', 'emulated', 'invalidate', '--region', '', '--yes'], EX.DATA_ERR],
      [['-b', 'emulated', 'invalidate', '0', '4K', '--region', 'region0'], EX.USAGE],
      [['-b', 'emulated', 'invalidate', '0', '4K', '--cycle'], EX.USAGE],
      [['-b', 'emulated', 'stress', '--duration', 'forever'], EX.USAGE],
      [['-b', 'emulated', 'stress', '--workers', '-3'], EX.USAGE],
      [['-b', 'emulated', 'stress', '--pattern', 'zigzag'], EX.USAGE],
      [['-b', 'emulated', 'stress', '--virtual-time', '--ops', '5', '--span', '0'], EX.DATA_ERR],
      [['-b', 'emulated', 'erase', 'mem0', '--timeout', 'soon', '--yes'], EX.USAGE],
      [['-b', 'emulated', 'trace', '--duration', '-1s'], EX.USAGE],
      [['-b', 'emulated', '--profile', notJson, 'regions'], EX.DATA_ERR],
      [['-b', 'emulated', '--seed', '99999999999', 'probe'], EX.USAGE],
      [['-b', 'emulated', '--json', '--format', 'prometheus', 'probe'], EX.USAGE],
      [['-b', 'emulated', '--format', 'prometheus', 'invalidate', '0', '4K'], EX.USAGE],
      [['-b', 'emulated', '--format', 'prometheus', 'regions'], EX.USAGE],
      [['-b', 'emulated', 'trace', '--json', '--', '/nonexistent/memregion-test-command'], 127],
      [['-b', 'emulated', 'trace', '--json', '--', '/'], 126],
    ];
    for (const [args, code] of cases) {
      test(`${args.slice(2).join(' ')} → ${code}, one line on stderr`, async () => {
        assertRefused(await cli(args), code);
      });
    }

    test('stdout closed early (a reader that exits at once): no stack trace on stderr', async () => {
      // The reader (`true`) exits before memregion writes; node ignores SIGPIPE, so the write fails with EPIPE.
      const script = `(sleep 0.5; exec "${NODE}" "${BIN}" -b emulated profiles --json) | true`;
      const child = spawnBounded('sh', ['-c', script], { env: childEnv(), stdin: 'ignore' }, 30_000);
      const result = await child;
      assert.equal(hasTimedOut(child), false, 'hung: killed after 30 s');
      assert.doesNotMatch(String(result.stderr), /^\s+at /m, String(result.stderr));
    });
  });
});
