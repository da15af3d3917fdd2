/**
 * `memregion completion <bash|zsh|fish>`: the bash script is loaded into a real bash (no rc files, no
 * bash-completion package) and asked for completions the way readline asks (COMP_WORDS, COMP_CWORD); the
 * answers are compared with the commander program itself, so that a new command, flag or choice that
 * the script does not know fails here. zsh and fish are syntax-checked (and fish asked): `npm test` provisions them (scripts/provision.mjs).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Command, Option } from '@commander-js/extra-typings';
import { BUILT_IN_PROFILE_NAMES } from '../../src/backends/emulated/profiles.js';
import { buildProgram } from '../../src/cli/program.js';
import { assertExit, assertRefused, cli, describeResult, scratchDir } from '../helpers/cli.js';
import { runSync } from '../helpers/spawn.js';

const program = (await buildProgram(new AbortController().signal, () => {})) as unknown as Command;
const commands = program.commands.map((c) => c.name());
const flagsOf = (options: readonly Option[]) =>
  options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
const globalFlags = [...flagsOf(program.options), '-h', '--help'];

async function script(shell: string): Promise<string> {
  const r = await cli(['completion', shell]);
  assertExit(r, 0);
  assert.equal(r.stderr, '', describeResult(r));
  return r.stdout;
}

/** A folder with a few files for file and directory completion. */
const cwd = scratchDir('completion');
mkdirSync(path.join(cwd, 'lab-dir'));
writeFileSync(path.join(cwd, 'lab-profile.json'), '{}');
writeFileSync(path.join(cwd, 'lab-notes.txt'), '');

const bashFile = path.join(scratchDir('bash'), 'memregion.bash');

/**
 * What bash offers for the command line `words` (the last one is the word being completed, '' for a new
 * one), as readline would ask: COMP_WORDS split at COMP_WORDBREAKS ('=' is its own word), COMP_CWORD.
 */
function complete(...words: string[]): string[] {
  const driver = [
    'source "$1" || exit 9',
    'shift',
    // The function that `complete -p` says is registered for memregion (not a name this test assumes).
    `fn=$(complete -p memregion | sed -E 's/.*-F ([^ ]+) .*/\\1/')`,
    `COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}; COMPREPLY=()`,
    `"$fn" memregion "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"`,
    `printf "%s\\n" "\${COMPREPLY[@]}"`,
  ].join('\n');
  const r = runSync(
    'bash',
    ['--norc', '--noprofile', '-c', driver, 'bash', bashFile, 'memregion', ...words],
    {
      cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LC_ALL: 'C' },
    },
  );
  assert.equal(r.status, 0, `bash exit ${r.status}: ${r.stderr}`);
  assert.equal(r.stderr, '', `bash said something on stderr for "${words.join(' ')}"`);
  return r.stdout.split('\n').filter((line) => line !== '');
}

const sorted = (list: readonly string[]) => [...new Set(list)].sort();

describe('completion bash, in a real bash', () => {
  test('the script loads cleanly and registers a function for memregion', async () => {
    const text = await script('bash');
    writeFileSync(bashFile, text);
    assert.match(text, /^# bash completion for memregion/);
    const r = runSync(
      'bash',
      ['--norc', '--noprofile', '-c', 'source "$1" && complete -p memregion', 'bash', bashFile],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^complete -F \S+ memregion$/m);
  });

  test('commands first; every command of the program, and the implicit help', () => {
    assert.deepEqual(sorted(complete('')), sorted([...commands, 'help']));
    assert.deepEqual(complete('st'), ['stress']);
    assert.deepEqual(complete('-b', 'emulated', 'pro'), ['probe', 'profiles']);
  });

  test('every command completes exactly its own flags and the global ones (generated, so never drifting)', () => {
    assert.deepEqual(sorted(complete('-')), sorted(globalFlags));
    for (const command of program.commands) {
      const expected = sorted([...flagsOf(command.options), '-h', '--help', ...globalFlags]);
      assert.deepEqual(sorted(complete(command.name(), '-')), expected, command.name());
    }
  });

  test('every flag with choices completes them: before and after the command, as --flag value and --flag=value', () => {
    const withChoices = [
      ...program.options.map((o) => ({ command: undefined as string | undefined, option: o })),
      ...program.commands.flatMap((c) =>
        c.options.map((o) => ({ command: c.name() as string | undefined, option: o })),
      ),
    ].filter(({ option }) => option.argChoices);
    const longs = withChoices.map(({ option }) => option.long);
    for (const flag of ['--backend', '--provider', '--format', '--pattern', '--method'])
      assert.ok(longs.includes(flag), flag);
    for (const { command, option } of withChoices) {
      const before = command ? [command] : [];
      const choices = sorted(option.argChoices!);
      assert.deepEqual(
        sorted(complete(...before, option.long!, '')),
        choices,
        `${command ?? ''} ${option.long} <TAB>`,
      );
      assert.deepEqual(
        sorted(complete(...before, option.long!, '=', '')),
        choices,
        `${command ?? ''} ${option.long}=<TAB>`,
      );
      if (option.short)
        assert.deepEqual(sorted(complete(...before, option.short, '')), choices, option.short);
      const first = option.argChoices![0]!;
      assert.ok(complete(...before, option.long!, first.slice(0, 1)).includes(first));
      assert.ok(complete(...before, option.long!, '=', first.slice(0, 1)).includes(first));
    }
    // A global flag after the command, and a flag value after other global options.
    assert.deepEqual(sorted(complete('stress', '--workers', '4', '--backend', '')), ['emulated', 'sysfs']);
    assert.deepEqual(complete('-b', 'emulated', '--seed', '3', 'stress', '--pattern', 'seq'), ['sequential']);
  });

  test('--profile: the built-in profile names, JSON files and folders', () => {
    const offered = complete('--profile', '');
    for (const name of BUILT_IN_PROFILE_NAMES) assert.ok(offered.includes(name), name);
    assert.ok(offered.includes('lab-profile.json'));
    assert.ok(offered.includes('lab-dir'));
    assert.ok(!offered.includes('lab-notes.txt'), 'a profile is a JSON file');
    assert.deepEqual(sorted(complete('--profile', 'r')), ['range', 'rate-limited']);
  });

  test('files and folders where the option takes a path; nothing for numbers and durations', () => {
    assert.deepEqual(sorted(complete('--output', 'lab-')), ['lab-dir', 'lab-notes.txt', 'lab-profile.json']);
    assert.deepEqual(complete('--root', 'lab'), ['lab-dir']);
    assert.deepEqual(complete('stress', '--workers', ''), []);
    assert.deepEqual(complete('stress', '-d', ''), []);
    assert.deepEqual(complete('--seed', ''), []);
  });

  test('positional arguments: completion <shell>, help <command>, trace -- <command>', () => {
    assert.deepEqual(sorted(complete('completion', '')), ['bash', 'fish', 'zsh']);
    assert.deepEqual(complete('help', 'inv'), ['invalidate']);
    assert.ok(complete('trace', '--', 'bas').includes('bash'), 'a program name after --');
    assert.ok(complete('trace', '--', 'sleep', 'lab-n').includes('lab-notes.txt'), 'then its arguments');
    assert.deepEqual(complete('invalidate', ''), [], 'addresses are not files');
  });
});

/** A missing shell fails the test with the way to get it (.ci/run installs both). */
function missingShell(error: Error | undefined, shell: string): Error | undefined {
  if (!error) return undefined;
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
    ? new Error(
        `${shell} is not installed: apt-get install ${shell} (npm test provisions it when run as root)`,
      )
    : error;
}

describe('completion zsh and fish', () => {
  for (const shell of ['zsh', 'fish']) {
    test(`${shell}: names every command and every long flag of the program`, async () => {
      const text = await script(shell);
      for (const command of commands) assert.ok(text.includes(command), `${shell}: ${command}`);
      for (const c of [program, ...program.commands]) {
        for (const o of c.options) {
          const long = o.long!;
          assert.ok(text.includes(shell === 'fish' ? `-l ${long.slice(2)}` : long), `${shell}: ${long}`);
          for (const choice of o.argChoices ?? [])
            assert.ok(text.includes(choice), `${shell}: ${long} ${choice}`);
        }
      }
    });
  }

  test('zsh: the script parses (zsh -n)', async () => {
    const file = path.join(scratchDir('zsh'), '_memregion');
    writeFileSync(file, await script('zsh'));
    assert.match(readFileSync(file, 'utf8'), /^#compdef memregion\n/);
    const r = runSync('zsh', ['-n', file], { encoding: 'utf8' });
    assert.ifError(missingShell(r.error, 'zsh'));
    assert.equal(r.status, 0, r.stderr);
  });

  test('fish: the script parses and completes flag values', async () => {
    const file = path.join(scratchDir('fish'), 'memregion.fish');
    writeFileSync(file, await script('fish'));
    const ask = (line: string) =>
      runSync('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`], {
        encoding: 'utf8',
        cwd,
      });
    const r = ask('memregion --backend ');
    assert.ifError(missingShell(r.error, 'fish'));
    assert.equal(r.status, 0, r.stderr);
    const words = (out: string) =>
      sorted(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t')[0]!),
      );
    assert.deepEqual(words(r.stdout), ['emulated', 'sysfs']);
    assert.deepEqual(words(ask('memregion -b emulated stress --pattern ').stdout), [
      'random',
      'same',
      'sequential',
    ]);
    assert.deepEqual(words(ask('memregion -b emulated st').stdout), ['stress']);
    assert.deepEqual(words(ask('memregion completion ').stdout), ['bash', 'fish', 'zsh']);
  });
});

describe('completion command line', () => {
  test('an unknown shell, or none: usage error (64), one line', async () => {
    assertRefused(await cli(['completion', 'tcsh']), 64, /tcsh|bash, zsh, fish/);
    assertRefused(await cli(['completion']), 64, /shell/);
  });

  test('--json is refused (the script is text); --output writes the script to a file', async () => {
    assertRefused(await cli(['--json', 'completion', 'bash']), 64, /completion/);
    const target = path.join(scratchDir('out'), 'memregion');
    const r = await cli(['completion', 'bash', '--output', target]);
    assertExit(r, 0);
    assert.equal(r.stdout, '');
    assert.equal(readFileSync(target, 'utf8'), await script('bash'));
  });
});
