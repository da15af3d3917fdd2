/**
 * `memregion completion <bash|zsh|fish>`: a shell completion script generated from the commander program
 * itself (its commands, their options and arguments, the choices commander validates), so that the
 * script cannot drift from the command line: regenerate it after an upgrade.
 */
import { Argument, Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
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
        const script = await completionScript(shell, root);
        await emit({ json: {}, human: () => script }, context);
        return ExitCode.OK;
      }),
    );
}

function rootOf(command: CommandUnknownOpts): CommandUnknownOpts {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/** The generators are loaded when the command runs, not at start-up: each is a chunk of its own. */
export async function completionScript(shell: Shell, program: CommandUnknownOpts): Promise<string> {
  const { describeProgram } = await import('../completion/spec.js');
  const spec = describeProgram(program);
  switch (shell) {
    case 'bash':
      return (await import('../completion/bash.js')).bashScript(spec);
    case 'zsh':
      return (await import('../completion/zsh.js')).zshScript(spec);
    case 'fish':
      return (await import('../completion/fish.js')).fishScript(spec);
  }
}
