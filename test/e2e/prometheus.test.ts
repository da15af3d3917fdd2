/**
 * `--format prometheus` for probe and stress: the output is checked by the real `promtool check metrics`
 * (Debian package prometheus; `.ci/run` installs it, and these tests FAIL without it), then parsed back
 * with the small parser below and compared with the JSON report of the same run.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { EmulatedProbeReport, SysfsProbeReport } from '../../src/backends/types.js';
import { probePrometheus, stressPrometheus } from '../../src/render/prometheus.js';
import type { StressReport } from '../../src/stress/report.js';
import {
  assertExit,
  assertRefused,
  type CliResult,
  cli,
  describeResult,
  emu,
  parseJson,
  ROOT,
  scratchDir,
  withoutHostMeasurements,
  writeScratchFile,
} from '../helpers/cli.js';
import { runSync } from '../helpers/spawn.js';

// ------------------------------------------------------------------------------------------ promtool

function promtoolCheck(text: string, what: string): void {
  const which = runSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  assert.equal(
    which.status,
    0,
    'promtool is missing: install it with `apt-get install --no-install-recommends prometheus` (npm test provisions it when run as root)',
  );
  assert.ok(text.length > 0, `${what}: empty exposition (promtool accepts an empty input, we do not)`);
  const r = runSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(
    r.status,
    0,
    `${what}: promtool check metrics exit ${r.status}\n${r.stdout}${r.stderr}\n--- input ---\n${text}`,
  );
  assert.equal(`${r.stdout}${r.stderr}`, '', `${what}: promtool had something to say`);
}

// ------------------------------------------------------------------------------------------- parser

interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface PromFamily {
  help: string;
  type: string;
  samples: PromSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);

function unescapeLabel(text: string): string {
  return text.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
  let at = 0;
  while (at < text.length) {
    pair.lastIndex = at;
    const m = pair.exec(text);
    assert.ok(m, `bad labels at ${at} in: ${line}`);
    assert.equal(labels[m[1]!], undefined, `label ${m[1]} twice in: ${line}`);
    labels[m[1]!] = unescapeLabel(m[2]!);
    at = pair.lastIndex;
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  assert.match(text, /^-?[0-9.]+(e[-+]?[0-9]+)?$/i, `bad sample value ${text}`);
  return Number(text);
}

/**
 * The text format as the textfile collector needs it: HELP then TYPE before a family's samples, each
 * family in one block, samples of a family only (summary: `_sum` and `_count` too), no timestamps.
 */
function parseExposition(text: string): Map<string, PromFamily> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const families = new Map<string, PromFamily>();
  let current: { name: string; family: PromFamily } | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line);
    if (help) {
      assert.ok(!families.has(help[1]!), `family ${help[1]} appears twice`);
      pendingHelp = { name: help[1]!, help: help[2]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\') };
      continue;
    }
    if (type) {
      assert.equal(pendingHelp?.name, type[1], `TYPE ${type[1]} without its HELP line just before`);
      const family = { help: pendingHelp!.help, type: type[2]!, samples: [] };
      families.set(type[1]!, family);
      current = { name: type[1]!, family };
      pendingHelp = undefined;
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment: ${line}`);
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a sample line (or one with a timestamp): ${line}`);
    assert.ok(current, `sample before any TYPE: ${line}`);
    const allowed =
      current.family.type === 'summary'
        ? [current.name, `${current.name}_sum`, `${current.name}_count`]
        : [current.name];
    assert.ok(allowed.includes(m[1]!), `sample ${m[1]} inside family ${current.name}`);
    current.family.samples.push({
      name: m[1]!,
      labels: parseLabels(m[2] ?? '', line),
      value: parseValue(m[3]!),
    });
  }
  for (const [name, family] of families) {
    assert.ok(name.startsWith('memregion_'), `${name} is outside the memregion_ namespace`);
    assert.ok(family.samples.length > 0, `${name} has no sample`);
    assert.equal(family.type === 'counter', name.endsWith('_total'), `${name}: _total exactly on counters`);
  }
  return families;
}

/** The one sample of `name` whose labels include `match`. */
function sample(
  families: Map<string, PromFamily>,
  name: string,
  match: Record<string, string> = {},
): PromSample {
  const familyName = name.replace(/_(sum|count)$/, '');
  const family = families.get(name) ?? families.get(familyName);
  assert.ok(family, `no family ${name}; have ${[...families.keys()].join(', ')}`);
  const found = family.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
  assert.equal(found.length, 1, `${name}${JSON.stringify(match)}: ${found.length} samples`);
  return found[0]!;
}

/** Microseconds (JSON) against seconds (Prometheus), to the nanosecond. */
function assertSeconds(actual: number, us: number, what: string): void {
  assert.ok(Math.abs(actual - us / 1e6) < 1e-12, `${what}: ${actual} s is not ${us} µs`);
}

function promOf(r: CliResult, code: number): Map<string, PromFamily> {
  assertExit(r, code);
  assert.equal(r.stderr, '', `stderr must be empty\n${describeResult(r)}`);
  promtoolCheck(r.stdout, r.command);
  return parseExposition(r.stdout);
}

// -------------------------------------------------------------------------------------------- probe

describe('probe --format prometheus', () => {
  for (const profile of ['global', 'range', 'busy', 'unsupported', 'smccc-1.0']) {
    test(`emulated ${profile}: promtool-clean and the same facts as --json`, async () => {
      const json = await emu(['--profile', profile, '--json', 'probe']);
      const report = parseJson<EmulatedProbeReport>(json);
      const expectedExit = report.supported ? 0 : 69;
      assertExit(json, expectedExit);
      const before = Date.now() / 1000;
      const prom = promOf(await emu(['--profile', profile, '--format', 'prometheus', 'probe']), expectedExit);
      const after = Date.now() / 1000;

      const supported = sample(prom, 'memregion_probe_supported');
      assert.equal(supported.value, report.supported ? 1 : 0);
      assert.equal(supported.labels.backend, 'emulated');
      assert.equal(supported.labels.profile, profile);
      assert.equal(supported.labels.verdict, report.verdict);
      assert.equal(supported.labels.smccc_version, report.smccc.version ?? undefined);
      assert.equal(supported.labels.conduit, report.smccc.conduit ?? undefined);
      assert.equal(sample(prom, 'memregion_probe_info').value, 1);
      assert.equal(sample(prom, 'memregion_probe_info').labels.provider_variant, 'v2');
      assert.equal(
        sample(prom, 'memregion_probe_provider_registered').value,
        report.provider.registered ? 1 : 0,
      );
      if (report.functions.clean_inv_memregion === null) {
        assert.ok(!prom.has('memregion_probe_firmware_function_implemented'), 'unknown: no series');
      } else {
        assert.equal(
          sample(prom, 'memregion_probe_firmware_function_implemented', { function: 'clean_inv_memregion' })
            .value,
          report.functions.clean_inv_memregion ? 1 : 0,
        );
      }
      assert.equal(sample(prom, 'memregion_probe_reasons').value, report.reasons.length);
      if (report.attributes) {
        assertSeconds(
          sample(prom, 'memregion_probe_firmware_latency_seconds').value,
          report.attributes.latency_us,
          'latency',
        );
        assert.equal(
          sample(prom, 'memregion_probe_firmware_global_operation').value,
          report.attributes.global ? 1 : 0,
        );
        assert.equal(
          sample(prom, 'memregion_probe_firmware_rate_limit_calls_per_second').value,
          report.attributes.rate_limit,
        );
        assert.equal(
          sample(prom, 'memregion_probe_firmware_breakeven_bytes').value,
          Number(report.attributes.breakeven_bytes),
        );
      } else {
        assert.ok(!prom.has('memregion_probe_firmware_latency_seconds'));
      }
      const time = sample(prom, 'memregion_probe_timestamp_seconds').value;
      assert.ok(time >= before - 1 && time <= after + 1, `timestamp ${time} not within the run`);
    });
  }

  test('sysfs fixture: host facts (SOC_ID, kernel, conduit) become labels', async () => {
    const root = path.join(ROOT, 'test/fixtures/machines/arm64-registered');
    const report = parseJson<SysfsProbeReport>(await cli(['-b', 'sysfs', '--root', root, '--json', 'probe']));
    const prom = promOf(
      await cli(['-b', 'sysfs', '--root', root, '--format', 'prometheus', 'probe']),
      report.supported ? 0 : 69,
    );
    const soc = report.soc_id as { id: string; machine: string | null };
    const kernel = report.kernel as { release: string; arch: string };
    const supported = sample(prom, 'memregion_probe_supported');
    assert.equal(supported.labels.backend, 'sysfs');
    assert.equal(supported.labels.profile, undefined, 'no profile label on the sysfs backend');
    assert.equal(supported.labels.soc_id, soc.id);
    assert.equal(supported.labels.verdict, report.verdict);
    const info = sample(prom, 'memregion_probe_info');
    assert.equal(info.labels.soc_id, soc.id);
    assert.equal(info.labels.soc_machine, soc.machine ?? undefined);
    assert.equal(info.labels.kernel_release, kernel.release);
    assert.equal(info.labels.arch, kernel.arch);
    assert.equal(info.labels.conduit, report.smccc.conduit ?? undefined);
    assert.equal(info.labels.smccc_version, report.smccc.version ?? undefined);
  });

  test('sysfs fixtures of every verdict: promtool-clean, verdict label as --json says', async () => {
    const machines = readdirSync(path.join(ROOT, 'test/fixtures/machines'));
    assert.ok(machines.length > 0);
    for (const machine of machines) {
      const root = path.join(ROOT, 'test/fixtures/machines', machine);
      const json = await cli(['-b', 'sysfs', '--root', root, '--json', 'probe']);
      const report = parseJson<SysfsProbeReport>(json);
      const r = await cli(['-b', 'sysfs', '--root', root, '--format', 'prometheus', 'probe']);
      assertExit(r, json.exitCode!);
      promtoolCheck(r.stdout, `${machine}: ${r.command}`);
      const supported = sample(parseExposition(r.stdout), 'memregion_probe_supported');
      assert.equal(supported.labels.verdict, report.verdict, machine);
      assert.equal(supported.value, report.supported ? 1 : 0, machine);
    }
  });

  // A line feed cannot be in a profile's name any more (a control character, refused with 65): the
  // exposition's own escapes are for quote and backslash here.
  test('label values are escaped (quote, backslash) and read back unchanged', async () => {
    const name = 'lab "A" \\ rack 2';
    const file = writeScratchFile('odd-name.json', { name, description: 'a name that needs escaping' });
    const r = await emu(['--profile', file, '--format', 'prometheus', 'probe']);
    const prom = promOf(r, 0);
    assert.match(r.stdout, /profile="lab \\"A\\" \\\\ rack 2"/);
    assert.equal(sample(prom, 'memregion_probe_supported').labels.profile, name);
  });
});

// ------------------------------------------------------------------------------------------- stress

describe('stress --format prometheus', () => {
  const run = [
    '--seed',
    '7',
    '--profile',
    'busy',
    'stress',
    '--virtual-time',
    '--ops',
    '3000',
    '--workers',
    '8',
    '--verify',
  ];

  test('promtool-clean, and every value is the JSON report of the same (deterministic) run', async () => {
    const report = parseJson<StressReport & { started_at: string; finished_at: string }>(
      await emu(['--json', ...run]),
    );
    assert.ok(
      report.requests.failed > 0 && report.retries > 0,
      'the busy profile gives failures and retries',
    );
    const before = Date.now() / 1000;
    const prom = promOf(await emu(['--format', 'prometheus', ...run]), 0);
    const after = Date.now() / 1000;
    const base = { backend: 'emulated', profile: 'busy', provider: 'v2' };

    const info = sample(prom, 'memregion_stress_info');
    assert.deepEqual(info.labels, {
      ...base,
      pattern: 'random',
      virtual_time: 'true',
      coalescing: String(report.coalescing),
    });
    assert.equal(
      sample(prom, 'memregion_stress_requests_total', { result: 'completed' }).value,
      report.requests.completed,
    );
    assert.equal(
      sample(prom, 'memregion_stress_requests_total', { result: 'failed' }).value,
      report.requests.failed,
    );
    for (const [errno, n] of Object.entries(report.errors)) {
      assert.equal(sample(prom, 'memregion_stress_errors_total', { errno }).value, n, errno);
    }
    assert.equal(
      sample(prom, 'memregion_stress_errors_total', { errno: 'EINVAL' }).value,
      0,
      'known errnos are 0, not absent',
    );
    assert.equal(sample(prom, 'memregion_stress_retries_total').value, report.retries);
    assert.equal(sample(prom, 'memregion_stress_coalesced_requests_total').value, report.coalesced);
    for (const [status, n] of Object.entries(report.firmware.by_status)) {
      assert.equal(sample(prom, 'memregion_stress_firmware_calls_total', { status }).value, n, status);
    }
    const calls = prom.get('memregion_stress_firmware_calls_total')!.samples.reduce((a, s) => a + s.value, 0);
    assert.equal(calls, report.firmware.calls);
    assert.equal(sample(prom, 'memregion_stress_coalescing_factor').value, report.coalescing_factor);
    assert.equal(
      sample(prom, 'memregion_stress_throughput_requests_per_second').value,
      report.throughput_per_s,
    );

    assert.equal(prom.get('memregion_stress_latency_seconds')!.type, 'summary');
    const l = report.latency_us!;
    for (const [quantile, us] of [
      ['0.5', l.p50],
      ['0.9', l.p90],
      ['0.99', l.p99],
      ['0.999', l.p999],
    ] as const) {
      assertSeconds(
        sample(prom, 'memregion_stress_latency_seconds', { quantile }).value,
        us,
        `quantile ${quantile}`,
      );
    }
    const count = report.requests.completed + report.requests.failed;
    assert.equal(sample(prom, 'memregion_stress_latency_seconds_count').value, count);
    assert.ok(
      Math.abs(sample(prom, 'memregion_stress_latency_seconds_sum').value - (l.mean * count) / 1e6) < 1e-6,
    );
    assertSeconds(sample(prom, 'memregion_stress_latency_max_seconds').value, l.max, 'max');

    assert.equal(sample(prom, 'memregion_stress_workers').value, 8);
    assert.equal(sample(prom, 'memregion_stress_verify_checked_total').value, report.verify!.checked);
    assert.equal(sample(prom, 'memregion_stress_verify_violations_total').value, report.verify!.violations);
    assert.equal(sample(prom, 'memregion_stress_interrupted').value, 0);
    assert.equal(sample(prom, 'memregion_stress_duration_seconds').value, report.elapsed_s);
    const start = sample(prom, 'memregion_stress_start_timestamp_seconds').value;
    const end = sample(prom, 'memregion_stress_end_timestamp_seconds').value;
    assert.ok(
      before - 1 <= start && start <= end && end <= after + 1,
      `run times ${start}..${end} not within ${before}..${after}`,
    );
    // The JSON report carries the same times, as ISO 8601.
    assert.ok(Date.parse(report.finished_at) >= Date.parse(report.started_at));
  });

  test('without --virtual-time and with the batched provider: still clean, coalescing shown', async () => {
    const prom = promOf(
      await emu([
        '--provider',
        'batched',
        '--format',
        'prometheus',
        'stress',
        '--workers',
        '16',
        '--duration',
        '300ms',
      ]),
      0,
    );
    assert.equal(sample(prom, 'memregion_stress_info').labels.virtual_time, 'false');
    assert.equal(sample(prom, 'memregion_stress_info').labels.provider, 'batched');
    assert.ok(sample(prom, 'memregion_stress_requests_total', { result: 'completed' }).value > 0);
    assert.ok(sample(prom, 'memregion_stress_coalescing_factor').value >= 1);
  });

  test('--output: written atomically (a new file renamed over the old), nothing on stdout, no temp file left', async () => {
    const dir = scratchDir('textfile');
    const target = path.join(dir, 'memregion.prom');
    writeFileSync(target, '# stale\n');
    const inodeBefore = statSync(target).ino;
    const r = await emu(['--format', 'prometheus', '--output', target, ...run]);
    assertExit(r, 0);
    assert.equal(r.stdout, '', 'nothing on stdout with --output');
    assert.equal(r.stderr, '');
    const text = readFileSync(target, 'utf8');
    promtoolCheck(text, 'the --output file');
    assert.notEqual(
      statSync(target).ino,
      inodeBefore,
      'the file was replaced by a rename, not rewritten in place',
    );
    assert.deepEqual(readdirSync(dir), ['memregion.prom'], 'no temporary file is left behind');
    const fromStdout = (await emu(['--format', 'prometheus', ...run])).stdout;
    const strip = (t: string) =>
      t.replace(
        /^memregion_stress_(start|end)_timestamp_seconds.*$|^memregion_stress_(wall_clock|cpu_time)_seconds.*$/gm,
        '',
      );
    assert.equal(strip(text), strip(fromStdout), 'the file holds what stdout would have');
    assert.equal(statSync(target).mode & 0o777, 0o644, 'readable by the collector');
  });

  test('--output into a missing folder: one error line, no file', async () => {
    const target = path.join(scratchDir('gone'), 'no-such-dir', 'memregion.prom');
    const r = await emu(['--format', 'prometheus', '--output', target, 'probe']);
    assert.notEqual(r.exitCode, 0, describeResult(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^memregion: .*memregion\.prom.*\n$/);
  });

  test('--format prometheus does not go with --interval (usage, 64)', async () => {
    assertRefused(
      await emu(['--format', 'prometheus', 'stress', '--virtual-time', '--ops', '10', '--interval', '1s']),
      64,
      /--interval/,
    );
  });

  test('same JSON whatever the format asked before (the format changes only the rendering)', async () => {
    const a = parseJson(await emu(['--json', ...run]));
    const b = parseJson(await emu(['--format', 'json', ...run]));
    const strip = (r: Record<string, unknown>) => {
      const { started_at: _s, finished_at: _f, ...rest } = withoutHostMeasurements(r);
      return rest;
    };
    assert.deepEqual(strip(a), strip(b));
  });
});

// --------------------------------------------------------------------------------- renderer corners

describe('renderer corners', () => {
  test('a run without any completed request: NaN quantiles, zero count, no coalescing factor; promtool-clean', () => {
    const report: StressReport = {
      backend: 'sysfs',
      region: 'region0',
      workers: 1,
      virtual_time: false,
      seed: 1,
      pattern: 'same',
      base: '0x0',
      size: '4096',
      span: '4096',
      ops_requested: 1,
      duration_requested_s: null,
      elapsed_s: 0,
      wall_s: 0,
      cpu_s: 0,
      requests: { issued: 0, completed: 0, failed: 0 },
      throughput_per_s: 0,
      latency_us: null,
      firmware: { calls: null, by_status: {} },
      retries: 0,
      coalesced: 0,
      coalescing: false,
      coalescing_factor: null,
      errors: { ENXIO: 0, 'odd"errno': 1 },
      interrupted: true,
    };
    const text = stressPrometheus(report, 1_700_000_000_000);
    promtoolCheck(text, 'empty run');
    const prom = parseExposition(text);
    assert.ok(Number.isNaN(sample(prom, 'memregion_stress_latency_seconds', { quantile: '0.5' }).value));
    assert.equal(sample(prom, 'memregion_stress_latency_seconds_count').value, 0);
    assert.ok(!prom.has('memregion_stress_coalescing_factor'));
    assert.ok(!prom.has('memregion_stress_firmware_calls_total'), 'no firmware call count on sysfs');
    assert.equal(sample(prom, 'memregion_stress_errors_total', { errno: 'odd"errno' }).value, 1);
    assert.equal(sample(prom, 'memregion_stress_interrupted').value, 1);
    assert.equal(sample(prom, 'memregion_stress_end_timestamp_seconds').value, 1_700_000_000);
    assert.equal(sample(prom, 'memregion_stress_info').labels.region, 'region0');
  });

  test('a probe with unknowns: absent facts are absent labels and series', () => {
    const report: SysfsProbeReport = {
      backend: 'sysfs',
      supported: false,
      verdict: 'unknown',
      smccc: { version: null, conduit: null },
      functions: { clean_inv_memregion: null, attributes: null },
      attributes: null,
      provider: { registered: null },
      reasons: ['the kernel log is not readable'],
      needs_privileges: true,
      evidence: [],
      warnings: [],
      kernel: { release: null, arch: null },
      soc_id: null,
      lockdown: null,
      tracing: { kprobes: false, tracefs: null, reason: 'not readable' },
      kernel_log: { readable: false, complete_from_boot: null, source: '/dev/kmsg' },
    };
    const text = probePrometheus(report, 1_700_000_000_000);
    promtoolCheck(text, 'unknown probe');
    const prom = parseExposition(text);
    assert.deepEqual(sample(prom, 'memregion_probe_supported').labels, {
      backend: 'sysfs',
      verdict: 'unknown',
    });
    assert.ok(!prom.has('memregion_probe_provider_registered'));
    assert.ok(!prom.has('memregion_probe_firmware_function_implemented'));
    assert.equal(sample(prom, 'memregion_probe_timestamp_seconds').value, 1_700_000_000);
  });
});
