import type { Command } from '@commander-js/extra-typings';
import { toJson } from '../core/output.js';

/** `--json --version`. */
export function versionJson(version: string): string {
  return `${toJson({ version })}\n`;
}

/**
 * `--json --help` and `--json help [command]`: the help of `command` as data (usage, arguments, options,
 * subcommands, each as the text help prints for it), and the whole text as `help`.
 */
export function helpJson(command: Command, text: string): string {
  const helper = command.createHelp();
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent as Command | null) names.unshift(c.name());
  return `${toJson({
    command: names.join(' '),
    usage: helper.commandUsage(command),
    description: helper.commandDescription(command),
    arguments: helper.visibleArguments(command).map((a) => ({
      name: helper.argumentTerm(a),
      description: helper.argumentDescription(a),
    })),
    options: helper.visibleOptions(command).map((o) => ({
      flags: helper.optionTerm(o),
      description: helper.optionDescription(o),
    })),
    commands: helper.visibleCommands(command).map((c) => ({
      name: c.name(),
      usage: helper.subcommandTerm(c),
      description: helper.subcommandDescription(c),
    })),
    help: text,
  })}\n`;
}
