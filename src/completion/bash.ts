import { flagsOf, type OptionSpec, type ProgramSpec, type ValueKind } from './spec.js';

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
export function bashScript(spec: ProgramSpec): string {
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
  # File names are read one a line (mapfile), not split by $(...): \`my lab.json\` is one name, not two,
  # and a name such as \`*\` is not expanded to the folder's files.
  case $kind in
    choices|commands) COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
    profile)
      mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur"; compgen -d -- "$cur"; compgen -f -X '!*.json' -- "$cur")
      compopt -o filenames 2>/dev/null
      ;;
    files)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      compopt -o filenames 2>/dev/null
      ;;
    command_line)
      # A command to run: its name first, then its arguments (files).
      if [[ $(($3 - words)) == 1 ]]; then mapfile -t COMPREPLY < <(compgen -c -- "$cur"); else mapfile -t COMPREPLY < <(compgen -f -- "$cur"); fi
      compopt -o filenames 2>/dev/null
      ;;
    dirs)
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
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
