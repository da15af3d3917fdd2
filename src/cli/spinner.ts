import type { Context } from './context.js';

/** A line of progress on stderr, shown from the first `update` until `stop`. */
export interface Spinner {
  update(text: string): void;
  stop(): void;
}

/**
 * A spinner for people only: never with --json or --format prometheus, --quiet, or when stderr is not a
 * terminal of known width (ora redraws by counting wrapped lines, which a 0-column pty breaks). It starts
 * with the first update, so never while a confirmation question is on screen.
 */
export async function createSpinner(context: Context): Promise<Spinner | undefined> {
  const terminal = process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0;
  if (context.format !== 'human' || context.quiet || !terminal) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ stream: process.stderr });
  return {
    update: (text) => {
      spinner.text = text;
      if (!spinner.isSpinning) spinner.start();
    },
    stop: () => spinner.stop(),
  };
}
