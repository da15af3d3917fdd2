// The simulator section of `npm run bench` in a process of its own (see bench/index.ts).
import { simulatorSection } from './simulator.js';

await simulatorSection(process.argv[2] ?? '7.');
