// Preloaded into a bench child (node --import): writes the process's peak RSS (KiB) to the file named by
// MEMREGION_BENCH_RSS_FILE when it exits, however it exits.
import { writeFileSync } from 'node:fs';

const file = process.env.MEMREGION_BENCH_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
