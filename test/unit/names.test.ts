/**
 * One rule for kernel names (src/core/names.ts): the spelling the kernel prints with dev_set_name()
 * ("region%d", "mem%d", ...), ids bounded by their C type, no leading zeros. Both backends and the
 * profile schema refuse exactly the same names with the same one-line message (exit 65), and the sysfs
 * backend refuses before it reads or writes anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EmulatedBackend } from '../../src/backends/emulated/index.js';
import { parseProfileFile } from '../../src/backends/emulated/profile-schema.js';
import type { RegionFlowDeps } from '../../src/backends/sysfs/commit.js';
import { invalidateRegion } from '../../src/backends/sysfs/commit.js';
import { eraseMemdev, eraseRegion } from '../../src/backends/sysfs/erase.js';
import { SysfsBackend } from '../../src/backends/sysfs/index.js';
import { regionStressTarget } from '../../src/backends/sysfs/stress.js';
import type { Backend, EraseOptions, RegionEraseOptions } from '../../src/backends/types.js';
import { silentLogger } from '../../src/core/log.js';
import {
  isKernelName,
  type KernelNameKind,
  kernelIds,
  kernelIndex,
  kernelNameRule,
  requireKernelName,
} from '../../src/core/names.js';
import { profileWith, virtualBackendOptions } from '../helpers/emulation.js';
import { regionOptions } from './helpers/refusal.js';
import { copyFixture } from './helpers/sysfs-fixture.js';
import { TouchingRoot } from './helpers/touching-root.js';

const ACCEPTED: Array<[KernelNameKind, string]> = [
  ['region', 'region0'],
  ['region', 'region12'],
  ['region', 'region2147483647'],
  ['memdev', 'mem0'],
  ['memdev', 'mem65535'],
  ['nmem', 'nmem0'],
  ['decoder', 'decoder12.3'],
  ['decoder', 'decoder0.0'],
  ['endpoint', 'endpoint3'],
  ['dax', 'dax0.0'],
  ['memoryBlock', 'memory32'],
  // memory%u: a u32 id.
  ['memoryBlock', 'memory4294967295'],
];

/** Names the kernel never prints; each must be refused as a region (or memdev, with `mem`). */
const badNames = (prefix: string): string[] => [
  `${prefix}01`,
  `${prefix}00`,
  `${prefix}-1`,
  `${prefix}+1`,
  `${prefix}2147483648`,
  `${prefix}99999999999`,
  `${prefix}1e3`,
  `${prefix}0x1`,
  `../${prefix}0`,
  `${prefix}0/../x`,
  `${prefix}0/..`,
  `${prefix}0/`,
  '..',
  '.',
  '',
  prefix,
  `${prefix}0\n`,
  `\n${prefix}0`,
  `${prefix}0\u0000`,
  `${prefix} 0`,
  ` ${prefix}0`,
  `${prefix}0 `,
  `${prefix.toUpperCase()}0`,
  // Unicode digits: Arabic-Indic three, fullwidth zero, superscript one, Devanagari one.
  `${prefix}\u0663`,
  `${prefix}\uff10`,
  `${prefix}\u00b9`,
  `${prefix}\u0967`,
  `${prefix}0\u2028`,
  `${prefix}${'1'.repeat(5000)}`,
];

describe('kernel names (core/names.ts)', () => {
  it('accepts what the kernel prints, up to the largest id its type holds', () => {
    for (const [kind, name] of ACCEPTED) assert.ok(isKernelName(kind, name), `${kind} ${name}`);
    assert.deepEqual(kernelIds('decoder', 'decoder12.3'), [12, 3]);
    assert.equal(kernelIndex('region', 'region12'), 12);
    assert.ok(Number.isNaN(kernelIndex('region', 'region01')));
  });

  it('refuses ids past the type, leading zeros, signs, traversal, blanks, controls and non-ASCII digits', () => {
    for (const [kind, prefix] of [
      ['region', 'region'],
      ['memdev', 'mem'],
      ['nmem', 'nmem'],
      ['endpoint', 'endpoint'],
    ] as const) {
      for (const name of badNames(prefix))
        assert.ok(!isKernelName(kind, name), `${kind} ${JSON.stringify(name)}`);
    }
    for (const name of ['decoder2147483648.0', 'decoder0.01', 'decoder0', 'decoder0.0.0', 'decoder.0'])
      assert.ok(!isKernelName('decoder', name), name);
    assert.ok(!isKernelName('memoryBlock', 'memory4294967296'));
    // Another kind's name is not this kind's.
    assert.ok(!isKernelName('memdev', 'memory0'));
    assert.ok(!isKernelName('region', 'dax_region0'));
  });

  it('says why in one line, the name quoted, escaped and cut to 40 characters, exit 65', () => {
    for (const name of badNames('region')) {
      assert.throws(
        () => requireKernelName('region', name),
        (e: { exitCode: number; message: string }) => {
          assert.equal(e.exitCode, 65);
          assert.ok(!/[\u0000-\u001f\u2028]/.test(e.message), JSON.stringify(e.message));
          assert.ok(e.message.endsWith(` ${kernelNameRule('region')}`), e.message);
          assert.ok(e.message.length < 200, e.message);
          return true;
        },
        JSON.stringify(name),
      );
    }
    assert.throws(() => requireKernelName('memdev', 'mem0\n'), {
      message:
        '"mem0\\n" is not a memdev name (expected memN: a decimal id from 0 to 2147483647 without leading zeros, e.g. mem0)',
    });
  });
});

describe('the profile schema takes the same names', () => {
  const regionWith = (over: Record<string, unknown>) => ({
    regions: [{ name: 'region0', start: '0x4080000000', size: '0x40000000', memdev: 'mem0', ...over }],
  });

  it('accepts every kernel region and memdev name', () => {
    for (const [kind, name] of ACCEPTED) {
      if (kind === 'region') parseProfileFile(regionWith({ name }), 'test');
      if (kind === 'memdev') parseProfileFile(regionWith({ memdev: name }), 'test');
    }
  });

  it('refuses a region named twice (65, naming it), which the kernel never does', () => {
    const region = (name: string, start: string) => ({ name, start, size: '0x40000000', memdev: 'mem0' });
    assert.throws(
      () =>
        parseProfileFile(
          {
            regions: [
              region('region0', '0x4080000000'),
              region('region1', '0x4100000000'),
              region('region0', '0x4180000000'),
            ],
          },
          'twice',
        ),
      { exitCode: 65, message: 'profile twice: regions.2.name: region0 is named twice' },
    );
  });

  it('refuses the names the backends refuse, with the same rule', () => {
    for (const name of badNames('region'))
      assert.throws(() => parseProfileFile(regionWith({ name }), 'test'), {
        message: `profile test: regions.0.name: ${kernelNameRule('region')}`,
      });
    for (const memdev of badNames('mem')) {
      assert.throws(() => parseProfileFile(regionWith({ memdev }), 'test'), {
        message: `profile test: regions.0.memdev: ${kernelNameRule('memdev')}`,
      });
      assert.throws(
        () => parseProfileFile(regionWith({ memdev: undefined, memdevs: ['mem1', memdev] }), 'p'),
        {
          exitCode: 65,
        },
      );
    }
  });
});

/** A SysRoot that notes every path read and every write. */
class WatchedRoot extends TouchingRoot {
  readonly written: string[] = [];
  override async write(relative: string, value: string): Promise<void> {
    this.written.push(relative);
    return super.write(relative, value);
  }
}

const eraseOptions: EraseOptions & RegionEraseOptions = {
  method: 'sanitize',
  recommit: false,
  timeoutMs: 1000,
  force: true,
  confirm: async () => true,
  signal: new AbortController().signal,
};

/** The refusal of one request, as { exitCode, message }: what the CLI prints and exits with. */
async function refusalOf(run: () => Promise<unknown>): Promise<{ exitCode: number; message: string }> {
  try {
    await run();
  } catch (error) {
    const { exitCode, message } = error as { exitCode: number; message: string };
    return { exitCode, message };
  }
  assert.fail('accepted');
}

type Request = (backend: Backend, name: string) => Promise<unknown>;
const REQUESTS: Array<{ what: string; prefix: string; run: Request }> = [
  { what: 'invalidate --region', prefix: 'region', run: (b, n) => b.invalidateRegion(n, regionOptions()) },
  { what: 'erase --region', prefix: 'region', run: (b, n) => b.eraseRegion(n, eraseOptions) },
  {
    what: 'stress --region',
    prefix: 'region',
    run: (b, n) => b.stressTarget({ region: n, confirm: async () => true, signal: eraseOptions.signal }),
  },
  { what: 'erase', prefix: 'mem', run: (b, n) => b.erase(n, eraseOptions) },
];

describe('both backends refuse a bad name alike, before touching sysfs', () => {
  let fixture: { root: string; cleanup: () => void };
  let sysfs: SysfsBackend;
  let emulated: EmulatedBackend;
  before(async () => {
    fixture = copyFixture();
    sysfs = new SysfsBackend(fixture.root, silentLogger);
    emulated = await EmulatedBackend.create(
      virtualBackendOptions,
      profileWith({
        regions: [
          {
            name: 'region0',
            start: 0x40_8000_0000n,
            size: 0x4000_0000n,
            memdev: 'mem0',
            sanitize_ms: 10,
            committed: true,
            locked: false,
            used_by: [],
          },
        ],
      }),
    );
  });
  after(async () => {
    await emulated.close();
    fixture.cleanup();
  });

  for (const { what, prefix, run } of REQUESTS) {
    it(`${what}: the same exit code and message on both`, async () => {
      for (const name of badNames(prefix)) {
        const onSysfs = await refusalOf(() => run(sysfs, name));
        const onEmulated = await refusalOf(() => run(emulated, name));
        assert.deepEqual(onSysfs, onEmulated, JSON.stringify(name));
        assert.equal(onSysfs.exitCode, 65, onSysfs.message);
        assert.match(onSysfs.message, prefix === 'mem' ? /is not a memdev name/ : /is not a region name/);
      }
    });
  }

  it('the sysfs flows read no file and write none for a bad name', async () => {
    const sys = new WatchedRoot(fixture.root);
    const deps: RegionFlowDeps = {
      sys,
      log: silentLogger,
      probe: async () => assert.fail('the probe ran for a bad name'),
      trace: false,
    };
    for (const name of badNames('region')) {
      await refusalOf(() => invalidateRegion(name, regionOptions(), deps));
      await refusalOf(() => eraseRegion(name, eraseOptions, deps));
      await refusalOf(() =>
        regionStressTarget({ region: name, confirm: async () => true, signal: eraseOptions.signal }, deps),
      );
    }
    for (const name of badNames('mem')) await refusalOf(() => eraseMemdev(name, eraseOptions, deps));
    assert.deepEqual([...sys.touched], []);
    assert.deepEqual(sys.written, []);
  });
});
