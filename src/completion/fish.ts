import { type CommandSpec, flagsOf, type OptionSpec, type ProgramSpec } from './spec.js';

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
export function fishScript(spec: ProgramSpec): string {
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
