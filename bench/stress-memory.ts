// Child of the bench: one virtual-time stress run of N operations; prints peak RSS and heap as JSON.
import { Random } from '../src/core/random.js';
import { StressRun } from '../src/stress/engine.js';
import { stack } from './emulation.js';

const ops = Number(process.argv[2] ?? 100_000);
const { clock, framework, firmware, provider } = await stack('batched', {}, true);
const run = new StressRun(
  {
    clock,
    coalescing: provider.coalescing,
    invalidate: (start, size) => framework.invalidateMemregion(start, size),
    firmwareCalls: () => Object.fromEntries(firmware.invalidateCalls),
  },
  {
    workers: 64,
    ops,
    durationMs: null,
    range: { pattern: 'random', base: 0x8000_0000n, size: 4096n, span: 1n << 30n },
    verify: true,
    signal: new AbortController().signal,
  },
  new Random(7),
);
const snapshot = await run.run();
globalThis.gc?.();
process.stdout.write(
  `${JSON.stringify({
    ops,
    completed: snapshot.completed,
    max_rss_kib: process.resourceUsage().maxRSS,
    heap_used_bytes: process.memoryUsage().heapUsed,
  })}\n`,
);
