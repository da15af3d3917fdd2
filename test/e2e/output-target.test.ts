/**
 * Issue 7, findings 3 and 13: `--output` replaces only what a careful Unix tool would. A regular file
 * (or a new path) is replaced atomically, keeping its mode and owner; a symlink is followed, its target
 * replaced and the link kept; a character device or FIFO is written in place as a shell redirection
 * would; a directory is refused (74); a file that cannot be created is 73; `--output ''` is 64.
 * (Runs as root in CI: mknod and chown need it.)
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { assertExit, assertRefused, describeResult, emu, parseJson, scratchDir } from '../helpers/cli.js';
import { spawnBounded } from '../helpers/spawn.js';

const probeJson = (target: string) => emu(['--json', '--output', target, 'probe']);

/** A regular file holding what `probe --json` prints. */
function assertProbeDocument(file: string): void {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(doc.supported, true);
}

describe('--output targets (issue 7 findings 3, 13)', () => {
  test('a 0600 file owned by another user stays 0600 and keeps its owner; no temporary is left', async () => {
    const dir = scratchDir('out-mode');
    const target = path.join(dir, 'secret.json');
    writeFileSync(target, 'old\n');
    chmodSync(target, 0o600);
    chownSync(target, 1234, 2345);
    const r = await probeJson(target);
    assertExit(r, 0);
    assert.equal(r.stdout, '');
    const info = statSync(target);
    assert.equal(info.mode & 0o7777, 0o600, 'mode kept');
    assert.deepEqual([info.uid, info.gid], [1234, 2345], 'owner kept');
    assertProbeDocument(target);
    assert.deepEqual(readdirSync(dir), ['secret.json']);
  });

  test('a new path is created (0644 under the usual umask)', async () => {
    const target = path.join(scratchDir('out-new'), 'new.json');
    assertExit(await probeJson(target), 0);
    assertProbeDocument(target);
    assert.equal(statSync(target).mode & 0o777, 0o644);
  });

  test('a symlink is followed: its target is replaced, the link stays a link', async () => {
    const dir = scratchDir('out-link');
    const real = path.join(dir, 'real.json');
    const link = path.join(dir, 'link.json');
    writeFileSync(real, 'old\n');
    chmodSync(real, 0o640);
    symlinkSync('real.json', link);
    assertExit(await probeJson(link), 0);
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a link');
    assert.equal(readlinkSync(link), 'real.json');
    assertProbeDocument(real);
    assert.equal(statSync(real).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(dir).sort(), ['link.json', 'real.json']);
  });

  test('a dangling symlink: its target is created, the link stays', async () => {
    const dir = scratchDir('out-dangling');
    symlinkSync('made.json', path.join(dir, 'link.json'));
    assertExit(await probeJson(path.join(dir, 'link.json')), 0);
    assert.ok(lstatSync(path.join(dir, 'link.json')).isSymbolicLink());
    assertProbeDocument(path.join(dir, 'made.json'));
  });

  test('a copy of /dev/null made with mknod stays a character device', async () => {
    const dir = scratchDir('out-null');
    const node = path.join(dir, 'null');
    await execa('mknod', [node, 'c', '1', '3']);
    const r = await probeJson(node);
    assertExit(r, 0);
    assert.equal(r.stdout, '');
    assert.ok(statSync(node).isCharacterDevice(), describeResult(r));
    assert.deepEqual(readdirSync(dir), ['null']);
  });

  test('a copy of /dev/full: 74 with one line (ENOSPC), the device stays', async () => {
    const dir = scratchDir('out-full');
    const node = path.join(dir, 'full');
    await execa('mknod', [node, 'c', '1', '7']);
    const r = await probeJson(node);
    assertRefused(r, 74, /ENOSPC/);
    assert.ok(statSync(node).isCharacterDevice());
  });

  test('a FIFO with a reader gets the document, in place', async () => {
    const fifo = path.join(scratchDir('out-fifo'), 'fifo');
    await execa('mkfifo', [fifo]);
    // Bounded: if memregion never opened the FIFO, the reader would wait for a writer forever.
    const reader = spawnBounded('cat', [fifo], {}, 30_000);
    // The reader opens the FIFO in its own time: retry until memregion finds it there.
    let r = await probeJson(fifo);
    for (let i = 0; i < 50 && r.exitCode === 74; i++) r = await probeJson(fifo);
    assertExit(r, 0);
    const received = String((await reader).stdout);
    assert.equal(JSON.parse(received).supported, true);
    assert.ok(statSync(fifo).isFIFO());
  });

  test('a FIFO nobody reads: 74 at once with one line (no hang)', async () => {
    const fifo = path.join(scratchDir('out-fifo-alone'), 'fifo');
    await execa('mkfifo', [fifo]);
    assertRefused(await emu(['--json', '--output', fifo, 'probe'], { timeoutMs: 20_000 }), 74, /no reader/);
    assert.ok(statSync(fifo).isFIFO());
  });

  test('a directory: 74, one line, the directory untouched', async () => {
    const dir = scratchDir('out-dir');
    mkdirSync(path.join(dir, 'sub'));
    assertRefused(await probeJson(path.join(dir, 'sub')), 74, /directory/);
    assert.deepEqual(readdirSync(path.join(dir, 'sub')), []);
  });

  test("--output '': 64 before any work", async () => {
    assertRefused(await emu(['--json', '--output', '', 'probe']), 64, /--output/);
  });

  test('a folder that does not exist: 73 (cannot create)', async () => {
    const r = await probeJson(path.join(scratchDir('out-missing'), 'none', 'x.json'));
    assertRefused(r, 73, /cannot create/);
  });

  test('/dev/stdout goes to stdout (the link is followed, nothing replaced)', async () => {
    const r = await emu(['--json', '--output', '/dev/stdout', 'probe']);
    assertExit(r, 0);
    assert.equal(parseJson(r).supported, true);
    assert.ok(lstatSync('/dev/stdout').isSymbolicLink());
    assert.equal(r.stderr, '', describeResult(r));
  });
});
