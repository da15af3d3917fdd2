// The probe section of `npm run bench` (issue 10): `memregion probe --json` on this machine against its
// I/O floor, and its peak RSS against `memregion profiles --json`. Figures vary with the machine and its
// load; the tests never assert them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = path.join(repo, 'bin/memregion');
const RUNS = 15;

const line = (label: string, value: string) => console.log(`  ${label.padEnd(44)} ${value}`);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Wall time of one run; probe exits 69 or 77 on an unsupported or unknown machine, which is fine here. */
function wallMs(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], env });
  const elapsed = performance.now() - t0;
  if (result.status === null || ![0, 69, 77].includes(result.status))
    throw new Error(`node ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr}`);
  return elapsed;
}

/** Peak RSS in KiB, as the child's own process.resourceUsage() says at exit (the hook in rss-hook.js). */
function peakRssKib(args: string[]): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'memregion-bench-'));
  try {
    const report = path.join(dir, 'rss');
    wallMs(['--import', path.join(here, 'rss-hook.js'), ...args], {
      ...process.env,
      MEMREGION_BENCH_RSS_FILE: report,
    });
    return Number(readFileSync(report, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function probeBench(): void {
  console.log(
    `\n6. memregion probe --json (sysfs backend, real /) against its I/O floor (median of ${RUNS}, interleaved)`,
  );
  const node: number[] = [];
  const floor: number[] = [];
  const probe: number[] = [];
  const probeArgs = [bin, 'probe', '--json'];
  for (let i = 0; i < RUNS; i++) {
    node.push(wallMs(['-e', '0']));
    floor.push(wallMs([path.join(here, 'probe-floor.js')]));
    probe.push(wallMs(probeArgs));
  }
  const floorMs = median(floor);
  const probeMs = median(probe);
  line('node -e 0', `${median(node).toFixed(1)} ms`);
  line('floor: node reading the evidence files', `${floorMs.toFixed(1)} ms`);
  line('memregion probe --json', `${probeMs.toFixed(1)} ms`);
  line(
    'ratio probe / floor (target <= 1.5)',
    `${(probeMs / floorMs).toFixed(2)}  ${verdict(probeMs / floorMs <= 1.5)}`,
  );

  const probeRss: number[] = [];
  const profilesRss: number[] = [];
  for (let i = 0; i < 5; i++) {
    probeRss.push(peakRssKib(probeArgs));
    profilesRss.push(peakRssKib([bin, 'profiles', '--json']));
  }
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const rssRatio = median(probeRss) / median(profilesRss);
  line('peak RSS: memregion profiles --json', mib(median(profilesRss)));
  line('peak RSS: memregion probe --json', mib(median(probeRss)));
  line('ratio probe / profiles (target <= 1.3)', `${rssRatio.toFixed(2)}  ${verdict(rssRatio <= 1.3)}`);
}
