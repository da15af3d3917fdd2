/**
 * What a completion script knows of the program, read from the commander program itself: commands,
 * options, positional arguments and what each value completes to. The shells' generators share it.
 */
import type { CommandUnknownOpts, Option } from '@commander-js/extra-typings';
import { BUILT_IN_PROFILE_NAMES } from '../backends/emulated/profiles.js';

/** What a value (of an option or a positional argument) completes to. */
export type ValueKind =
  | { kind: 'choices'; values: string[] }
  | { kind: 'profile'; values: string[] }
  | { kind: 'files' }
  | { kind: 'dirs' }
  | { kind: 'commands'; values: string[] }
  /** A command line to run (`trace -- <command...>`): a program name, then files; `skip` arguments come first. */
  | { kind: 'command_line'; skip: number }
  | { kind: 'none'; name: string };

export interface OptionSpec {
  short?: string;
  long?: string;
  description: string;
  /** null: a switch, no value. */
  value: ValueKind | null;
  /** The value's placeholder in the help (`n`, `file`, `name|file`). */
  valueName: string;
}

export interface ArgumentSpec {
  name: string;
  variadic: boolean;
  value: ValueKind;
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  args: ArgumentSpec[];
}

export interface ProgramSpec {
  name: string;
  version: string;
  globals: OptionSpec[];
  commands: CommandSpec[];
}

/** What the value placeholder says: `<file>`, `<dir>`, `<name|file>` (a profile), or just a name. */
function valueKind(
  placeholder: string,
  choices: readonly string[] | undefined,
  attribute: string,
): ValueKind {
  if (choices && choices.length > 0) return { kind: 'choices', values: [...choices] };
  const words = placeholder.toLowerCase().split(/[|/]/);
  if (attribute === 'profile') return { kind: 'profile', values: [...BUILT_IN_PROFILE_NAMES] };
  if (words.includes('dir') || words.includes('directory')) return { kind: 'dirs' };
  if (words.includes('file') || words.includes('path')) return { kind: 'files' };
  return { kind: 'none', name: placeholder };
}

function optionSpec(option: Option): OptionSpec {
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]?.replace(/\.\.\.$/, '') ?? '';
  const takesValue = option.required || option.optional;
  return {
    ...(option.short ? { short: option.short } : {}),
    ...(option.long ? { long: option.long } : {}),
    description: option.description,
    valueName: placeholder,
    value: takesValue ? valueKind(placeholder, option.argChoices, option.attributeName()) : null,
  };
}

/** Everything the scripts need, read from the program (visible commands and options, help included). */
export function describeProgram(program: CommandUnknownOpts): ProgramSpec {
  const help = program.createHelp();
  const commands = help.visibleCommands(program);
  // Help's public list, less its own implicit `help` entry (not one of program.commands).
  const names = commands.filter((c) => program.commands.includes(c)).map((c) => c.name());
  return {
    name: program.name(),
    version: program.version() ?? '',
    globals: help.visibleOptions(program).map(optionSpec),
    commands: commands.map((cmd) => {
      // The implicit `help [command]` is not among program.commands: its argument is a command name.
      const isHelp = !program.commands.includes(cmd);
      return {
        name: cmd.name(),
        description: cmd.description(),
        options: isHelp ? [] : cmd.createHelp().visibleOptions(cmd).map(optionSpec),
        args: cmd.registeredArguments.map((arg, index) => ({
          name: arg.name(),
          variadic: arg.variadic,
          value: isHelp
            ? { kind: 'commands' as const, values: names }
            : arg.argChoices
              ? { kind: 'choices' as const, values: [...arg.argChoices] }
              : arg.variadic
                ? arg.name() === 'command'
                  ? { kind: 'command_line' as const, skip: index }
                  : { kind: 'files' as const }
                : { kind: 'none' as const, name: arg.name() },
        })),
      };
    }),
  };
}

export const flagsOf = (o: OptionSpec): string[] =>
  [o.short, o.long].filter((f): f is string => f !== undefined);
