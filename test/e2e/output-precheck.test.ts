/**
 * `--output` is checked before a command does its work: an erase, an invalidation or a long stress run
 * whose report has nowhere to go is refused first (73 cannot create, 74 cannot write), not done and then
 * reported as failed. A FIFO is opened at the check and held: its reader still gets the whole report.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { assertExit, assertRefused, cli, emu, ROOT, scratchDir } from '../helpers/cli.js';

/** A copy of the CXL fixture tree, and its mem1 sanitize attribute, which an erase writes. */
function cxlTree(): { root: string; sanitize: string } {
  const root = path.join(scratchDir('precheck-root'), 'root');
  cpSync(path.join(ROOT, 'test/fixtures/cxl'), root, { recursive: true, verbatimSymlinks: true });
  return { root, sanitize: path.join(root, 'sys/bus/cxl/devices/mem1/security/sanitize') };
}

const eraseMem1 = (root: string, output: string) =>
  cli(['--root', root, '--json', 'erase', 'mem1', '--yes', '--timeout', '2s', '--output', output]);

function mkfifo(): string {
  const fifo = path.join(scratchDir('precheck-fifo'), 'report');
  execFileSync('mkfifo', [fifo]);
  return fifo;
}

describe('--output is checked before the work', { concurrency: 4 }, () => {
  test('erase (sysfs) into a missing folder: 73, and the sanitize attribute is never written', async () => {
    const { root, sanitize } = cxlTree();
    const r = await eraseMem1(root, path.join(root, 'no-such-folder', 'erase.json'));
    assertRefused(r, 73, /cannot create the output file .*no-such-folder.*ENOENT/);
    assert.equal(readFileSync(sanitize, 'utf8'), '', 'no sanitize was started');
  });

  test('erase (sysfs) into a FIFO nobody reads: 74 at once, nothing written', async () => {
    const { root, sanitize } = cxlTree();
    const r = await eraseMem1(root, mkfifo());
    assertRefused(r, 74, /ENXIO: no reader/);
    assert.equal(readFileSync(sanitize, 'utf8'), '');
  });

  test('erase (sysfs) into a directory: 74, nothing written', async () => {
    const { root, sanitize } = cxlTree();
    assertRefused(await eraseMem1(root, scratchDir('precheck-dir')), 74, /a directory/);
    assert.equal(readFileSync(sanitize, 'utf8'), '');
  });

  test('erase (sysfs) to /dev/tty with no terminal: 74 at once, nothing written', async () => {
    // The CLI runs in a session of its own (the helper spawns it detached): it has no controlling terminal.
    const { root, sanitize } = cxlTree();
    assertRefused(await eraseMem1(root, '/dev/tty'), 74, /cannot write the output file "\/dev\/tty" \(ENXIO/);
    assert.equal(readFileSync(sanitize, 'utf8'), '');
  });

  test('a FIFO with a reader gets the whole report: the early open does not hand it an end of file', async () => {
    const { root, sanitize } = cxlTree();
    const fifo = mkfifo();
    const reader = execa('cat', [fifo], { timeout: 30_000, reject: false });
    const r = await eraseMem1(root, fifo);
    const read = await reader;
    assertExit(r, 0);
    assert.equal(read.exitCode, 0);
    const doc = JSON.parse(read.stdout);
    assert.equal(doc.memdev, 'mem1');
    assert.equal(readFileSync(sanitize, 'utf8'), '1\n', 'the erase ran');
  });

  test('emulated erase, invalidate --region and stress refuse an uncreatable --output before running', async () => {
    const missing = path.join(scratchDir('precheck-emu'), 'gone', 'out.json');
    for (const args of [
      ['erase', 'mem0', '--yes'],
      ['erase', '--region', 'region0', '--recommit', '--yes'],
      ['invalidate', '--region', 'region0', '--yes'],
      // A run that would take far longer than the test's bound if it started.
      ['stress', '--virtual-time', '--ops', '1000000000000'],
    ]) {
      const r = await emu([
        '--profile',
        path.join(ROOT, 'examples/interleaved.json'),
        ...args,
        '--output',
        missing,
      ]);
      assertRefused(r, 73, /cannot create the output file/);
      assert.equal(r.stdout, '', `${args.join(' ')}: no report on stdout`);
    }
    assert.throws(() => statSync(path.dirname(missing)), /ENOENT/, 'no folder was made');
  });
});
