import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { PROVIDER_VARIANTS } from '../backends/types.js';
import { collectCommand } from '../commands/collect.js';
import { completionCommand } from '../commands/completion.js';
import { eraseCommand } from '../commands/erase.js';
import { invalidateCommand } from '../commands/invalidate.js';
import { labCommand } from '../commands/lab.js';
import { probeCommand } from '../commands/probe.js';
import { profilesCommand } from '../commands/profiles.js';
import { regionsCommand } from '../commands/regions.js';
import type { CommandRunner } from '../commands/runner.js';
import { stressCommand } from '../commands/stress.js';
import { traceCommand } from '../commands/trace.js';
import { escapeControl, oneLine, quote } from '../core/quote.js';
import { createContext, type GlobalOptions } from './context.js';

export const VERSION = '0.1.0';

/** The whole command line; `run` turns a command body's exit code into process.exitCode. */
export function buildProgram(signal: AbortSignal, onExitCode: (code: number) => void): Command {
  const program = new Command('memregion')
    .description(
      'memory-region cache invalidation for Linux: probe firmware and kernel support, invalidate ranges and regions, stress the path',
    )
    .version(VERSION, '-V, --version')
    .addOption(
      new Option('-b, --backend <backend>', 'sysfs (the real kernel) or emulated')
        .choices(['sysfs', 'emulated'])
        .env('MEMREGION_BACKEND'),
    )
    .addOption(
      new Option('--profile <name|file>', 'emulated firmware profile: a built-in name or a JSON file').env(
        'MEMREGION_PROFILE',
      ),
    )
    .addOption(new Option('--root <dir>', 'root the sysfs backend reads instead of /').env('MEMREGION_ROOT'))
    .option('--seed <n>', 'seed for every random choice of the emulation and of stress')
    .addOption(
      new Option('--provider <variant>', 'emulated provider variant')
        .choices(PROVIDER_VARIANTS)
        .env('MEMREGION_PROVIDER'),
    )
    .option('--json', 'one JSON document on stdout (same as --format json)')
    .addOption(new Option('--format <format>', 'output format').choices(['human', 'json', 'prometheus']))
    .option('--output <file>', 'write the result to this file, atomically, instead of stdout')
    .option('-q, --quiet', 'less on stderr')
    .option('-v, --verbose', 'more on stderr (and stack traces of internal errors)')
    .option('--no-color', 'no colour (NO_COLOR is honoured too)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`memregion: ${commanderErrorLine(text)}\n`),
      // Help shown for a usage error (no command, `help bogus`) would be 50 lines on stderr: main says
      // it in one (see usageHelpLine). Asked-for help goes to stdout and is not affected.
      writeErr: (text) => {
        if (text.startsWith('memregion: ')) process.stderr.write(text);
      },
    });

  const run: CommandRunner = async (command, body) => {
    const context = await createContext(command.optsWithGlobals() as GlobalOptions, signal);
    onExitCode(await body(context));
  };
  for (const make of [
    probeCommand,
    invalidateCommand,
    stressCommand,
    profilesCommand,
    regionsCommand,
    eraseCommand,
    traceCommand,
    collectCommand,
    labCommand,
    completionCommand,
  ]) {
    // addCommand (unlike .command()) does not inherit the parent's settings: without this, a subcommand's
    // parse errors (unknown option, missing argument) reach stderr as `error: ...`, not `memregion: ...`.
    program.addCommand(make(run).copyInheritedSettings(program).exitOverride() as unknown as Command);
  }
  return program as unknown as Command;
}

/**
 * Commander's message as one line: its own suggestion line joined on, the user's text (an unknown option
 * or argument, quoted by commander) with control characters escaped.
 */
export function commanderErrorLine(text: string): string {
  const trimmed = text.replace(/^error: /, '').trimEnd();
  const suggestion = /\n(\(Did you mean [^\n]*\?\))$/.exec(trimmed);
  const message = suggestion ? trimmed.slice(0, suggestion.index) : trimmed;
  return oneLine(message) + (suggestion ? ` ${escapeControl(suggestion[1]!)}` : '');
}

/** The one line for a usage error that commander answers with help: no command, or help for an unknown one. */
export function usageHelpLine(argv: readonly string[]): string {
  // The first `help` word: a global option's value (`-b emulated`) may come before it.
  const at = argv.indexOf('help');
  const asked = at === -1 ? undefined : argv.slice(at + 1).find((a) => !a.startsWith('-'));
  return asked === undefined
    ? 'no command given (memregion --help lists the commands)'
    : `unknown command ${quote(asked)} (memregion --help lists the commands)`;
}

export { CommanderError };
