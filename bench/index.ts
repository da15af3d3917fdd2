// npm run bench: the speed and memory figures of issue 2, printed with their ratios and targets.
// Figures vary with the machine; the tests never assert them.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FunctionId } from '../src/backends/emulated/kernel/arm-smccc.js';
import type { ProviderVariant } from '../src/backends/types.js';
import { stack, stressRun } from './emulation.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const ZERO_LATENCY = { attributes: { latency_us: 0 }, timing: { call_us: 0 } };
const START = 0x8000_0000n;
const SIZE = 4096n;

const line = (label: string, value: string) => console.log(`  ${label.padEnd(44)} ${value}`);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

async function providerThroughput(ops: number) {
  const { firmware, invalidate } = await stack('v2', ZERO_LATENCY, false);
  const bare = async () => {
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) await firmware.call(FunctionId.CLEAN_INV_MEMREGION, START, SIZE, 0n);
    return ops / ((performance.now() - t0) / 1000);
  };
  const provider = async () => {
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) await invalidate(START, SIZE);
    return ops / ((performance.now() - t0) / 1000);
  };
  await bare();
  await provider();
  let bestBare = 0;
  let bestProvider = 0;
  for (let round = 0; round < 5; round++) {
    bestBare = Math.max(bestBare, await bare());
    bestProvider = Math.max(bestProvider, await provider());
  }
  return { bestBare, bestProvider };
}

async function burstCalls(variant: ProviderVariant, n: number): Promise<number> {
  const { clock, firmware, invalidate } = await stack(variant, {}, true);
  const burst = Array.from({ length: n }, () => invalidate(START, SIZE));
  await (clock as import('../src/core/clock.js').VirtualClock).run(Promise.all(burst));
  return firmware.invalidateCalls.get('SUCCESS') ?? 0;
}

async function burstWhileRunning(variant: ProviderVariant, n: number): Promise<number> {
  const { clock, firmware, invalidate } = await stack(variant, {}, true);
  const virtual = clock as import('../src/core/clock.js').VirtualClock;
  const first = invalidate(START, SIZE);
  const burst = virtual
    .sleep(10)
    .then(() => Promise.all(Array.from({ length: n }, () => invalidate(START, SIZE))));
  await virtual.run(Promise.all([first, burst]));
  return firmware.invalidateCalls.get('SUCCESS') ?? 0;
}

async function simulatedRate(ops: number) {
  const run = stressRun(await stack('v2', {}, true), ops, 3);
  const cpu0 = process.cpuUsage();
  const snapshot = await run.run();
  const cpu = process.cpuUsage(cpu0);
  return {
    ops: snapshot.issued,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    simulatedSeconds: snapshot.elapsed_us / 1e6,
  };
}

/** One run of `command args` in ms; a failing run stops the bench. */
function runMs(command: string, args: string[]): number {
  const t0 = performance.now();
  const result = spawnSync(command, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (times: number[]): number => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;

/**
 * The median of `runs` runs of each command, their runs interleaved (a, b, a, b, ...): this shared
 * machine's speed drifts by a fifth within seconds, and back-to-back blocks of 15 read that drift as a
 * difference between the commands.
 */
function interleavedMediansMs(commands: ReadonlyArray<[string, string[]]>, runs: number): number[] {
  const times = commands.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, [command, args]] of commands.entries()) times[k]!.push(runMs(command, args));
  }
  return times.map(median);
}

/**
 * Peak RSS of one stress run in a child. `pinYoungGeneration` fixes V8's new space at its 64-bit default
 * maximum (16 MiB semi-spaces) from the start: otherwise V8 grows it during the first second of heavy
 * allocation, and that warm-up would read as growth with the number of operations.
 */
function memoryRun(
  ops: number,
  pinYoungGeneration: boolean,
): { max_rss_kib: number; heap_used_bytes: number } {
  const flags = pinYoungGeneration ? ['--min-semi-space-size=16', '--max-semi-space-size=16'] : [];
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', ...flags, path.join(here, 'stress-memory.js'), String(ops)],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`stress-memory ${ops} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

console.log(`memregion bench — node ${process.version}, ${process.arch}\n`);

console.log(
  '1. provider over a zero-latency, always-successful firmware (real clock, one request at a time)',
);
const t = await providerThroughput(300_000);
const ratio = t.bestBare / t.bestProvider;
line('bare loop (await firmware.call)', `${Math.round(t.bestBare).toLocaleString('en')} calls/s`);
line(
  'cpu_cache_invalidate_memregion (v2)',
  `${Math.round(t.bestProvider).toLocaleString('en')} invalidations/s`,
);
line('ratio bare / provider (target <= 1.5)', `${ratio.toFixed(2)}  ${verdict(ratio <= 1.5)}`);

console.log(
  '\n2. coalescing: firmware calls for a burst of N concurrent requests (global firmware, virtual time)',
);
for (const n of [1, 16, 256, 4096]) {
  const batched = await burstCalls('batched', n);
  const v2 = await burstCalls('v2', n);
  const running = await burstWhileRunning('batched', n);
  line(
    `N=${n}`,
    `batched ${batched} (burst during a running call: ${running}), v2 ${v2}, minimum 1  ${verdict(batched <= 2 && running <= 2)}`,
  );
}

console.log('\n3. stress --virtual-time, 64 workers, global firmware, v2, --verify');
const sim = await simulatedRate(200_000);
line(
  'simulated requests per CPU second',
  `${Math.round(sim.ops / sim.cpuSeconds).toLocaleString('en')} (${sim.ops} requests, ${sim.simulatedSeconds.toFixed(2)} s simulated in ${sim.cpuSeconds.toFixed(2)} s CPU)`,
);

console.log(
  '\n4. CLI start-up: memregion profiles --json against node -e 0 (median of 15 each, runs interleaved)',
);
const [nodeMs, cliMs] = interleavedMediansMs(
  [
    [process.execPath, ['-e', '0']],
    [process.execPath, [path.join(repo, 'bin/memregion'), 'profiles', '--json']],
  ],
  15,
) as [number, number];
line('node -e 0', `${nodeMs.toFixed(1)} ms`);
line('memregion profiles --json', `${cliMs.toFixed(1)} ms`);
line('ratio (target <= 1.5)', `${(cliMs / nodeMs).toFixed(2)}  ${verdict(cliMs / nodeMs <= 1.5)}`);

console.log(
  '\n5. memory of a virtual-time stress run (64 workers, batched, --verify): 1e5 against 1e6 operations',
);
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const small = memoryRun(100_000, true);
const large = memoryRun(1_000_000, true);
const growth = large.max_rss_kib / small.max_rss_kib - 1;
line('peak RSS at 1e5 ops (young gen pinned)', mib(small.max_rss_kib));
line('peak RSS at 1e6 ops (young gen pinned)', mib(large.max_rss_kib));
line('growth (target within 10%)', `${(growth * 100).toFixed(1)}%  ${verdict(Math.abs(growth) <= 0.1)}`);
const smallDefault = memoryRun(100_000, false);
const largeDefault = memoryRun(1_000_000, false);
const plateau = memoryRun(3_000_000, false);
line(
  'same with default V8 flags: 1e5 / 1e6 / 3e6',
  `${mib(smallDefault.max_rss_kib)} / ${mib(largeDefault.max_rss_kib)} / ${mib(plateau.max_rss_kib)} (new-space warm-up, then flat)`,
);
line(
  'heap after GC: 1e5 / 1e6 / 3e6',
  [smallDefault, largeDefault, plateau]
    .map((r) => `${(r.heap_used_bytes / 2 ** 20).toFixed(2)} MiB`)
    .join(' / '),
);

const { probeBench } = await import('./probe.js');
probeBench();
// In a fresh process, as `memregion stress` runs: after the sections above, V8's compiled code and heap
// carry their shapes, and the simulator read 1.4M instead of 2.1M on one of its points in one run.
const simulator = spawnSync(process.execPath, [path.join(here, 'simulator-run.js'), '7.'], {
  stdio: 'inherit',
});
if (simulator.status !== 0) throw new Error(`simulator section exited ${simulator.status}`);
