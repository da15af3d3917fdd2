import { type ArgumentSpec, flagsOf, type OptionSpec, type ProgramSpec, type ValueKind } from './spec.js';

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
export function zshScript(spec: ProgramSpec): string {
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
