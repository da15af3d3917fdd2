// npm run bench, the simulator (issue 10): `stress --virtual-time --verify` through the library API, as
// the CLI runs it, in simulated requests per CPU second (process.cpuUsage around the run), against the
// target of 2 million at 64 workers, and how flat the cost per request stays with the number of requests
// and of workers.
import { createBackend, stress } from '../src/api.js';

export const TARGET_REQ_PER_CPU_S = 2_000_000;

export interface SimulatorPoint {
  requests: number;
  workers: number;
  reqPerCpuS: number;
  cpuSeconds: number;
}

/** One seeded run of `requests` from `workers` on the global firmware, v2 provider, with --verify. */
export async function simulatorPoint(requests: number, workers: number): Promise<SimulatorPoint> {
  const backend = await createBackend({ backend: 'emulated', profile: 'global', seed: 3, virtualTime: true });
  try {
    const cpu0 = process.cpuUsage();
    const report = await stress(backend, { workers, ops: requests, verify: true });
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (report.requests.issued !== requests)
      throw new Error(`simulator bench: ${report.requests.issued} issued`);
    return { requests, workers, cpuSeconds, reqPerCpuS: requests / cpuSeconds };
  } finally {
    await backend.close();
  }
}

/** A point's first run in this process, and the best of `rounds` runs after it. */
interface MeasuredPoint extends SimulatorPoint {
  first: SimulatorPoint;
}

/**
 * The first run at a new shape (number of workers) gives V8 feedback the earlier ones did not, and it
 * deoptimizes and recompiles the hot functions during it (`--trace-deopt`: about 15 of them at 100,000
 * workers). That is a cost once per process, not per request: an hour of simulated time (3.6e8
 * requests) never sees it. So every point is measured the same way: its first run is kept apart (and
 * printed), and the figure is the best of `rounds` runs after it (the machine is shared: the best is the
 * least disturbed).
 */
async function measure(requests: number, workers: number, rounds: number): Promise<MeasuredPoint> {
  const first = await simulatorPoint(requests, workers);
  let top: SimulatorPoint | null = null;
  for (let i = 0; i < rounds; i++) {
    const point = await simulatorPoint(requests, workers);
    if (!top || point.reqPerCpuS > top.reqPerCpuS) top = point;
  }
  return { ...top!, first };
}

/** requests, workers, and the runs after the first to take the best of (short runs are the noisiest). */
const SWEEP_REQUESTS: Array<[number, number, number]> = [
  [100_000, 64, 5],
  [1_000_000, 64, 3],
  [10_000_000, 64, 2],
];
const SWEEP_WORKERS: Array<[number, number, number]> = [
  [1_000_000, 8, 3],
  [1_000_000, 1000, 3],
  [1_000_000, 10_000, 3],
  [1_000_000, 100_000, 3],
];

export async function simulatorSection(heading: string): Promise<void> {
  console.log(
    `\n${heading} stress --virtual-time --verify: simulated requests per CPU second (global firmware, v2)`,
  );
  const row = (cells: string[]) =>
    console.log(`  ${cells.map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(12))).join(' ')}`);
  row(['requests', 'workers', 'req/CPU-s', 'vs target', 'vs 1e5x64', 'first run']);
  // Warm-up: compiled code, not start-up, is what is measured.
  for (let i = 0; i < 2; i++) await simulatorPoint(1_000_000, 64);
  const points: MeasuredPoint[] = [];
  for (const [requests, workers, rounds] of [...SWEEP_REQUESTS, ...SWEEP_WORKERS]) {
    points.push(await measure(requests, workers, rounds));
  }
  const reference = points[0]!.reqPerCpuS;
  for (const p of points) {
    row([
      p.requests.toExponential(0).replace('+', ''),
      String(p.workers),
      Math.round(p.reqPerCpuS).toLocaleString('en'),
      (p.reqPerCpuS / TARGET_REQ_PER_CPU_S).toFixed(2),
      (p.reqPerCpuS / reference).toFixed(2),
      Math.round(p.first.reqPerCpuS).toLocaleString('en'),
    ]);
  }
  console.log(
    '  req/CPU-s: best of the runs after the first at that shape; first run: the one that paid for recompiling',
  );
  const at64 = Math.min(...points.filter((p) => p.workers === 64).map((p) => p.reqPerCpuS));
  const flat = Math.min(...points.map((p) => p.reqPerCpuS)) / Math.max(...points.map((p) => p.reqPerCpuS));
  console.log(
    `  64 workers: ${Math.round(at64).toLocaleString('en')} req/CPU-s at worst (target >= ${TARGET_REQ_PER_CPU_S.toLocaleString('en')})  ${at64 >= TARGET_REQ_PER_CPU_S ? 'PASS' : 'MISS'}`,
  );
  console.log(`  flatness: slowest / fastest point ${flat.toFixed(2)} (1.00 is perfectly flat)`);
  // Context, not part of the sweep: at 1e6 requests each of 100,000 workers makes 10, so the objects every
  // worker makes once (and V8 promotes once) weigh on each request; over 1e7 they weigh a tenth as much.
  const long = await simulatorPoint(10_000_000, 100_000);
  console.log(
    `  100,000 workers over 1e7 requests (each worker's set-up spread over 100): ${Math.round(long.reqPerCpuS).toLocaleString('en')} req/CPU-s`,
  );
}
