/**
 * Session 4 hostile audit: output paths a careless or hostile user can set up for a root memregion.
 * - A symlink planted by another user in a sticky world-writable folder (/tmp) must not make root write
 *   where the link points: the kernel refuses to follow it (fs/namei.c may_follow_link(), the
 *   protected_symlinks rule), and a root `>` redirection with that rule fails with EACCES; memregion
 *   resolves links itself, so it must apply the rule itself.
 * - `--output` and `--hdr-log` naming one file through a link or a hard link: refused (64), as the same
 *   spelling is, instead of one write clobbering the other.
 * (Runs as root in CI: lchown needs it.)
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lchownSync,
  linkSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertExit, assertRefused, BIN, emu, NODE, scratchDir } from '../helpers/cli.js';
import { spawnBounded } from '../helpers/spawn.js';

const NOBODY = 65534;

/** A folder like /tmp (sticky, world-writable) holding `link` → `victim`, the link owned by `owner`. */
function plantedLink(owner: number): { dir: string; link: string; victim: string } {
  const dir = scratchDir('sticky');
  chmodSync(dir, 0o1777);
  const victim = path.join(scratchDir('victim'), 'shadow');
  writeFileSync(victim, 'precious\n');
  const link = path.join(dir, 'report.json');
  symlinkSync(victim, link);
  lchownSync(link, owner, owner);
  return { dir, link, victim };
}

describe('hostile output paths (session 4)', () => {
  test("--output through another user's link in a sticky world-writable folder: 73, the target untouched", async () => {
    const { link, victim } = plantedLink(NOBODY);
    const r = await emu(['--json', '--output', link, 'probe']);
    assertRefused(r, 73, /cannot create the output file .*EACCES.*another user/);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  });

  test("--hdr-log through another user's link in a sticky folder: refused before the run (73)", async () => {
    const { link, victim } = plantedLink(NOBODY);
    const r = await emu(['stress', '--ops', '10', '--hdr-log', link]);
    assertRefused(r, 73, /--hdr-log file .*EACCES/);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  });

  test('a link of our own in a sticky folder is still followed', async () => {
    const { link, victim } = plantedLink(process.getuid?.() ?? 0);
    assertExit(await emu(['--json', '--output', link, 'probe']), 0);
    assert.equal(JSON.parse(readFileSync(victim, 'utf8')).supported, true);
  });

  test("a link in a sticky folder owned by the folder's owner is followed (the kernel allows it)", async () => {
    const { dir, link, victim } = plantedLink(NOBODY);
    lchownSync(dir, NOBODY, NOBODY);
    assertExit(await emu(['--json', '--output', link, 'probe']), 0);
    assert.equal(JSON.parse(readFileSync(victim, 'utf8')).supported, true);
  });

  test('--output a link to the --hdr-log file: 64 before the run, both files untouched', async () => {
    const dir = scratchDir('same');
    const log = path.join(dir, 'run.hlog');
    writeFileSync(log, 'old log\n');
    const link = path.join(dir, 'report.json');
    symlinkSync('run.hlog', link);
    const r = await emu(['--json', '--output', link, 'stress', '--ops', '10', '--hdr-log', log]);
    assertRefused(r, 64, /--hdr-log and --output name the same file/);
    assert.equal(readFileSync(log, 'utf8'), 'old log\n');
  });

  test('--output a new path behind a dangling link, --hdr-log that path: 64', async () => {
    const dir = scratchDir('same-new');
    const link = path.join(dir, 'report.json');
    symlinkSync('run.hlog', link);
    const r = await emu([
      '--json',
      '--output',
      link,
      'stress',
      '--ops',
      '10',
      '--hdr-log',
      path.join(dir, 'run.hlog'),
    ]);
    assertRefused(r, 64, /the same file/);
    assert.equal(existsSync(path.join(dir, 'run.hlog')), false);
  });

  test('--output a hard link of the --hdr-log file: 64', async () => {
    const dir = scratchDir('same-hard');
    const log = path.join(dir, 'run.hlog');
    writeFileSync(log, 'old log\n');
    linkSync(log, path.join(dir, 'report.json'));
    const r = await emu([
      '--json',
      '--output',
      path.join(dir, 'report.json'),
      'stress',
      '--ops',
      '10',
      '--hdr-log',
      log,
    ]);
    assertRefused(r, 64, /the same file/);
    assert.equal(readFileSync(log, 'utf8'), 'old log\n');
  });

  test('a relative --output in a folder that was deleted: 73 with one line, not an internal error', async () => {
    const dir = scratchDir('gone');
    // The shell removes its own working folder before memregion starts in it.
    const gone = await spawnBounded('sh', [
      '-c',
      'cd "$1" && rmdir "$1" && exec "$2" "$3" -b emulated --output report.json probe',
      'sh',
      dir,
      NODE,
      BIN,
    ]);
    assert.equal(gone.exitCode, 73, String(gone.stderr));
    assert.match(
      String(gone.stderr),
      /^memregion: cannot create the output file "report.json" \(ENOENT: the current folder no longer exists\)$/,
    );
  });

  // Session 8: the result replaced the very profile it was made from.
  test('--output or --hdr-log naming the --profile file (itself, a link, a hard link): 64, the profile untouched', async () => {
    const profile = path.join(scratchDir('lab'), 'lab.json');
    const text = '{ "name": "lab", "timing": { "call_us": 10 } }\n';
    writeFileSync(profile, text);
    const link = path.join(path.dirname(profile), 'link.json');
    symlinkSync(profile, link);
    const hard = path.join(path.dirname(profile), 'hard.json');
    linkSync(profile, hard);
    for (const target of [profile, link, hard]) {
      assertRefused(
        await emu(['--profile', profile, '--json', '--output', target, 'regions']),
        64,
        /^memregion: --output ".*" is the --profile file: writing there would replace the profile$/,
      );
    }
    assertRefused(
      await emu(['--profile', link, 'stress', '--virtual-time', '--ops', '5', '--hdr-log', profile]),
      64,
      /^memregion: --hdr-log ".*" is the --profile file/,
    );
    assert.equal(readFileSync(profile, 'utf8'), text);
    // Another file next to it is written as before.
    assertExit(await emu(['--profile', profile, '--json', '--output', `${profile}.out`, 'regions']), 0);
  });
});
