/**
 * Spawns the built CLI (`node bin/memregion`) the way a script would: no TTY on any stream, NO_COLOR=1,
 * a clean environment (no MEMREGION_* or colour variables leak in from the runner), and a private
 * TMPDIR per run so that emulated `trace` sessions (sockets under $TMPDIR/memregion-trace-<uid>) never
 * see events from other tests or from anyone else's memregion on this machine.
 *
 * Run `npx tsc -p .` first: the tests exercise dist/ through bin/memregion, exactly as installed.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';
import { hasTimedOut, SPAWN_TIMEOUT_MS, spawnBounded } from './spawn.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'memregion');
export const NODE = process.execPath;

/** One folder for everything a test file creates; removed when the test process exits. */
const scratchRoot = mkdtempSync(path.join(os.tmpdir(), 'memregion-e2e-'));
process.on('exit', () => rmSync(scratchRoot, { recursive: true, force: true }));

let scratchCount = 0;
/** A fresh empty folder inside the scratch root. */
export function scratchDir(label = 'd'): string {
  scratchCount += 1;
  const dir = path.join(scratchRoot, `${label}-${scratchCount}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `content` (an object is JSON-encoded) to a new file in a fresh folder; returns its path. */
export function writeScratchFile(name: string, content: string | object): string {
  const file = path.join(scratchDir('file'), name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

export interface RunOptions {
  /** Variables to add; `undefined` removes one (e.g. `{ NO_COLOR: undefined }`). */
  env?: Record<string, string | undefined>;
  /**
   * Kill the child's whole process group after this long: a safety net against a hang, never an
   * assertion about speed. `cli()` then fails the test; a `spawnCli()` result says `timedOut`.
   */
  timeoutMs?: number;
  /** A file descriptor to give the child as its stdout instead of a pipe; the result's stdout is then ''. */
  stdout?: number;
}

export interface CliResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** The command line, for assertion messages. */
  command: string;
  /** The run was killed for taking longer than its timeout. */
  timedOut?: boolean;
}

/** The environment a child gets: the runner's, minus anything that would change memregion's behaviour. */
export function childEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('MEMREGION_') || key === 'NO_COLOR' || key === 'FORCE_COLOR' || key === 'NODE_OPTIONS')
      continue;
    if (key.startsWith('NODE_TEST')) continue;
    env[key] = value;
  }
  env.NO_COLOR = '1';
  env.TMPDIR = scratchDir('tmp');
  Object.assign(env, overrides);
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** A running `node bin/memregion`, as `spawnCli` starts it. */
export type CliChild = ResultPromise<{ reject: false }>;

/**
 * Starts `node bin/memregion ...args`; stdin is /dev/null, stdout (unless `options.stdout`) and stderr
 * are pipes. The child leads its own process group, which is killed (SIGKILL) after `timeoutMs`.
 */
export function spawnCli(args: string[], options: RunOptions = {}): CliChild {
  return spawnBounded(
    NODE,
    [BIN, ...args],
    {
      cwd: ROOT,
      extendEnv: false,
      env: childEnv(options.env),
      stdin: 'ignore',
      // execa hands any descriptor number to the child as it is; its types list only 1 to 9.
      stdout: (options.stdout ?? 'pipe') as 'pipe',
      stripFinalNewline: false,
    },
    options.timeoutMs ?? SPAWN_TIMEOUT_MS,
  );
}

/** Waits for a child of `spawnCli` to end; its result, labelled `command` for assertion messages. */
export async function finished(child: CliChild, command: string): Promise<CliResult> {
  const result = await child;
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout === undefined ? '' : String(result.stdout),
    stderr: String(result.stderr),
    command,
    timedOut: hasTimedOut(child),
  };
}

/** Runs `node bin/memregion ...args` to completion; a run that had to be killed fails the test. */
export async function cli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const r = await finished(spawnCli(args, options), `memregion ${args.join(' ')}`);
  if (r.timedOut)
    assert.fail(`hung: killed after ${options.timeoutMs ?? SPAWN_TIMEOUT_MS} ms\n${describeResult(r)}`);
  return r;
}

/** `cli` with stdout on `file`, opened for writing as a shell's `> file` opens it; the result's stdout is ''. */
export async function cliToFile(file: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  const fd = openSync(file, 'w');
  try {
    return await cli(args, { ...options, stdout: fd });
  } finally {
    closeSync(fd);
  }
}

/** `cli` with `-b emulated` in front. */
export const emu = (args: string[], options?: RunOptions) => cli(['-b', 'emulated', ...args], options);

export const describeResult = (r: CliResult) =>
  `${r.command}\n  exit ${r.exitCode}${r.signal ? ` (signal ${r.signal})` : ''}${r.timedOut ? ' (timed out)' : ''}\n  stdout: ${JSON.stringify(r.stdout.slice(0, 2000))}\n  stderr: ${JSON.stringify(r.stderr.slice(0, 2000))}`;

export function assertExit(r: CliResult, code: number): void {
  assert.equal(r.exitCode, code, `expected exit ${code}\n${describeResult(r)}`);
}

const FRAME = /^\s+at /m;

/** stderr is exactly one `memregion: ...` line and no stack frame. */
export function assertOneErrorLine(r: CliResult, pattern?: RegExp): void {
  const lines = r.stderr.split('\n');
  assert.equal(lines.at(-1), '', `stderr must end with a newline\n${describeResult(r)}`);
  assert.equal(lines.length, 2, `stderr must be exactly one line\n${describeResult(r)}`);
  assert.match(lines[0]!, /^memregion: \S/, `stderr must start with "memregion: "\n${describeResult(r)}`);
  assert.doesNotMatch(r.stderr, FRAME, `stack trace on stderr\n${describeResult(r)}`);
  assert.doesNotMatch(r.stderr, /internal error/, `internal error on stderr\n${describeResult(r)}`);
  if (pattern) assert.match(lines[0]!, pattern, describeResult(r));
}

/** A refusal: the exit code, nothing on stdout, one error line on stderr. */
export function assertRefused(r: CliResult, code: number, pattern?: RegExp): void {
  assertExit(r, code);
  assert.equal(r.stdout, '', `stdout must be empty\n${describeResult(r)}`);
  assertOneErrorLine(r, pattern);
}

/** A JSON document as the CLI printed it: the tests check it field by field. */
// biome-ignore lint/suspicious/noExplicitAny: parsed output, asserted field by field
export type Doc = any;

/** stdout is exactly one JSON document (and only that); returns it. */
export function parseJson<T = Doc>(r: CliResult): T {
  assert.ok(r.stdout.endsWith('\n'), `JSON output must end with a newline\n${describeResult(r)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch (error) {
    assert.fail(`stdout is not one JSON document (${(error as Error).message})\n${describeResult(r)}`);
  }
  assert.ok(
    doc !== null && typeof doc === 'object' && !Array.isArray(doc),
    `the JSON document must be an object\n${describeResult(r)}`,
  );
  return doc as T;
}

export const ANSI = /\u001b\[[0-9;]*m/;
export const HEX_ADDRESS = /^0x[0-9a-f]+$/;
export const DECIMAL = /^(0|[1-9][0-9]*)$/;
export const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Every object key, recursively, is snake_case (DESIGN §5), except inside the listed map-valued keys. */
export function assertSnakeCaseKeys(value: unknown, maps: readonly string[] = [], where = '$'): void {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) assertSnakeCaseKeys(item, maps, `${where}[${i}]`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    assert.match(key, SNAKE, `key ${where}.${key} is not snake_case`);
    if (!maps.includes(key)) assertSnakeCaseKeys(child, maps, `${where}.${key}`);
  }
}

/**
 * The same stress report without the fields that measure the host rather than the simulation: wall and
 * CPU seconds, simulated requests per CPU second, and wall-clock timestamps (started_at, finished_at).
 */
export function withoutHostMeasurements<T extends object>(report: T): Partial<T> {
  const {
    wall_s: _w,
    cpu_s: _c,
    simulated_requests_per_cpu_s: _s,
    started_at: _a,
    finished_at: _f,
    ...rest
  } = report as Record<string, unknown>;
  return rest as Partial<T>;
}

/** Waits until `predicate` holds for the text a stream has produced so far. */
export function waitForOutput(
  stream: NodeJS.ReadableStream | null,
  predicate: (text: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!stream) return reject(new Error('no stream'));
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (predicate(text)) {
        stream.off('data', onData);
        resolve(text);
      }
    };
    stream.on('data', onData);
    stream.once('end', () =>
      reject(new Error(`stream ended before the expected output; got: ${JSON.stringify(text)}`)),
    );
  });
}

/** The CXL regions of a `regions` document (it may list memdevs and other targets too). */
export const cxlRegions = (doc: { regions: Array<{ kind?: string }> }): Doc[] =>
  doc.regions.filter((r) => r.kind === 'cxl_region');

/** A region's commit state, as `committed: true` (regions) or `status`/`commit: "committed"` (invalidate --region). */
export const isCommitted = (region: { commit?: unknown; committed?: unknown; status?: unknown }): boolean =>
  region.committed === true || region.commit === 'committed' || region.status === 'committed';
