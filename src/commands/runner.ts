import type { Command } from '@commander-js/extra-typings';
import type { Context, GlobalOptions } from '../cli/context.js';

/** Runs a command body with the context built from the global options; resolves to its exit code. */
export type CommandRunner = (command: Command<any, any, any>, body: (context: Context) => Promise<number>) => Promise<void>;

export type { GlobalOptions };
