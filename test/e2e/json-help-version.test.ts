/**
 * With --json (or --format json) stdout carries one JSON document (DESIGN §5), asked-for help and
 * --version included: a script that adds --json to every call can parse whatever it gets. Without it they
 * stay the plain text they always were.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertExit, cli, type Doc, parseJson, ROOT } from '../helpers/cli.js';

const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('--json with help and --version', () => {
  test('--json --version, in either order, -V, --format json: {"version"} alone on stdout, exit 0', async () => {
    const runs = [
      ['--json', '--version'],
      ['--version', '--json'],
      ['-V', '--json'],
      ['--format', 'json', '-V'],
      ['--format=json', '--version'],
      ['profiles', '--version', '--json'],
    ];
    for (const args of runs) {
      const r = await cli(args);
      assertExit(r, 0);
      assert.deepEqual(parseJson(r), { version }, args.join(' '));
      assert.equal(r.stderr, '');
    }
  });

  test('--version without --json, or with another format, is the plain version line', async () => {
    for (const args of [['--version'], ['--format', 'human', '--version'], ['--output', '--json', '-V']]) {
      const r = await cli(args);
      assertExit(r, 0);
      assert.equal(r.stdout, `${version}\n`, args.join(' '));
    }
  });

  test('--json --help and --json help: the program help as one document, with the plain text in "help"', async () => {
    const plain = await cli(['--help']);
    for (const args of [
      ['--json', '--help'],
      ['--json', 'help'],
      ['help', '--json'],
    ]) {
      const r = await cli(args);
      assertExit(r, 0);
      assert.equal(r.stderr, '');
      const doc = parseJson<Doc>(r);
      assert.equal(doc.command, 'memregion');
      assert.match(doc.usage, /^memregion \[options\] \[command\]/);
      assert.equal(doc.help, plain.stdout, args.join(' '));
      const commands = doc.commands.map((c: { name: string }) => c.name);
      for (const name of ['probe', 'invalidate', 'stress', 'profiles', 'regions', 'erase', 'trace', 'help'])
        assert.ok(commands.includes(name), `${args.join(' ')} lists ${name}`);
      const flags = doc.options.map((o: { flags: string }) => o.flags);
      assert.ok(flags.includes('--json'), flags.join(' '));
      assert.ok(flags.includes('-V, --version'), flags.join(' '));
    }
  });

  test("--json <command> --help and --json help <command>: that command's help as one document", async () => {
    const plain = await cli(['invalidate', '--help']);
    for (const args of [
      ['--json', 'invalidate', '--help'],
      ['--json', 'help', 'invalidate'],
    ]) {
      const r = await cli(args);
      assertExit(r, 0);
      const doc = parseJson<Doc>(r);
      assert.equal(doc.command, 'memregion invalidate');
      assert.match(doc.usage, /^memregion invalidate /);
      assert.ok(
        doc.options.some((o: { flags: string }) => o.flags === '--dry-run'),
        JSON.stringify(doc.options),
      );
      assert.equal(doc.help, plain.stdout);
    }
    // Text added after a command's help (completion's install lines) is in "help", not after the document.
    const r = await cli(['--json', 'completion', '--help']);
    assertExit(r, 0);
    assert.match(parseJson<Doc>(r).help, /Install:/);
  });

  test('--json with help for a usage error stays the one-line error, exit 64, nothing on stdout', async () => {
    for (const args of [['--json'], ['--json', 'help', 'bogus']]) {
      const r = await cli(args);
      assertExit(r, 64);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    }
  });
});
