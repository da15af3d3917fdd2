/**
 * `erase --region` end to end (issue 10, "the whole secure-erase flow for a region"): the emulated
 * backend on examples/interleaved.json (region0 2-way over mem0 and mem1), and the sysfs backend on a
 * copy of the CXL fixture tree, with the same report shape.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  assertExit,
  assertOneErrorLine,
  assertRefused,
  assertSnakeCaseKeys,
  cli,
  type Doc,
  emu,
  parseJson,
  ROOT,
  scratchDir,
  writeScratchFile,
} from '../helpers/cli.js';

const EXAMPLE = path.join(ROOT, 'examples/interleaved.json');
const REPORT_KEYS = [
  'backend',
  'commit',
  'decommitted',
  'elapsed_ms',
  'erased',
  'errno',
  'failed',
  'invalidation_errno',
  'memdevs',
  'method',
  'next_step',
  'ok',
  'outcome',
  'recommit',
  'region',
  'status',
  'warnings',
];

/** The example with quicker sanitizes, and `erase_errors` when given. */
const quick = (eraseErrors?: Record<string, string>) => {
  const example = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
  example.regions[0].sanitize_ms = 150;
  if (eraseErrors) example.regions[0].erase_errors = eraseErrors;
  return writeScratchFile('interleaved-quick.json', example);
};

/** `erase --region region0 --recommit --yes --json` on the emulated backend with this profile. */
const eraseRegion0 = (profile: string) =>
  emu(['--profile', profile, 'erase', '--region', 'region0', '--recommit', '--yes', '--json']);

describe('erase --region (emulated)', { concurrency: 4 }, () => {
  test('examples/interleaved.json: --recommit --json → 0, one document, one entry per memdev', async () => {
    const r = await eraseRegion0(quick());
    assertExit(r, 0);
    assert.equal(r.stderr, '');
    const doc = parseJson(r);
    assertSnakeCaseKeys(doc);
    assert.deepEqual(
      Object.keys(doc)
        .filter((k) => k !== 'profile')
        .sort(),
      REPORT_KEYS,
    );
    assert.equal(doc.profile, 'interleaved');
    assert.deepEqual(
      doc.memdevs.map((m: Doc) => [m.memdev, m.serial, m.ok]),
      [
        ['mem0', '0x1000', true],
        ['mem1', '0x1001', true],
      ],
    );
    assert.deepEqual([doc.erased, doc.failed, doc.status, doc.commit.ok], [2, 0, 'committed', true]);
  });

  test('human output: one line per memdev and the count, as ndctl prints it', async () => {
    const r = await emu(['--profile', quick(), 'erase', '--region', 'region0', '--yes']);
    assertExit(r, 0);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^✓ mem0 \(serial 0x1000\): sanitized, state disabled, \d+\.\d s$/);
    assert.match(lines[1]!, /^✓ mem1 \(serial 0x1001\): sanitized, state disabled, \d+\.\d s$/);
    assert.equal(lines[2], 'sanitized 2 memdevs');
  });

  test('a device that fails: 74, the document says which, one error line says the region is left decommitted', async () => {
    const r = await eraseRegion0(quick({ mem1: 'EIO' }));
    assertExit(r, 74);
    const doc = parseJson(r);
    assert.deepEqual(
      [doc.ok, doc.errno, doc.erased, doc.failed, doc.status, doc.commit],
      [false, 'EIO', 1, 1, 'decommitted', null],
    );
    assertOneErrorLine(r, /sanitize of mem1 \(EIO\) failed: region0 is left decommitted/);
  });

  test('a stuck firmware: the recommit commits, its invalidation failed → 75 and the stale-lines line', async () => {
    const profile = JSON.parse(readFileSync(quick(), 'utf8'));
    profile.faults = { always: 'busy' };
    const r = await eraseRegion0(writeScratchFile('stuck-interleaved.json', profile));
    assertExit(r, 75);
    const doc = parseJson(r);
    assert.deepEqual([doc.status, doc.invalidation_errno, doc.ok], ['committed', 'EBUSY', false]);
    assertOneErrorLine(
      r,
      /region0 is committed, but the kernel ignored its failed cache invalidation \(EBUSY\): stale cache lines may remain/,
    );
  });

  test('--timeout shorter than the sanitize: 75 with the partial document (outcome timeout)', async () => {
    const r = await emu([
      '--profile',
      EXAMPLE,
      '--json',
      'erase',
      '--region',
      'region0',
      '--yes',
      '--timeout',
      '50ms',
    ]);
    assertExit(r, 75);
    const doc = parseJson(r);
    assert.deepEqual([doc.ok, doc.outcome, doc.status], [false, 'timeout', 'decommitted']);
    assertOneErrorLine(r, /timed out.*keeps running.*region0 is left decommitted/);
  });

  test('refusals: no --yes 64 (naming every device), unknown region 65, in use 75, usage 64', async () => {
    const [noYes, unknown, both, recommit, nothing] = await Promise.all([
      emu(['--profile', EXAMPLE, 'erase', '--region', 'region0']),
      emu(['--profile', EXAMPLE, 'erase', '--region', 'region7', '--yes']),
      emu(['--profile', EXAMPLE, 'erase', 'mem0', '--region', 'region0', '--yes']),
      emu(['--profile', EXAMPLE, 'erase', 'mem0', '--recommit', '--yes']),
      emu(['--profile', EXAMPLE, 'erase', '--yes']),
    ]);
    assertRefused(noYes, 64, /Sanitize region0 \(mem0 serial 0x1000, mem1 serial 0x1001\).*--yes/);
    assertRefused(unknown, 65, /region7/);
    assertRefused(both, 64, /not both/);
    assertRefused(recommit, 64, /--recommit goes with --region/);
    assertRefused(nothing, 64, /<memdev>.*--region/);
    const inUse = writeScratchFile('in-use.json', {
      regions: [
        {
          name: 'region0',
          start: '0x4080000000',
          size: '4096',
          memdevs: ['mem0', 'mem1'],
          committed: true,
          used_by: ['dax0.0'],
        },
      ],
    });
    assertRefused(
      await emu(['--profile', inUse, 'erase', '--region', 'region0', '--yes']),
      75,
      /in use \(dax0\.0 is bound to kmem\)/,
    );
  });

  test('no provider → 69 before the confirmation is even asked', async () => {
    const profile = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
    profile.implements = { clean_inv_memregion: false };
    const r = await emu([
      '--profile',
      writeScratchFile('no-provider-interleaved.json', profile),
      'erase',
      '--region',
      'region0',
    ]);
    assertRefused(r, 69, /refusing to sanitize region0: no cache invalidation provider.*--force/);
  });
});

describe('erase --region (sysfs, a copy of the CXL fixture tree)', () => {
  test('region1 (configured, mem1) with --recommit: the same shape; the writes landed in the copy', async () => {
    const root = path.join(scratchDir('erase-region'), 'root');
    cpSync(path.join(ROOT, 'test/fixtures/cxl'), root, { recursive: true, verbatimSymlinks: true });
    const r = await cli(['--root', root, 'erase', '--region', 'region1', '--recommit', '--yes', '--json']);
    assertExit(r, 0);
    const doc = parseJson(r);
    assertSnakeCaseKeys(doc);
    assert.deepEqual(Object.keys(doc).sort(), REPORT_KEYS);
    assert.equal(doc.backend, 'sysfs');
    assert.deepEqual(
      doc.memdevs.map((m: Doc) => [m.memdev, m.serial, m.ok]),
      [['mem1', '0x2', true]],
    );
    assert.equal(doc.decommitted, false, 'region1 was only configured');
    assert.equal(doc.status, 'committed');
    const devices = path.join(root, 'sys/bus/cxl/devices');
    assert.equal(readFileSync(path.join(devices, 'mem1/security/sanitize'), 'utf8').trim(), '1');
    assert.equal(readFileSync(path.join(devices, 'region1/commit'), 'utf8').trim(), '1');
  });

  test('region2 shares mem0 with committed region0 → 75 before any write (the kernel would say EBUSY)', async () => {
    const r = await cli(['--root', 'test/fixtures/cxl', 'erase', '--region', 'region2', '--yes']);
    assertRefused(r, 75, /mem0 also decodes another region/);
  });
});
