import chalk, { type ChalkInstance } from 'chalk';

/**
 * Colour for human output. chalk does not read NO_COLOR, so it is honoured here, with --no-color and
 * FORCE_COLOR (which chalk reads itself).
 */
export function configureColor(enabled: boolean): ChalkInstance {
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  if (!enabled || (noColorEnv && !process.env.FORCE_COLOR)) chalk.level = 0;
  return chalk;
}

export { chalk };

/** Left-aligned columns, two spaces apart; colour codes do not count towards widths. */
export function table(rows: string[][], indent = '  '): string {
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows
    .map((row) =>
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
