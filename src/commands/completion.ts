/**
 * `memregion completion <bash|zsh|fish>`: a shell completion script generated from the commander program
 * itself (its commands, their options and arguments, the choices commander validates), so that the
 * script cannot drift from the command line: regenerate it after an upgrade.
 */
import { Argument, Command, type CommandUnknownOpts, type Option } from '@commander-js/extra-typings';
import { BUILT_IN_PROFILE_NAMES } from '../backends/emulated/profiles.js';
import { requireFormat } from '../cli/context.js';
import { ExitCode } from '../core/errors.js';
import { emit } from '../core/output.js';
import type { CommandRunner } from './runner.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionCommand(run: CommandRunner) {
  return new Command('completion')
    .description('print a shell completion script (bash, zsh or fish) for every command and flag')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .addHelpText(
      'after',
      '\nInstall:\n' +
        '  bash: memregion completion bash > ~/.local/share/bash-completion/completions/memregion\n' +
        '        (or: eval "$(memregion completion bash)" in ~/.bashrc)\n' +
        `  zsh:  memregion completion zsh > "\${fpath[1]}/_memregion"   (then: compinit)\n` +
        '        (or: source <(memregion completion zsh) in ~/.zshrc, after compinit)\n' +
        '  fish: memregion completion fish > ~/.config/fish/completions/memregion.fish',
    )
    .action(async (shell, _options, command) =>
      run(command, async (context) => {
        requireFormat(context, ['human'], 'completion');
        const root = rootOf(command as unknown as CommandUnknownOpts);
        const script = completionScript(shell, root);
        await emit({ json: {}, human: () => script }, context.format, context.output);
        return ExitCode.OK;
      }),
    );
}

function rootOf(command: CommandUnknownOpts): CommandUnknownOpts {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

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
  const names = program.commands
    .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
    .map((c) => c.name());
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

export function completionScript(shell: Shell, program: CommandUnknownOpts): string {
  const spec = describeProgram(program);
  switch (shell) {
    case 'bash':
      return bashScript(spec);
    case 'zsh':
      return zshScript(spec);
    case 'fish':
      return fishScript(spec);
  }
}

const flagsOf = (o: OptionSpec): string[] => [o.short, o.long].filter((f): f is string => f !== undefined);

// ---------------------------------------------------------------------------------------------- bash

/** A bash word in single quotes. */
const shq = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
/** A `case` pattern that matches these words literally. */
const casePattern = (words: string[]): string => words.map(shq).join('|');

/** One line: `<kind> <words...>`; the bash function reads the kind, then completes. */
function bashValue(value: ValueKind): string {
  switch (value.kind) {
    case 'choices':
    case 'profile':
    case 'commands':
      return [value.kind, ...value.values].join(' ');
    case 'command_line':
      return `command_line ${value.skip}`;
    default:
      return value.kind;
  }
}

/** `case` branches from an option's flags (with `prefix`, the command and a colon) to its value. */
function bashOptionCases(options: OptionSpec[], prefix: string): string[] {
  return options
    .filter((o) => o.value !== null)
    .map(
      (o) =>
        `    ${casePattern(flagsOf(o).map((f) => `${prefix}${f}`))}) echo ${shq(bashValue(o.value!))}; return 0 ;;`,
    );
}

function bashScript(spec: ProgramSpec): string {
  const fn = `_${spec.name}_completion`;
  const globalFlags = spec.globals.flatMap(flagsOf);
  const commandFlags = [
    `    '') echo ${shq(globalFlags.join(' '))} ;;`,
    ...spec.commands.map(
      (c) =>
        `    ${shq(c.name)}) echo ${shq([...new Set([...c.options.flatMap(flagsOf), ...globalFlags])].join(' '))} ;;`,
    ),
  ];
  const commandArgs = spec.commands.flatMap((c) =>
    c.args.map(
      (a, i) =>
        `    ${shq(`${c.name}:${a.variadic ? '*' : i + 1}`)}) echo ${shq(bashValue(a.value))}; return 0 ;;`,
    ),
  );
  const lastVariadic = spec.commands
    .filter((c) => c.args.at(-1)?.variadic)
    .map((c) => `    ${shq(c.name)}) echo ${shq(bashValue(c.args.at(-1)!.value))}; return 0 ;;`);
  return `# bash completion for ${spec.name} ${spec.version}, generated from its command line by \`${spec.name} completion bash\`.
# Install: ${spec.name} completion bash > ~/.local/share/bash-completion/completions/${spec.name}
#      or: eval "$(${spec.name} completion bash)" in ~/.bashrc

# The value an option takes, as "<kind> <words...>" (kinds: choices, profile, commands, files, dirs, none);
# nothing when the option is a switch. $1: the command ('' before it), $2: the option.
_${spec.name}_option_value() {
  case "$1:$2" in
${spec.commands.flatMap((c) => bashOptionCases(c.options, `${c.name}:`)).join('\n')}
  esac
  case "$2" in
${bashOptionCases(spec.globals, '').join('\n')}
  esac
  return 1
}

# The flags of a command, global flags included ('': before the command).
_${spec.name}_command_flags() {
  case "$1" in
${commandFlags.join('\n')}
  esac
}

# What positional argument N (or * for the last, variadic one) of a command completes to.
_${spec.name}_argument_value() {
  case "$1:$2" in
${commandArgs.join('\n')}
  esac
  case "$1" in
${lastVariadic.join('\n')}
  esac
  echo none
}

_${spec.name}_complete_value() {
  local kind=\${1%% *} words="" cur=$2
  [[ $1 == *' '* ]] && words=\${1#* }
  case $kind in
    choices|commands) COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
    profile)
      COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -d -- "$cur") $(compgen -f -X '!*.json' -- "$cur"))
      compopt -o filenames 2>/dev/null
      ;;
    files)
      COMPREPLY=($(compgen -f -- "$cur"))
      compopt -o filenames 2>/dev/null
      ;;
    command_line)
      # A command to run: its name first, then its arguments (files).
      if [[ $(($3 - words)) == 1 ]]; then COMPREPLY=($(compgen -c -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      compopt -o filenames 2>/dev/null
      ;;
    dirs)
      COMPREPLY=($(compgen -d -- "$cur"))
      compopt -o filenames 2>/dev/null
      ;;
    *) COMPREPLY=() ;;
  esac
}

${fn}() {
  local -a words=()
  local i cword=0 glue=0
  # Put --option=value back together (COMP_WORDBREAKS splits at '=').
  for ((i = 0; i < \${#COMP_WORDS[@]}; i++)); do
    local w=\${COMP_WORDS[i]}
    if [[ $glue == 1 ]]; then
      words[\${#words[@]} - 1]+=$w
      glue=0
    elif [[ $w == '=' && \${#words[@]} -gt 1 && \${words[\${#words[@]} - 1]} == --* && \${words[\${#words[@]} - 1]} != *=* ]]; then
      words[\${#words[@]} - 1]+='='
      (( i < COMP_CWORD )) && glue=1
    else
      words+=("$w")
    fi
    (( i == COMP_CWORD )) && cword=$(( \${#words[@]} - 1 ))
  done
  local cur=\${words[cword]} command="" value="" positional=0 dashdash=0 word

  for ((i = 1; i < cword; i++)); do
    word=\${words[i]}
    if [[ $dashdash == 1 ]]; then
      positional=$((positional + 1))
    elif [[ $word == -- ]]; then
      dashdash=1
    elif [[ $word == -* ]]; then
      # A value in the next word, unless it was given as --option=value.
      if [[ $word != *=* ]] && _${spec.name}_option_value "$command" "$word" >/dev/null; then
        i=$((i + 1))
      fi
    elif [[ -z $command ]]; then
      command=$word
    else
      positional=$((positional + 1))
    fi
  done

  # The value of the option before the cursor (-b <TAB>, --backend <TAB>, --backend=<TAB>).
  if [[ $dashdash == 0 && $cur == --*=* ]]; then
    if value=$(_${spec.name}_option_value "$command" "\${cur%%=*}"); then
      _${spec.name}_complete_value "$value" "\${cur#*=}"
      return 0
    fi
  fi
  if [[ $dashdash == 0 && $cword -gt 1 && \${words[cword - 1]} == -* && \${words[cword - 1]} != *=* ]]; then
    if value=$(_${spec.name}_option_value "$command" "\${words[cword - 1]}"); then
      _${spec.name}_complete_value "$value" "$cur"
      return 0
    fi
  fi

  if [[ $dashdash == 0 && $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_${spec.name}_command_flags "$command")" -- "$cur"))
    return 0
  fi
  if [[ -z $command ]]; then
    COMPREPLY=($(compgen -W ${shq(spec.commands.map((c) => c.name).join(' '))} -- "$cur"))
    return 0
  fi
  _${spec.name}_complete_value "$(_${spec.name}_argument_value "$command" $((positional + 1)))" "$cur" $((positional + 1))
  return 0
}

complete -F ${fn} ${spec.name}
`;
}

// ----------------------------------------------------------------------------------------------- zsh

/** Text inside a zsh single-quoted word, and inside the [description] of an _arguments spec. */
const zq = (text: string): string => text.replace(/'/g, `'\\''`);
const zdesc = (text: string): string =>
  zq(
    text
      .replace(/\\/g, '\\\\')
      .replace(/([[\]:])/g, '\\$1')
      .replace(/\n/g, ' '),
  );

function zshAction(value: ValueKind, program: string): string {
  switch (value.kind) {
    case 'choices':
      return `(${value.values.join(' ')})`;
    case 'commands':
      return `(${value.values.join(' ')})`;
    case 'profile':
      return `_${program}_profiles`;
    case 'command_line':
      return '_command_names -e';
    case 'files':
      return '_files';
    case 'dirs':
      return '_files -/';
    case 'none':
      return ' ';
  }
}

function zshOption(o: OptionSpec, program: string): string {
  const flags = flagsOf(o);
  const exclusive = flags.length > 1 ? `(${flags.join(' ')})` : '';
  const message = o.valueName || 'value';
  const rest = o.value ? `:${zq(message.replace(/:/g, '\\:'))}:${zq(zshAction(o.value, program))}` : '';
  const desc = `[${zdesc(o.description)}]`;
  if (flags.length === 1) {
    const f = o.value ? (flags[0]!.startsWith('--') ? `${flags[0]}=` : `${flags[0]}+`) : flags[0]!;
    return `'${f}${desc}${rest}'`;
  }
  const forms = flags.map((f) => (o.value ? (f.startsWith('--') ? `${f}=` : `${f}+`) : f));
  return `'${exclusive}'{${forms.join(',')}}'${desc}${rest}'`;
}

function zshArgument(a: ArgumentSpec, index: number, program: string): string {
  const position = a.variadic ? '*' : String(index + 1);
  const name = a.value.kind === 'none' ? a.value.name : a.name;
  return `'${position}:${zq(name.replace(/:/g, '\\:'))}:${zq(zshAction(a.value, program))}'`;
}

/** The built-in profile names the program's --profile option completes to. */
function profileNames(spec: ProgramSpec): string[] {
  const value = [...spec.globals, ...spec.commands.flatMap((c) => c.options)].find(
    (o) => o.value?.kind === 'profile',
  )?.value;
  return value?.kind === 'profile' ? value.values : [];
}

function zshScript(spec: ProgramSpec): string {
  const p = spec.name;
  const commands = spec.commands.map((c) => `    '${zq(c.name)}:${zq(c.description.replace(/\n/g, ' '))}'`);
  const cases = spec.commands.map((c) => {
    const parts = [
      '$global_opts',
      ...c.options.map((o) => zshOption(o, p)),
      ...c.args.map((a, i) => zshArgument(a, i, p)),
    ];
    return `        (${c.name})\n          _arguments -s -S \\\n            ${parts.join(' \\\n            ')} && ret=0\n          ;;`;
  });
  return `#compdef ${p}
# zsh completion for ${p} ${spec.version}, generated from its command line by \`${p} completion zsh\`.
# Install: ${p} completion zsh > "\${fpath[1]}/_${p}"   (then start a new shell, or run compinit)
#      or: source <(${p} completion zsh) in ~/.zshrc, after compinit

_${p}_commands() {
  local -a commands
  commands=(
${commands.join('\n')}
  )
  _describe -t commands '${p} command' commands
}

_${p}_profiles() {
  _alternative 'profiles:built-in profile:(${profileNames(spec).join(' ')})' 'files:profile file:_files -g "*.json"'
}

_${p}() {
  local curcontext="$curcontext" state line ret=1
  local -a global_opts
  global_opts=(
    ${spec.globals.map((o) => zshOption(o, p)).join('\n    ')}
  )
  _arguments -C -s -S \\
    $global_opts \\
    '1: :_${p}_commands' \\
    '*:: :->command' && ret=0
  case $state in
    (command)
      curcontext="\${curcontext%:*:*}:${p}-$words[1]:"
      case $words[1] in
${cases.join('\n')}
      esac
      ;;
  esac
  return ret
}

if [[ $funcstack[1] == _${p} ]]; then
  _${p} "$@"
else
  compdef _${p} ${p}
fi
`;
}

// ---------------------------------------------------------------------------------------------- fish

const fq = (text: string): string =>
  `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, ' ')}'`;

function fishOption(o: OptionSpec, condition: string, p: string): string {
  const parts = [`complete -c ${p}`];
  if (condition) parts.push(`-n ${fq(condition)}`);
  if (o.short) parts.push(`-s ${o.short.replace(/^-/, '')}`);
  if (o.long) parts.push(`-l ${o.long.replace(/^--/, '')}`);
  const v = o.value;
  if (v) {
    switch (v.kind) {
      case 'choices':
      case 'commands':
        parts.push(`-x -a ${fq(v.values.join(' '))}`);
        break;
      case 'profile':
        parts.push(`-r -F -a ${fq(v.values.join(' '))}`);
        break;
      case 'files':
        parts.push('-r -F');
        break;
      case 'dirs':
        parts.push(`-x -a ${fq('(__fish_complete_directories)')}`);
        break;
      case 'none':
        parts.push('-x');
        break;
    }
  }
  parts.push(`-d ${fq(o.description)}`);
  return parts.join(' ');
}

function fishArgument(c: CommandSpec, p: string): string[] {
  const first = c.args[0];
  if (!first) return [];
  const condition = `__${p}_using_command ${c.name}`;
  switch (first.value.kind) {
    case 'choices':
    case 'commands':
      return [`complete -c ${p} -n ${fq(condition)} -x -a ${fq(first.value.values.join(' '))}`];
    case 'files':
    case 'profile':
    case 'command_line':
      return [`complete -c ${p} -n ${fq(condition)} -F`];
    default:
      return [];
  }
}

function fishScript(spec: ProgramSpec): string {
  const p = spec.name;
  const valueGlobals = spec.globals.filter((o) => o.value !== null).flatMap(flagsOf);
  const lines = [
    `# fish completion for ${p} ${spec.version}, generated from its command line by \`${p} completion fish\`.`,
    `# Install: ${p} completion fish > ~/.config/fish/completions/${p}.fish`,
    '',
    '# The command on the line so far (skipping global options and their values), if any.',
    `function __${p}_command`,
    '    set -l tokens (commandline -opc)',
    '    set -e tokens[1]',
    '    set -l skip 0',
    '    for token in $tokens',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch $token',
    `            case ${valueGlobals.map((f) => fq(f)).join(' ')}`,
    '                set skip 1',
    "            case '-*'",
    "            case '*'",
    '                echo $token',
    '                return 0',
    '        end',
    '    end',
    '    return 1',
    'end',
    '',
    `function __${p}_needs_command`,
    `    not __${p}_command >/dev/null`,
    'end',
    '',
    `function __${p}_using_command`,
    `    set -l command (__${p}_command)`,
    '    and test "$command" = $argv[1]',
    'end',
    '',
    `complete -c ${p} -f`,
    '',
    '# commands',
    ...spec.commands.map(
      (c) => `complete -c ${p} -n ${fq(`__${p}_needs_command`)} -a ${fq(c.name)} -d ${fq(c.description)}`,
    ),
    '',
    '# global options (before or after the command)',
    ...spec.globals.map((o) => fishOption(o, '', p)),
  ];
  for (const c of spec.commands) {
    const own = c.options.map((o) => fishOption(o, `__${p}_using_command ${c.name}`, p));
    const args = fishArgument(c, p);
    if (own.length + args.length === 0) continue;
    lines.push('', `# ${c.name}`, ...own, ...args);
  }
  return `${lines.join('\n')}\n`;
}
