import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Status } from '../../../src/backends/emulated/kernel/arm-smccc.js';
import {
  BUILT_IN_PROFILE_NAMES,
  builtInProfile,
  DEFAULT_PROFILE,
  loadProfile,
  mergeProfile,
} from '../../../src/backends/emulated/profiles.js';
import { ExitCode, MemregionError } from '../../../src/core/errors.js';
import { U64_MAX } from '../../../src/core/u64.js';
import { scratchFolders } from '../../helpers/temp-trees.js';

const dir = scratchFolders('memregion-profiles-test-')();

let counter = 0;
/** Writes `content` (JSON-encoded unless a string) to a fresh file and returns its path. */
function file(content: unknown, name = `p${counter++}.json`): string {
  const full = path.join(dir, name);
  writeFileSync(full, typeof content === 'string' ? content : JSON.stringify(content));
  return full;
}

async function rejectsWith(promise: Promise<unknown>, exitCode: number, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MemregionError, String(error));
    assert.equal(error.exitCode, exitCode, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('built-in profiles', () => {
  test('the names DESIGN §4 lists', () => {
    assert.deepEqual([...BUILT_IN_PROFILE_NAMES].sort(), [
      'busy',
      'global',
      'range',
      'rate-limited',
      'smccc-1.0',
      'stuck',
      'unsupported',
    ]);
  });

  test('each profile is the default with its own changes', () => {
    assert.deepEqual(builtInProfile('global'), DEFAULT_PROFILE);
    assert.equal(builtInProfile('range').attributes.global, false);
    assert.equal(builtInProfile('range').checks.align_bytes, 64n);
    assert.equal(
      builtInProfile('range').attributes.breakeven_bytes,
      DEFAULT_PROFILE.attributes.breakeven_bytes,
    );
    assert.equal(builtInProfile('busy').faults.busy_burst, 3);
    assert.equal(builtInProfile('rate-limited').attributes.rate_limit, 1000);
    assert.equal(builtInProfile('unsupported').implements.clean_inv_memregion, BigInt(Status.NOT_SUPPORTED));
    assert.deepEqual(builtInProfile('smccc-1.0').smccc_version, { major: 1, minor: 0 });
    assert.equal(builtInProfile('stuck').faults.always, BigInt(Status.BUSY));
    for (const name of BUILT_IN_PROFILE_NAMES) assert.equal(builtInProfile(name).name, name);
  });

  test('an unknown name is a usage error (exit 64), inherited object keys included', async () => {
    for (const name of ['nope', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.throws(
        () => builtInProfile(name),
        (e: unknown) =>
          e instanceof MemregionError && e.exitCode === ExitCode.USAGE && /unknown profile/.test(e.message),
        name,
      );
      await rejectsWith(loadProfile(name), ExitCode.USAGE, /unknown profile/);
    }
  });

  test('mergeProfile merges nested objects key by key and replaces lists and values', () => {
    const merged = mergeProfile(DEFAULT_PROFILE, {
      attributes: { latency_us: 7 },
      smccc_version: null,
      regions: [],
      faults: { always: null },
    });
    assert.equal(merged.attributes.latency_us, 7);
    assert.equal(merged.attributes.global, true);
    assert.equal(merged.attributes.breakeven_bytes, 1n << 30n);
    assert.equal(merged.smccc_version, null);
    assert.deepEqual(merged.regions, []);
    assert.equal(DEFAULT_PROFILE.attributes.latency_us, 100, 'the base is untouched');
  });
});

describe('profile files', () => {
  test('an empty object is the global profile named after the file', async () => {
    const profile = await loadProfile(file({}, 'lab-b.json'));
    assert.equal(profile.name, 'lab-b');
    assert.deepEqual({ ...profile, name: 'global' }, DEFAULT_PROFILE);
  });

  test('the DESIGN §4 example', async () => {
    const profile = await loadProfile(
      file({
        name: 'lab-a',
        description: 'what this firmware models',
        smccc_version: '1.7',
        conduit: 'hvc',
        implements: { clean_inv_memregion: true, attributes: true },
        attributes_status: 0,
        attributes: { global: false, latency_us: 100, rate_limit: 0, breakeven_bytes: '1073741824' },
        timing: { call_us: 50, per_gib_us: 10 },
        faults: { busy_probability: 0.1, rate_limited_probability: 0.05, busy_burst: 2, always: null },
        checks: { align_bytes: 64 },
        regions: [
          { name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', sanitize_ms: 2000 },
        ],
      }),
    );
    assert.equal(profile.name, 'lab-a');
    assert.equal(profile.conduit, 'hvc');
    assert.deepEqual(profile.smccc_version, { major: 1, minor: 7 });
    assert.equal(profile.attributes.global, false);
    assert.equal(profile.attributes.breakeven_bytes, 1n << 30n);
    assert.equal(profile.checks.align_bytes, 64n);
    assert.equal(profile.faults.busy_burst, 2);
    assert.equal(profile.faults.always, null);
    assert.equal(profile.faults.enforce_rate_limit, true, 'a key left out keeps its default');
    assert.deepEqual(profile.regions, [
      {
        name: 'region0',
        start: 0x40_8000_0000n,
        size: 0x4000_0000n,
        memdev: 'mem0',
        sanitize_ms: 2000,
        committed: false,
        locked: false,
        used_by: [],
      },
    ]);
  });

  test('64-bit values as decimal or hex strings, up to 2^64-1', async () => {
    const decimal = await loadProfile(file({ attributes: { breakeven_bytes: '18446744073709551615' } }));
    assert.equal(decimal.attributes.breakeven_bytes, U64_MAX);
    const hex = await loadProfile(file({ attributes: { breakeven_bytes: '0xffffffffffffffff' } }));
    assert.equal(hex.attributes.breakeven_bytes, U64_MAX);
    const region = await loadProfile(
      file({ regions: [{ name: 'region3', start: '0xFFFFFFFF00000000', size: '4294967296' }] }),
    );
    assert.equal(region.regions[0]!.start, 0xffff_ffff_0000_0000n);
    assert.equal(region.regions[0]!.size, 1n << 32n);
    const number = await loadProfile(file({ checks: { align_bytes: 4096 } }));
    assert.equal(number.checks.align_bytes, 4096n);
  });

  test('64-bit values that do not fit or are not integers: errors naming the key (exit 65)', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { attributes: { breakeven_bytes: '18446744073709551616' } },
        /attributes\.breakeven_bytes: .*does not fit in 64 bits/,
      ],
      [{ attributes: { breakeven_bytes: '0x10000000000000000' } }, /attributes\.breakeven_bytes: .*64 bits/],
      [{ attributes: { breakeven_bytes: 2 ** 53 + 2 } }, /attributes\.breakeven_bytes: /],
      [
        { attributes: { breakeven_bytes: '1G' } },
        /attributes\.breakeven_bytes: .*not a decimal or 0x hex integer/,
      ],
      [{ attributes: { breakeven_bytes: '-1' } }, /attributes\.breakeven_bytes/],
      [{ attributes: { breakeven_bytes: -1 } }, /attributes\.breakeven_bytes/],
      [{ checks: { align_bytes: '' } }, /checks\.align_bytes/],
      [{ regions: [{ name: 'region0', start: 'zero', size: '1' }] }, /regions\.0\.start/],
    ];
    for (const [content, pattern] of cases)
      await rejectsWith(loadProfile(file(content)), ExitCode.DATA_ERR, pattern);
  });

  test('an ARCH_FEATURES answer in implements says what is wrong with it, not "Invalid input" (session 14)', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { implements: { attributes: 2 ** 64 } },
        /implements\.attributes: is not a safe integer: give 64-bit values as strings$/,
      ],
      [
        { implements: { clean_inv_memregion: '0x1ffffffffffffffff' } },
        /implements\.clean_inv_memregion: does not fit in a 64-bit register$/,
      ],
      [{ implements: { attributes: 'yes' } }, /implements\.attributes: is not a status name/],
      [{ implements: { attributes: null } }, /implements\.attributes: expected true, false or an integer$/],
      [{ attributes_status: true }, /attributes_status: expected a status name or an integer$/],
    ];
    for (const [content, pattern] of cases)
      await rejectsWith(loadProfile(file(content)), ExitCode.DATA_ERR, pattern);
    const profile = await loadProfile(
      file({ implements: { clean_inv_memregion: 'busy', attributes: true } }),
    );
    assert.equal(profile.implements.clean_inv_memregion, BigInt(Status.BUSY));
    assert.equal(profile.implements.attributes, 0n);
  });

  test('a 64-bit field of the wrong JSON type or a fraction says so, not "Invalid input" (session 14)', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        { attributes: { breakeven_bytes: null } },
        /attributes\.breakeven_bytes: expected an integer or a decimal \/ 0x string$/,
      ],
      [{ checks: { align_bytes: 1.5 } }, /checks\.align_bytes: is not a whole number of 0 or more$/],
      [{ checks: { align_bytes: -1 } }, /checks\.align_bytes: is not a whole number of 0 or more$/],
      [
        { attributes: { raw: { x1: true, x2: 0, x3: 0, x4: 0 } } },
        /attributes\.raw\.x1: expected an integer or a decimal \/ 0x string$/,
      ],
      [{ attributes: { raw: { x1: 0, x2: 1.5, x3: 0, x4: 0 } } }, /attributes\.raw\.x2: is not an integer$/],
    ];
    for (const [content, pattern] of cases)
      await rejectsWith(loadProfile(file(content)), ExitCode.DATA_ERR, pattern);
  });

  test('erase_errors naming a memdev the region does not have, or __proto__, is refused (65), not ignored (session 14)', async () => {
    const region = { name: 'region0', start: '0x4080000000', size: '0x40000000' };
    const cases: Array<[object, RegExp]> = [
      [
        { memdev: 'mem0', erase_errors: { mem5: 'EIO' } },
        /regions\.0\.erase_errors\.mem5: mem5 is not a memdev of this region \(mem0\)$/,
      ],
      [
        { erase_errors: { mem0: 'EIO' } },
        /regions\.0\.erase_errors\.mem0: mem0 is not a memdev of this region \(it has none\)$/,
      ],
      [
        { memdev: 'mem0', erase_errors: JSON.parse('{"__proto__": "EIO"}') },
        /regions\.0\.erase_errors\.__proto__: is not a memdev name/,
      ],
    ];
    for (const [fields, pattern] of cases)
      await rejectsWith(
        loadProfile(file({ regions: [{ ...region, ...fields }] })),
        ExitCode.DATA_ERR,
        pattern,
      );
    const profile = await loadProfile(
      file({ regions: [{ ...region, memdevs: ['mem0', 'mem1'], erase_errors: { mem1: 'EIO' } }] }),
    );
    assert.deepEqual(profile.regions[0]?.erase_errors, { mem1: 'EIO' });
  });

  test('an unknown key is an error naming it, nested or not', async () => {
    await rejectsWith(
      loadProfile(file({ faults: { bogus: 1 } })),
      ExitCode.DATA_ERR,
      /unknown key "faults\.bogus"/,
    );
    await rejectsWith(loadProfile(file({ bogus: true })), ExitCode.DATA_ERR, /unknown key "bogus"/);
    await rejectsWith(
      loadProfile(file({ attributes: { latency: 5 } })),
      ExitCode.DATA_ERR,
      /unknown key "attributes\.latency"/,
    );
    await rejectsWith(
      loadProfile(file({ regions: [{ name: 'region0', start: '0', size: '1', colour: 'red' }] })),
      ExitCode.DATA_ERR,
      /unknown key "regions\.0\.colour"/,
    );
  });

  test('a wrong type is an error naming the key', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ attributes: { latency_us: '100' } }, /attributes\.latency_us/],
      [{ attributes: { global: 'yes' } }, /attributes\.global/],
      [{ conduit: 'smc64' }, /conduit/],
      [{ smccc_version: 1.7 }, /smccc_version/],
      [{ smccc_version: '1' }, /smccc_version: must be "major\.minor" or "none"/],
      [{ implements: { attributes: 'yes' } }, /implements\.attributes/],
      [{ implements: { attributes: '18446744073709551616' } }, /implements\.attributes/],
      [{ smccc_version: '32768.0' }, /smccc_version: does not fit SMCCC_VERSION/],
      [{ smccc_version: '1.65536' }, /smccc_version: does not fit SMCCC_VERSION/],
      [{ smccc_version: '99999999999999999999.1' }, /smccc_version/],
      [
        { regions: [{ name: 'region0', start: '0xffffffffffffff00', size: '0x1000' }] },
        /regions\.0\.size: start \+ size is past 2\^64/,
      ],
      [{ faults: { sequence: ['busy', 'sometimes'] } }, /faults\.sequence\.1/],
      [{ faults: { busy_probability: 1.5 } }, /faults\.busy_probability/],
      [{ faults: { busy_burst: 1.5 } }, /faults\.busy_burst/],
      [{ faults: { always: 'sometimes' } }, /faults\.always: is not a status name/],
      [{ timing: { call_us: -1 } }, /timing\.call_us/],
      [{ regions: { name: 'region0' } }, /regions/],
      [{ regions: [{ name: 'cxl0', start: '0', size: '1' }] }, /regions\.0\.name/],
      [{ name: '' }, /name/],
    ];
    for (const [content, pattern] of cases)
      await rejectsWith(loadProfile(file(content)), ExitCode.DATA_ERR, pattern);
  });

  test('used_by on an uncommitted region is refused (65): the kernel binds a region driver and its DAX devices only to a committed region', async () => {
    await rejectsWith(
      loadProfile(
        file({ regions: [{ name: 'region0', start: '0x4080000000', size: '4096', used_by: ['dax0.0'] }] }),
      ),
      ExitCode.DATA_ERR,
      /regions\.0\.used_by: an uncommitted region has no users/,
    );
    const committed = await loadProfile(
      file({
        regions: [
          { name: 'region0', start: '0x4080000000', size: '4096', committed: true, used_by: ['dax0.0'] },
        ],
      }),
    );
    assert.deepEqual(committed.regions[0]!.used_by, ['dax0.0']);
  });

  test('locked: false by default; only on a committed region (65), since the platform committed and locked its decoders', async () => {
    const region = { name: 'region0', start: '0x4080000000', size: '4096' };
    assert.equal((await loadProfile(file({ regions: [region] }))).regions[0]!.locked, false);
    await rejectsWith(
      loadProfile(file({ regions: [{ ...region, locked: true }] })),
      ExitCode.DATA_ERR,
      /regions\.0\.locked: a locked region is committed/,
    );
    await rejectsWith(
      loadProfile(file({ regions: [{ ...region, committed: true, locked: 'yes' }] })),
      ExitCode.DATA_ERR,
      /regions\.0\.locked/,
    );
    const locked = await loadProfile(file({ regions: [{ ...region, committed: true, locked: true }] }));
    assert.equal(locked.regions[0]!.locked, true);
  });

  test('control characters in name, description and used_by are refused (65) naming the field: they would reach a terminal in every report header', async () => {
    const controls = [
      '\u001b[2J',
      'a\nb',
      '\u0000',
      '\u007f',
      '\u0085',
      '\u009b',
      '\u202e',
      '\u202a',
      '\u2066',
      '\u2069',
      '\u2028',
    ];
    for (const control of controls) {
      await rejectsWith(
        loadProfile(file({ name: `lab${control}` })),
        ExitCode.DATA_ERR,
        /^profile .*: name: contains a control character \(\\(x[0-9a-f]{2}|u[0-9a-f]{4}|n)\)/,
      );
      await rejectsWith(
        loadProfile(file({ description: `models ${control} firmware` })),
        ExitCode.DATA_ERR,
        /: description: contains a control character/,
      );
      await rejectsWith(
        loadProfile(
          file({
            regions: [
              { name: 'region0', start: '0', size: '1', committed: true, used_by: [`dax0.0${control}`] },
            ],
          }),
        ),
        ExitCode.DATA_ERR,
        /: regions\.0\.used_by\.0: contains a control character/,
      );
    }
    // The message names the character escaped, never raw.
    await loadProfile(file({ name: 'x\u001b[31m' })).catch((error: Error) => {
      assert.doesNotMatch(error.message, /\u001b/);
      assert.match(error.message, /\(\\x1b\)/);
    });
    // Printable text from any script, a tab-free description with quotes and accents, still loads.
    const fine = await loadProfile(
      file({ name: 'lab-ä 実験 "β"', description: 'Ünïcödé — fine; emoji 🧪 too' }),
    );
    assert.equal(fine.name, 'lab-ä 実験 "β"');
  });

  test('latency and rate limit are u32: 2^32 cannot be written in a profile', async () => {
    await rejectsWith(
      loadProfile(file({ attributes: { latency_us: 2 ** 32 } })),
      ExitCode.DATA_ERR,
      /attributes\.latency_us/,
    );
    await rejectsWith(
      loadProfile(file({ attributes: { rate_limit: 2 ** 32 } })),
      ExitCode.DATA_ERR,
      /attributes\.rate_limit/,
    );
    const max = await loadProfile(file({ attributes: { latency_us: 2 ** 32 - 1, rate_limit: 2 ** 32 - 1 } }));
    assert.equal(max.attributes.latency_us, 0xffff_ffff);
  });

  test('status names and versions', async () => {
    const profile = await loadProfile(
      file({ faults: { always: 'rate-limited' }, attributes_status: 'not_supported', smccc_version: 'none' }),
    );
    assert.equal(profile.faults.always, BigInt(Status.RATE_LIMITED));
    assert.equal(profile.attributes_status, BigInt(Status.NOT_SUPPORTED));
    assert.equal(profile.smccc_version, null);
    const numeric = await loadProfile(file({ attributes_status: -5, smccc_version: '2.12' }));
    assert.equal(numeric.attributes_status, -5n);
    assert.deepEqual(numeric.smccc_version, { major: 2, minor: 12 });
  });

  test('scriptable to the register: faults.sequence, integer faults.always, attributes.raw, integer implements', async () => {
    const p = await loadProfile(
      file({
        faults: { sequence: ['busy', 'busy', 'success', -3, '0xfffffffb'], always: '4294967291' },
        implements: { clean_inv_memregion: 7, attributes: '0x80000000' },
        attributes: {
          raw: { x1: '0x3', x2: '0x1_0000_0064'.replace(/_/g, ''), x3: 4294967296 + 250, x4: '0x40000000' },
        },
      }),
    );
    assert.deepEqual(p.faults.sequence, [-5n, -5n, 0n, -3n, 0xfffffffbn]);
    assert.equal(p.faults.always, 4294967291n);
    assert.deepEqual(p.implements, { clean_inv_memregion: 7n, attributes: 0x80000000n });
    // The named fields as the kernel reads the registers: bit 0 of x1, low 32 bits of x2 and x3.
    assert.deepEqual(
      { ...p.attributes, raw: undefined },
      { global: true, latency_us: 100, rate_limit: 250, breakeven_bytes: 1n << 30n, raw: undefined },
    );
    assert.deepEqual(p.attributes.raw, { x1: 3n, x2: 0x1_0000_0064n, x3: 4294967546n, x4: 1n << 30n });
  });

  test('a file that is not JSON: a position, never its content (issue 7 finding 10)', async () => {
    const secret = path.join(dir, 'shadow');
    writeFileSync(secret, 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
    await rejectsWith(loadProfile(secret), ExitCode.DATA_ERR, /is not valid JSON/);
    await loadProfile(secret).catch((error: Error) => assert.doesNotMatch(error.message, /SECRET|root:|\$6/));
    await rejectsWith(loadProfile(file('{"name": "x",\n  oops}')), ExitCode.DATA_ERR, /at line 2, column 3/);
  });

  test('a FIFO is refused with exit 66, without blocking (issue 7 finding 2)', async () => {
    const fifo = path.join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    await rejectsWith(loadProfile(fifo), ExitCode.NO_INPUT, /not a regular file/);
  });

  test('the path is user text in every message: quoted, its control characters escaped, clipped', async () => {
    await rejectsWith(
      loadProfile(path.join(dir, 'my lab\n.json')),
      ExitCode.NO_INPUT,
      /^cannot read profile ".*\/my lab\\n\.json" \(ENOENT\)$/,
    );
    await rejectsWith(
      loadProfile(file('{', 'two words.json')),
      ExitCode.DATA_ERR,
      /^profile ".*\/two words\.json" is not/,
    );
    await rejectsWith(
      loadProfile(file({ timing: { call_us: -1 } }, 'two words.json')),
      ExitCode.DATA_ERR,
      /^profile ".*\/two words\.json": timing\.call_us/,
    );
    const long = await loadProfile(`/${'a'.repeat(4000)}.json`).catch((error: Error) => error.message);
    assert.ok(String(long).length < 200, String(long));
  });

  test('a missing or unreadable file is exit 66', async () => {
    await rejectsWith(
      loadProfile(path.join(dir, 'missing.json')),
      ExitCode.NO_INPUT,
      /cannot read profile .*ENOENT/,
    );
    await rejectsWith(loadProfile(`${dir}/`), ExitCode.NO_INPUT, /cannot read profile/);
  });

  test('invalid JSON is exit 65', async () => {
    for (const text of ['{', '', '{"faults": {"busy_burst": 1,}}', 'null x']) {
      await rejectsWith(loadProfile(file(text)), ExitCode.DATA_ERR, /is not valid JSON/);
    }
  });

  test('a leading UTF-8 byte-order mark, as editors on other systems write it, is not part of the JSON', async () => {
    const p = await loadProfile(file('\ufeff{"name": "bom", "timing": {"call_us": 7}}'));
    assert.equal(p.name, 'bom');
    assert.equal(p.timing.call_us, 7);
    // One only: a second is a character the JSON cannot start with.
    await rejectsWith(loadProfile(file('\ufeff\ufeff{}')), ExitCode.DATA_ERR, /at line 1, column 1$/);
    await rejectsWith(
      loadProfile(file('\ufeff{"name": "bom",\n  oops}')),
      ExitCode.DATA_ERR,
      /at line 2, column 3$/,
    );
  });

  test('every syntax error names its line and column, also where V8 gives no position', async () => {
    for (const [text, where] of [
      ['{"name": tru}', 'line 1, column 13'],
      ['{\n  "timing": {"call_us": 5}\n  "name": "x"}', 'line 3, column 3'],
      ['{"name": "x",\n', 'line 2, column 1'],
      ['{"name": "é", "x": é}', 'line 1, column 20'],
      ['root:$6$SECRETHASH:19000:0:99999:7:::\n', 'line 1, column 1'],
    ]) {
      await rejectsWith(
        loadProfile(file(text)),
        ExitCode.DATA_ERR,
        new RegExp(`not valid JSON at ${where}$`),
      );
    }
  });

  test('a UTF-16 file is told to be saved as UTF-8', async () => {
    const full = path.join(dir, `p${counter++}.json`);
    writeFileSync(full, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"name": "x"}', 'utf16le')]));
    await rejectsWith(loadProfile(full), ExitCode.DATA_ERR, /UTF-16: save it as UTF-8/);
  });

  test('valid JSON that is not an object is exit 65', async () => {
    for (const text of ['null', '[]', '42', '"global"']) {
      await rejectsWith(loadProfile(file(text)), ExitCode.DATA_ERR, /profile /);
    }
  });
});
