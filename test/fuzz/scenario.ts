/**
 * A fuzz case as plain data that fast-check generates and shrinks: the command line (a well-formed
 * command with hostile values, plus stray tokens), the profile, the `--root` tree, the `--output` target,
 * the environment and an optional signal. `materialize` turns it into the steps that build its folder,
 * the argv, and what the run is allowed to do.
 */
import fc from 'fast-check';
import type { DeviceName } from './setup.js';

// ------------------------------------------------------------------------------------------- values

/** Text a careless or hostile user types: empty, control characters, escapes, unicode, huge numbers. */
const nasty = fc.constantFrom(
  '',
  ' ',
  '-',
  '--',
  '\n',
  'a\nb',
  '\u001b[31mred',
  '\t',
  '\u007f',
  '\r',
  'é',
  '💥',
  '\u202e',
  'x'.repeat(300),
  '%s%n',
  '$(true)',
  '../..',
);

/** Text with any code point but NUL (an argv string cannot hold one). */
const anyText = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replaceAll('\u0000', ''));

const numberText = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '-1',
    '0x',
    '0x0',
    '0X10',
    '4K',
    '4 K',
    '4kb',
    '4KiB',
    '1_000',
    '1e3',
    '2M',
    '1G',
    '1T',
    '1P',
    'NaN',
    'Infinity',
    '0.5',
    '18446744073709551615',
    '18446744073709551616',
    '0xffffffffffffffff',
    '0x10000000000000000',
    '99999999999999999999999999999',
    '9007199254740993',
    '0x4080000000',
  ),
  fc.bigInt({ min: 0n, max: (1n << 70n) - 1n }).map(String),
  fc.bigInt({ min: 0n, max: (1n << 66n) - 1n }).map((n) => `0x${n.toString(16)}`),
  nasty,
);

/** Durations that end quickly, and the ones that do not (those runs always get a signal). */
const shortTime = fc.constantFrom('1ms', '50ms', '200ms', '0.3s', '100000us');
const badTime = fc.oneof(
  fc.constantFrom(
    '0',
    '0s',
    '-1s',
    '1e-21us',
    '0.000000000000000000001us',
    'abc',
    '1x',
    '',
    'Infinity',
    'NaN',
  ),
  nasty,
);
const longTime = fc.constantFrom('600h', '9999999999999999999h', '30m', '10s', '2147483648ms', '1e300s');

type Timed = { args: string[]; long: boolean };
const timeFlag = (flag: string): fc.Arbitrary<Timed> =>
  fc.oneof(
    { weight: 4, arbitrary: shortTime.map((t) => ({ args: [flag, t], long: false })) },
    { weight: 2, arbitrary: badTime.map((t) => ({ args: [flag, t], long: false })) },
    { weight: 1, arbitrary: longTime.map((t) => ({ args: [flag, t], long: true })) },
  );

const optional = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { freq, nil: undefined });
const flag = (name: string) => fc.constantFrom<string[]>([], [], [name]);

// ----------------------------------------------------------------------------------------- commands

export interface CommandCase {
  args: string[];
  /** The run may legitimately go on for long (a long duration, no --ops): it always gets a signal. */
  long: boolean;
  /** A command whose result is a JSON document under --json (not completion or help). */
  documented: boolean;
  /** More exit codes this case may end with: `trace -- <command>` passes the command's through. */
  exits?: number[];
}

const join = (parts: (string[] | undefined)[]) => parts.flatMap((p) => p ?? []);

const probe = fc.constantFrom<CommandCase>({ args: ['probe'], long: false, documented: true });
const profiles = fc.constantFrom<CommandCase>({ args: ['profiles'], long: false, documented: true });
const regions = fc.constantFrom<CommandCase>({ args: ['regions'], long: false, documented: true });

const regionName = fc.oneof(fc.constantFrom('region0', 'region1', 'region2', 'region99', 'mem0'), nasty);

const invalidate = fc.oneof(
  fc.tuple(numberText, numberText, flag('--dry-run')).map(([start, size, dry]) => ({
    args: ['invalidate', start, size, ...dry],
    long: false,
    documented: true,
  })),
  fc.tuple(regionName, flag('--yes'), flag('--cycle'), flag('--force')).map(([name, yes, cycle, force]) => ({
    args: ['invalidate', '--region', name, ...yes, ...cycle, ...force],
    long: false,
    documented: true,
  })),
);

const stress = fc
  .tuple(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .constantFrom('1', '10', '200', '2000')
          .map((n) => ({ args: ['--ops', n, '--virtual-time'], long: false })),
      },
      { weight: 2, arbitrary: numberText.map((n) => ({ args: ['--ops', n, '--virtual-time'], long: true })) },
      { weight: 2, arbitrary: timeFlag('--duration') },
      { weight: 1, arbitrary: fc.constant<Timed>({ args: ['--virtual-time'], long: true }) },
    ),
    optional(
      fc.oneof(fc.constantFrom('1', '4', '64', '0', '100000'), numberText).map((w) => ['--workers', w]),
    ),
    optional(fc.constantFrom('random', 'sequential', 'same', 'zigzag', '').map((p) => ['--pattern', p])),
    optional(numberText.map((v) => ['--size', v])),
    optional(numberText.map((v) => ['--span', v])),
    optional(numberText.map((v) => ['--base', v])),
    flag('--verify'),
    flag('--fail-on-error'),
    optional(
      fc
        .oneof(shortTime, badTime, fc.constantFrom('1us', '0.000000000000000000001us'))
        .map((t) => ['--interval', t]),
      5,
    ),
  )
  .map(([run, ...rest]) => ({
    args: ['stress', ...run.args, ...join(rest)],
    long: run.long,
    documented: true,
  }));

const erase = fc
  .tuple(
    fc.oneof(fc.constantFrom('mem0', 'mem1', 'mem2', 'mem9'), nasty),
    flag('--yes'),
    optional(fc.constantFrom('sanitize', 'secure-erase', 'shred').map((m) => ['--method', m])),
    fc.oneof(timeFlag('--timeout'), fc.constant({ args: [], long: true })),
    flag('--force'),
  )
  .map(([dev, yes, method, timeout, force]) => ({
    args: ['erase', dev, ...yes, ...(method ?? []), ...timeout.args, ...force],
    long: timeout.long || timeout.args.length === 0,
    documented: true,
  }));

const trace = fc.oneof(
  timeFlag('--duration').map((t) => ({ args: ['trace', ...t.args], long: t.long, documented: true })),
  fc.constant<CommandCase>({ args: ['trace'], long: true, documented: true }),
  fc
    .constantFrom(['true'], ['false'], ['sh', '-c', 'exit 3'], ['/nonexistent/command'], ['sleep', '30'])
    .map((cmd) => ({
      args: ['trace', '--', ...cmd],
      long: cmd[0] === 'sleep',
      documented: true,
      // A traced command passes its code through; one that does not exist is 127, as with env(1).
      exits:
        cmd[0] === 'false' ? [1] : cmd[0] === 'sh' ? [3] : cmd[0] === '/nonexistent/command' ? [127] : [],
    })),
);

const other = fc.oneof(
  fc.constantFrom<CommandCase>(
    { args: ['completion', 'bash'], long: false, documented: false },
    { args: ['completion', 'fish'], long: false, documented: false },
    { args: ['completion', 'tcsh'], long: false, documented: false },
    { args: ['help'], long: false, documented: false },
    { args: ['help', 'stress'], long: false, documented: false },
    { args: ['--help'], long: false, documented: false },
    { args: ['--version'], long: false, documented: false },
    { args: ['bogus'], long: false, documented: false },
  ),
  nasty.map((t) => ({ args: [t], long: false, documented: false })),
);

export const commandCase: fc.Arbitrary<CommandCase> = fc.oneof(
  { weight: 3, arbitrary: probe },
  { weight: 1, arbitrary: profiles },
  { weight: 2, arbitrary: regions },
  { weight: 4, arbitrary: invalidate },
  { weight: 5, arbitrary: stress },
  { weight: 2, arbitrary: erase },
  { weight: 2, arbitrary: trace },
  { weight: 1, arbitrary: other },
);

/** Stray tokens put somewhere in the command line; none of them can make a run longer. */
const strayToken = fc.oneof(
  fc.constantFrom(
    '--json',
    '-q',
    '-v',
    '--no-color',
    '--bogus',
    '-x',
    '--seed',
    '--provider',
    '--format',
    '-b',
  ),
  fc
    .constantFrom('--seed', '--provider', '--format', '--backend')
    .chain((f) =>
      fc
        .oneof(fc.constantFrom('v1', 'rfc', 'batched', 'json', 'prometheus', 'emulated'), numberText, anyText)
        .map((v) => `${f}=${v}`),
    ),
  nasty,
  anyText,
);

// ------------------------------------------------------------------------------------------ profiles

const profileDoc = fc.record(
  {
    name: fc.oneof(fc.constantFrom('lab', ''), anyText),
    smccc_version: fc.oneof(
      fc.constantFrom(
        '1.7',
        '1.1',
        '1.0',
        'none',
        '99999999999999999999.1',
        '1.99999999999',
        '32768.0',
        '2.x',
        '',
      ),
      anyText,
    ),
    conduit: fc.constantFrom('smc', 'hvc', 'none', 'svc', 7),
    implements: fc.record(
      {
        clean_inv_memregion: fc.oneof(fc.boolean(), fc.integer()),
        attributes: fc.oneof(fc.boolean(), fc.integer()),
      },
      { requiredKeys: [] },
    ),
    attributes_status: fc.oneof(fc.integer({ min: -6, max: 1 }), fc.constant(4294967296)),
    attributes: fc.record(
      {
        global: fc.boolean(),
        latency_us: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(-1, 4294967296, 1e300, 0.5)),
        rate_limit: fc.oneof(fc.integer({ min: 0, max: 100000 }), fc.constantFrom(-1, 4294967296)),
        breakeven_bytes: fc.oneof(
          fc.constantFrom('1073741824', '18446744073709551616', '-1', '0x'),
          numberText,
        ),
      },
      { requiredKeys: [] },
    ),
    timing: fc.record(
      {
        call_us: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(-5, 0.25)),
        per_gib_us: fc.integer({ min: 0, max: 2000 }),
      },
      { requiredKeys: [] },
    ),
    faults: fc.record(
      {
        busy_probability: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(-1, 2, 'x')),
        rate_limited_probability: fc.double({ min: 0, max: 1, noNaN: true }),
        busy_burst: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(1e9, -1)),
        always: fc.constantFrom(null, 'busy', 'invalid_parameter', 'not_supported', -3, 'nonsense', 99),
        sequence: fc.array(fc.constantFrom('busy', 'success', 'rate_limited', -3, 'x'), { maxLength: 6 }),
      },
      { requiredKeys: [] },
    ),
    checks: fc.record(
      { align_bytes: fc.oneof(fc.constantFrom(1, 4096, 0, -1, 3), numberText) },
      { requiredKeys: [] },
    ),
    regions: fc.array(
      fc.record(
        {
          name: fc.oneof(fc.constantFrom('region0', 'region1'), anyText),
          start: fc.oneof(fc.constantFrom('0x4080000000', '0xffffffffffffffff', '0'), numberText),
          size: fc.oneof(fc.constantFrom('0x40000000', '0x10000000000000000', '0'), numberText),
          memdev: fc.constantFrom('mem0', 'mem1', ''),
          sanitize_ms: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(-1, 1e12)),
          committed: fc.boolean(),
          locked: fc.oneof(fc.boolean(), fc.constant('yes')),
          used_by: fc.array(fc.constantFrom('dax0.0', 'kmem'), { maxLength: 2 }),
        },
        { requiredKeys: ['name', 'start', 'size'] },
      ),
      { maxLength: 3 },
    ),
    bogus_key: fc.constant(1),
  },
  { requiredKeys: [] },
);

export type FileKind =
  | { kind: 'json'; doc: unknown; mode: number }
  | { kind: 'text'; text: string }
  | { kind: 'huge' }
  | { kind: 'fifo' }
  | { kind: 'device'; device: DeviceName }
  | { kind: 'dir' }
  | { kind: 'loop' }
  | { kind: 'missing' }
  | { kind: 'link-to-json'; doc: unknown };

/** A marker in profile files: no error or output may ever quote it (issue 7 finding 10). */
export const SECRET = 'SECRET-d41d8cd9';

const brokenJson = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"smccc_version": "1.7"',
    '[]',
    'null',
    '"x"',
    '{"a":1}{"b":2}',
    `${SECRET} root:$6$abc\n`,
    `{"conduit": "smc" ${SECRET}}`,
    '{"name": "\u001b[2J\u0007"}',
    '\ufeff{}',
    '{"regions": [{"name": "r", "start": "0x", "size": "4K"}]}',
  ),
  anyText,
  profileDoc.map((d) => JSON.stringify(d).slice(0, -1)),
);

export const profileFile: fc.Arbitrary<FileKind> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(profileDoc, fc.constantFrom(0o644, 0o600, 0o000))
      .map(([doc, mode]) => ({ kind: 'json' as const, doc, mode })),
  },
  { weight: 3, arbitrary: brokenJson.map((text) => ({ kind: 'text' as const, text })) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constant<FileKind>({ kind: 'huge' }),
      fc.constant<FileKind>({ kind: 'fifo' }),
      fc
        .constantFrom<DeviceName>('zero', 'null', 'full')
        .map((device): FileKind => ({ kind: 'device', device })),
      fc.constant<FileKind>({ kind: 'dir' }),
      fc.constant<FileKind>({ kind: 'loop' }),
      fc.constant<FileKind>({ kind: 'missing' }),
      profileDoc.map((doc): FileKind => ({ kind: 'link-to-json', doc })),
    ),
  },
);

export type ProfileCase = { via: 'flag' | 'env'; builtin: string } | { via: 'flag' | 'env'; file: FileKind };

const profileCase: fc.Arbitrary<ProfileCase> = fc
  .tuple(
    fc.constantFrom<'flag' | 'env'>('flag', 'flag', 'env'),
    fc.oneof(
      {
        weight: 2,
        arbitrary: fc
          .oneof(
            fc.constantFrom(
              'global',
              'range',
              'busy',
              'rate-limited',
              'unsupported',
              'smccc-1.0',
              'stuck',
              'nonexistent',
            ),
            nasty,
          )
          .map((builtin) => ({ builtin })),
      },
      { weight: 5, arbitrary: profileFile.map((file) => ({ file })) },
    ),
  )
  .map(([via, what]) => ({ via, ...what }) as ProfileCase);

// --------------------------------------------------------------------------------------------- roots

export const FIXTURES = [
  'test/fixtures/cxl',
  ...[
    'arm64-hisi-hha',
    'arm64-kvm-guest',
    'arm64-no-framework',
    'arm64-no-provider',
    'arm64-not-registered',
    'arm64-not-registered-wrapped',
    'arm64-registered',
    'arm64-smccc-1.0',
    'arm64-test-bypass',
    'arm64-unreadable',
    'x86-bare-metal',
    'x86-guest',
  ].map((m) => `test/fixtures/machines/${m}`),
];

export type Damage = 'fifo' | 'zero' | 'loop' | 'dir' | 'cut' | 'junk' | 'huge' | 'rm' | 'dir-loop' | 'empty';
export interface Corruption {
  /** Index into the fixture's entries (files and folders), modulo their number. */
  pick: number;
  /** Pick among the entries the sysfs backend reads (DESIGN §6) rather than among all of them. */
  hot: boolean;
  damage: Damage;
}

export type RootCase =
  | { via: 'flag' | 'env'; fixture: number; corruptions: Corruption[] }
  | { via: 'flag' | 'env'; special: 'missing' | 'empty-dir' | 'file' | 'fifo' | 'loop' | 'empty-string' };

const corruption: fc.Arbitrary<Corruption> = fc.record({
  pick: fc.nat(),
  hot: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  damage: fc.constantFrom<Damage>(
    'fifo',
    'zero',
    'loop',
    'dir',
    'cut',
    'junk',
    'huge',
    'rm',
    'dir-loop',
    'empty',
  ),
});

const rootCase: fc.Arbitrary<RootCase> = fc
  .tuple(
    fc.constantFrom<'flag' | 'env'>('flag', 'flag', 'env'),
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          fixture: fc.nat({ max: FIXTURES.length - 1 }),
          corruptions: fc.array(corruption, { maxLength: 4 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('missing', 'empty-dir', 'file', 'fifo', 'loop', 'empty-string')
          .map((special) => ({ special })),
      },
    ),
  )
  .map(([via, what]) => ({ via, ...what }) as RootCase);

// -------------------------------------------------------------------------------------------- output

export type OutputCase =
  | 'new'
  | 'missing-dir'
  | 'file-0644'
  | 'file-0600'
  | 'link-to-file'
  | 'dangling-link'
  | 'link-loop'
  | 'device-null'
  | 'device-full'
  | 'device-zero'
  | 'fifo-with-reader'
  | 'fifo-no-reader'
  | 'dir'
  | 'empty-string';

const outputCase = fc.constantFrom<OutputCase>(
  'new',
  'missing-dir',
  'file-0644',
  'file-0600',
  'link-to-file',
  'dangling-link',
  'link-loop',
  'device-null',
  'device-full',
  'device-zero',
  'fifo-with-reader',
  'fifo-no-reader',
  'dir',
  'empty-string',
);

// ------------------------------------------------------------------------------------------ scenario

export type SignalName = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export interface Scenario {
  backend: 'emulated' | 'sysfs' | 'default' | string;
  command: CommandCase;
  format: string[];
  globals: string[][];
  profile?: ProfileCase | undefined;
  root?: RootCase | undefined;
  output?: OutputCase | undefined;
  stray: { at: number; token: string }[];
  /** MEMREGION_BACKEND / MEMREGION_PROVIDER as a careless environment sets them. */
  env?: Record<string, string> | undefined;
  signal?: { name: SignalName; delayMs: number } | undefined;
}

const backendChoice = fc.oneof(
  { weight: 8, arbitrary: fc.constant('emulated') },
  { weight: 1, arbitrary: fc.constant('default') },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('sysfs', 'EMULATED', 'qemu'), nasty) },
);

const formatChoice = fc.constantFrom<string[]>(
  ['--json'],
  ['--json'],
  ['--json'],
  [],
  ['--format', 'json'],
  ['--format', 'prometheus'],
  ['--format', 'human'],
  ['--format', 'yaml'],
  ['--json', '--format', 'prometheus'],
);

const globalFlags = fc.array(
  fc.oneof(
    fc
      .oneof(fc.constantFrom('1', '42', '0', '-1', '99999999999', '4294967295', '0x10'), numberText)
      .map((s) => ['--seed', s]),
    fc.oneof(fc.constantFrom('v2', 'v1', 'rfc', 'batched', 'v3'), nasty).map((p) => ['--provider', p]),
    fc.constantFrom<string[]>(['-q'], ['--no-color']),
  ),
  { maxLength: 2 },
);

const signalChoice = fc.record({
  name: fc.constantFrom<SignalName>('SIGINT', 'SIGTERM', 'SIGHUP'),
  delayMs: fc.integer({ min: 0, max: 1500 }),
});

/** Mostly the emulated backend; sysfs cases read a `--root` tree. */
export const scenario: fc.Arbitrary<Scenario> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      backend: backendChoice,
      command: commandCase,
      format: formatChoice,
      globals: globalFlags,
      profile: optional(profileCase, 1),
      output: optional(outputCase, 2),
      stray: fc.array(fc.record({ at: fc.nat(), token: strayToken }), { maxLength: 2 }),
      env: optional(
        fc.record(
          {
            MEMREGION_BACKEND: fc.oneof(fc.constantFrom('emulated', 'sysfs', ''), nasty),
            MEMREGION_PROVIDER: fc.oneof(fc.constantFrom('rfc', 'batched', ''), nasty),
          },
          { requiredKeys: [] },
        ),
        6,
      ),
      signal: optional(signalChoice, 3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      backend: fc.constantFrom('sysfs', 'default'),
      // Without --yes: a confirmed region commit or erase would write into the tree, as asked.
      command: fc
        .oneof(probe, regions, invalidate, erase)
        .map((c) => ({ ...c, args: c.args.filter((a) => a !== '--yes') })),
      format: formatChoice,
      globals: fc.constant<string[][]>([]),
      root: rootCase,
      output: optional(outputCase, 3),
      stray: fc.array(fc.record({ at: fc.nat(), token: strayToken }), { maxLength: 1 }),
      signal: optional(signalChoice, 4),
    }),
  },
);
