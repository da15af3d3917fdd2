// Child of the bench: one virtual-time stress run of N operations; prints peak RSS and heap as JSON.
import { stack, stressRun } from './emulation.js';

const ops = Number(process.argv[2] ?? 100_000);
const snapshot = await stressRun(await stack('batched', {}, true), ops, 7).run();
globalThis.gc?.();
process.stdout.write(
  `${JSON.stringify({
    ops,
    completed: snapshot.completed,
    max_rss_kib: process.resourceUsage().maxRSS,
    heap_used_bytes: process.memoryUsage().heapUsed,
  })}\n`,
);
