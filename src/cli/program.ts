import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { PROVIDER_VARIANTS } from '../backends/types.js';
import type { CommandRunner } from '../commands/runner.js';
import { escapeControl, oneLine, quote } from '../core/quote.js';
import { createContext, type GlobalOptions } from './context.js';

export const VERSION = '0.1.0';

type CommandFactory = (run: CommandRunner) => Command;

/**
 * The commands in the order help lists them, each module loaded only when its command is built: a run
 * pays for the one command it names, not for all of them (npm run bench, section 4).
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
  ['probe', async () => (await import('../commands/probe.js')).probeCommand],
  ['invalidate', async () => (await import('../commands/invalidate.js')).invalidateCommand],
  ['stress', async () => (await import('../commands/stress.js')).stressCommand],
  ['profiles', async () => (await import('../commands/profiles.js')).profilesCommand],
  ['regions', async () => (await import('../commands/regions.js')).regionsCommand],
  ['erase', async () => (await import('../commands/erase.js')).eraseCommand],
  ['trace', async () => (await import('../commands/trace.js')).traceCommand],
  ['collect', async () => (await import('../commands/collect.js')).collectCommand],
  ['lab', async () => (await import('../commands/lab.js')).labCommand],
  ['completion', async () => (await import('../commands/completion.js')).completionCommand],
];

/** Commands that read the whole program (completion describes every command). */
const NEEDS_EVERY_COMMAND = new Set(['completion']);

/** The global options (DESIGN §5), on the program and on the scanner that finds the command first. */
function addGlobalOptions(command: Command): Command {
  return command
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
    .option('--no-color', 'no colour (NO_COLOR is honoured too)') as unknown as Command;
}

/** What the command line asks for before any command is built: the command's name and the output mode. */
export interface ScannedCommandLine {
  /** The first operand, which commander dispatches to; undefined when there is none. */
  command?: string;
  json: boolean;
}

/**
 * Reads the command line with commander's own option parser and the global options alone (plus
 * --version as a plain switch, so that what follows it is read too): the first operand is the word
 * commander dispatches on. Silent: whatever is wrong, the real parse reports it.
 */
export function scanCommandLine(argv: readonly string[]): ScannedCommandLine {
  const scanner = addGlobalOptions(new Command('memregion'))
    .option('-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  try {
    const { operands } = scanner.parseOptions([...argv]);
    const options = scanner.opts() as GlobalOptions;
    return { command: operands[0], json: options.json === true || options.format === 'json' };
  } catch {
    return { json: false };
  }
}

interface ProgramOptions {
  /** Build only this command when it is one (all of them otherwise: help, completion, an unknown name). */
  only?: string;
  /** Help and --version as one JSON document: their text is kept here instead of going to stdout. */
  capture?: string[];
}

/** The whole command line; `run` turns a command body's exit code into process.exitCode. */
export async function buildProgram(
  signal: AbortSignal,
  onExitCode: (code: number) => void,
  { only, capture }: ProgramOptions = {},
): Promise<Command> {
  const program = addGlobalOptions(
    new Command('memregion')
      .description(
        'memory-region cache invalidation for Linux: probe firmware and kernel support, invalidate ranges and regions, stress the path',
      )
      .version(VERSION, '-V, --version') as unknown as Command,
  )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      ...(capture
        ? {
            writeOut: (text: string) => capture.push(text),
            getOutHasColors: () => false,
            getOutHelpWidth: () => 80,
          }
        : {}),
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
  const wanted =
    only !== undefined && !NEEDS_EVERY_COMMAND.has(only) && COMMANDS.some(([name]) => name === only)
      ? COMMANDS.filter(([name]) => name === only)
      : COMMANDS;
  const factories = await Promise.all(wanted.map(async ([, load]) => (await load()) as CommandFactory));
  for (const make of factories) {
    // addCommand (unlike .command()) does not inherit the parent's settings: without this, a subcommand's
    // parse errors (unknown option, missing argument) reach stderr as `error: ...`, not `memregion: ...`.
    program.addCommand(make(run).copyInheritedSettings(program).exitOverride() as unknown as Command);
  }
  return program;
}

/**
 * Parses and runs the command line. With --json (or --format json), asked-for help and --version are one
 * JSON document on stdout like every other result (DESIGN §5), not text a script cannot parse.
 */
export async function runCommandLine(
  argv: readonly string[],
  signal: AbortSignal,
  onExitCode: (code: number) => void,
): Promise<void> {
  const scanned = scanCommandLine(argv);
  const capture = scanned.json ? [] : undefined;
  const program = await buildProgram(signal, onExitCode, { only: scanned.command, capture });
  let helpFor: Command | undefined;
  program.on('beforeAllHelp', (context: { error: boolean; command: Command }) => {
    if (!context.error) helpFor = context.command;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (capture && error instanceof CommanderError && error.exitCode === 0) {
      const { versionJson, helpJson } = await import('./json-help.js');
      if (error.code === 'commander.version') process.stdout.write(versionJson(VERSION));
      else if (helpFor) process.stdout.write(helpJson(helpFor, capture.join('')));
    }
    throw error;
  }
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
