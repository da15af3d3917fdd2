import type { Context, GlobalOptions } from '../cli/context.js';

/** What a command body needs from its commander Command: the options merged with the global ones. */
export interface CommandWithGlobals {
  optsWithGlobals(): object;
}

/** Runs a command body with the context built from the global options; resolves to its exit code. */
export type CommandRunner = (
  command: CommandWithGlobals,
  body: (context: Context) => Promise<number>,
) => Promise<void>;

export type { GlobalOptions };
