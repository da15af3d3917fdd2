import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
const bin = path.join(repo, 'bin', 'memregion');

/** A boot's results: the lab's summary and what the guest script left in $LAB_OUT. */
export interface Scenario {
  summary: {
    kernel: { release: string };
    qemu: { version: string };
    topology: { cxl: { kind: string; serial: string; memdev: string | null }[] };
    modules: { loaded: string[]; missing: string[]; failed: string[] };
    command: { exit_code: number; stdout: string };
    duration_ms: { prepare: number; boot: number; command: number; total: number };
  };
  out: string;
  wallMs: number;
  text(name: string): Promise<string>;
  json<T = Record<string, unknown>>(name: string): Promise<T>;
  /** Exit code of `run NAME ...` in the guest. */
  rc(name: string): Promise<number>;
}

/** A VM boot may take minutes under TCG on a loaded 2-core machine; a hung one must still end the test. */
const BOOT_LIMIT_MS = 15 * 60_000;

/** Boots one VM through `memregion lab --json` and runs a scenario script (guest/lib.sh + guest/NAME.sh) in it. */
export async function bootScenario(script: string, labArgs: string[]): Promise<Scenario> {
  const out = await mkdtemp(path.join(tmpdir(), `memregion-kernel-${script}-`));
  const body = [
    await readFile(path.join(here, 'guest', 'lib.sh'), 'utf8'),
    await readFile(path.join(here, 'guest', `${script}.sh`), 'utf8'),
  ].join('\n');
  const started = Date.now();
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
    (resolve) => {
      execFile(
        process.execPath,
        [bin, 'lab', '--json', '--out', out, ...labArgs, '--', 'sh', '-c', body],
        { timeout: BOOT_LIMIT_MS, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
        (error, stdout, stderr) =>
          resolve({ stdout, stderr, code: error ? ((error as { code?: number }).code ?? null) : 0 }),
      );
    },
  );
  if (!stdout.trim().startsWith('{')) {
    throw new Error(
      `memregion lab ${script} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  const summary = JSON.parse(stdout) as Scenario['summary'];
  const text = (name: string) => readFile(path.join(out, name), 'utf8');
  return {
    summary,
    out,
    wallMs: Date.now() - started,
    text,
    json: async <T>(name: string) => JSON.parse(await text(`${name}.out`)) as T,
    rc: async (name: string) => Number((await text(`${name}.rc`)).trim()),
  };
}

/** One line for the run's log: which kernel, how long. */
export const timing = (name: string, s: Scenario) =>
  `${name}: Linux ${s.summary.kernel.release}, QEMU ${s.summary.qemu.version}, wall ${(s.wallMs / 1000).toFixed(0)} s (boot ${(s.summary.duration_ms.boot / 1000).toFixed(0)} s, scenario ${(s.summary.duration_ms.command / 1000).toFixed(0)} s)`;

/**
 * With MEMREGION_CAPTURE_FIXTURES=1, a tree the guest collected (memregion-collect) becomes the fixture
 * test/fixtures/kernels/NAME, replacing the previous capture: how the committed trees were made.
 */
export async function captureFixture(tree: string, name: string): Promise<void> {
  if (process.env.MEMREGION_CAPTURE_FIXTURES !== '1') return;
  const { cp, rm: remove } = await import('node:fs/promises');
  const target = path.join(repo, 'test', 'fixtures', 'kernels', name);
  await remove(target, { recursive: true, force: true });
  await cp(tree, target, { recursive: true, verbatimSymlinks: true });
}
