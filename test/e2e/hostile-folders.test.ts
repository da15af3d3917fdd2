/**
 * Session 5 hostile audit: folders memregion makes, and a wait it cannot honour.
 * - `trace` with TMPDIR below /proc or /sys spun forever at full CPU, deaf to SIGTERM (Node 20's recursive
 *   mkdir retries an ENOENT there without end); with a missing TMPDIR it made that folder, as root,
 *   anywhere; with a long TMPDIR libuv cut the socket path short, so the socket landed in the folder
 *   above its private one; a folder others can write was an "internal error" (70).
 * - `collect` with an unusable TMPDIR was an internal error; `lab --out /proc/x` would have spun after
 *   the whole VM run.
 * - `erase memN --timeout 0` started the erase and gave up on it at once (75 after a destructive write).
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertRefused, cli, emu, ROOT, scratchDir } from '../helpers/cli.js';

/** Bound of every run here: each answers in well under a second; only a hang gets there. */
const BOUND = { timeoutMs: 20_000 };

const traceWith = (tmpdir: string) =>
  emu(['trace', '--duration', '1s'], { ...BOUND, env: { TMPDIR: tmpdir } });

describe('folders memregion makes (session 5)', { concurrency: 4 }, () => {
  test('trace with TMPDIR=/proc: 73 with one line, not a spin that ignores signals', async () => {
    assertRefused(
      await traceWith('/proc'),
      73,
      /cannot create \/proc\/memregion-trace-\d+ \(ENOENT\).*TMPDIR/,
    );
  });

  test('trace with a TMPDIR that does not exist: 73, and the folder is not made', async () => {
    const missing = path.join(scratchDir('no-tmp'), 'missing');
    assertRefused(await traceWith(missing), 73, /cannot create .*missing\/memregion-trace-\d+ \(ENOENT\)/);
    assert.equal(existsSync(missing), false);
  });

  test('trace with a TMPDIR too long for a socket address: 73, nothing made in or above it', async () => {
    const parent = scratchDir('long-tmp');
    const long = path.join(parent, 'a'.repeat(100));
    mkdirSync(long);
    assertRefused(await traceWith(long), 73, /longer than a unix socket address holds \(107 bytes\)/);
    assert.deepEqual(readdirSync(parent), ['a'.repeat(100)]);
    assert.deepEqual(readdirSync(long), []);
  });

  test('trace through a per-user folder that others can write: 77 with one line, not an internal error', async () => {
    const tmp = scratchDir('open-tmp');
    const uid = process.getuid?.() ?? 0;
    const folder = path.join(tmp, `memregion-trace-${uid}`);
    mkdirSync(folder);
    chmodSync(folder, 0o777);
    assertRefused(await traceWith(tmp), 77, /is not a private directory of this user/);
  });

  test('collect with TMPDIR=/proc: 73 with one line', async () => {
    const r = await cli(['collect'], { ...BOUND, env: { TMPDIR: '/proc' } });
    assertRefused(r, 73, /cannot create a temporary folder in \/proc \(ENOENT\)/);
  });

  test('lab --out /proc/x: 73 before any VM is prepared', async () => {
    const r = await cli(['lab', '--out', '/proc/x', '--', 'true'], BOUND);
    assertRefused(r, 73, /cannot create --out folder \/proc\/x \(ENOENT\)/);
  });
});

describe('erase --timeout 0 (session 5)', { concurrency: 2 }, () => {
  test('sysfs: 64 before the erase, the sanitize attribute never written', async () => {
    const root = path.join(scratchDir('timeout-root'), 'root');
    cpSync(path.join(ROOT, 'test/fixtures/cxl'), root, { recursive: true, verbatimSymlinks: true });
    const sanitize = path.join(root, 'sys/bus/cxl/devices/mem1/security/sanitize');
    for (const timeout of ['0', '0ms', '0.0s']) {
      const r = await cli(['--root', root, 'erase', 'mem1', '--yes', '--force', '--timeout', timeout], BOUND);
      assertRefused(r, 64, /--timeout must be more than 0/);
    }
    assert.equal(readFileSync(sanitize, 'utf8'), '', 'no sanitize was started');
  });

  test('emulated: 64 (it was 75, after starting the sanitize)', async () => {
    assertRefused(
      await emu(['erase', 'mem0', '--yes', '--timeout', '0'], BOUND),
      64,
      /--timeout must be more than 0/,
    );
  });
});
