import { Command } from '@commander-js/extra-typings';
import {
  BUILT_IN_PROFILE_NAMES,
  builtInProfile,
  profileJson,
  profileSummary,
} from '../backends/emulated/profiles.js';
import type { Context } from '../cli/context.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode } from '../core/errors.js';
import { emit } from '../core/output.js';
import type { CommandRunner } from './runner.js';

export function profilesCommand(run: CommandRunner) {
  return new Command('profiles')
    .description('list the built-in emulated firmware profiles')
    .action(async (_options, command) => run(command, (context) => profiles(context)));
}

async function profiles(context: Context): Promise<number> {
  const list = BUILT_IN_PROFILE_NAMES.map(builtInProfile);
  await emit(
    {
      json: { backend: 'emulated', profiles: list.map(profileJson) },
      human: () => {
        const rows = list.map((p) => [chalk.bold(p.name), profileSummary(p), chalk.dim(p.description)]);
        return `${table(rows, '')}\n${chalk.dim('use one with --backend emulated --profile NAME, or give a JSON profile file')}`;
      },
    },
    context,
  );
  return ExitCode.OK;
}
