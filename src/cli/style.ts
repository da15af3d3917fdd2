import type { ChalkInstance } from 'chalk';

/** Until human output asks for colour: `chalk.green.bold('x')` is just `'x'`. */
const plain: ChalkInstance = new Proxy(() => {}, {
  get: () => plain,
  apply: (_target, _this, args: unknown[]) => args.join(' '),
}) as unknown as ChalkInstance;

/** The colour functions human renderers use (a live binding: plain until `enableColor`). */
export let chalk: ChalkInstance = plain;

/**
 * Loads chalk for human output only (JSON and Prometheus runs never pay for it). chalk does not read
 * NO_COLOR, so it is honoured here, with --no-color; FORCE_COLOR chalk reads itself.
 */
export async function enableColor(enabled: boolean): Promise<void> {
  const { default: loaded } = await import('chalk');
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  if (!enabled || (noColorEnv && !process.env.FORCE_COLOR)) loaded.level = 0;
  chalk = loaded;
}

/** Left-aligned columns, two spaces apart; colour codes do not count towards widths. */
export function table(rows: string[][], indent = '  '): string {
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(cell));
    });
  }
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell))))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

export const yesNo = (value: boolean | null | undefined): string =>
  value === null || value === undefined ? chalk.dim('unknown') : value ? chalk.green('yes') : chalk.red('no');
