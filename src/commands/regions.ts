import { Command } from '@commander-js/extra-typings';
import type { RegionInfo, RegionsReport } from '../backends/types.js';
import type { Context } from '../cli/context.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode } from '../core/errors.js';
import { emit } from '../core/output.js';
import { escapeControl } from '../core/quote.js';
import { unlessStopped } from '../core/stop.js';
import { formatBytes } from '../core/units.js';
import type { CommandRunner } from './runner.js';

export function regionsCommand(run: CommandRunner) {
  return new Command('regions')
    .description(
      'list what invalidation applies to: CXL regions and memdevs, NVDIMM DIMMs and regions, iomem ranges',
    )
    .action(async (_options, command) => run(command, (context) => regions(context)));
}

async function regions(context: Context): Promise<number> {
  const backend = await context.createBackend();
  try {
    // A --root tree of tens of thousands of regions is read for seconds: the first stop signal ends it.
    const report = await unlessStopped(backend.regions(), context.signal, 'interrupted: no regions listed');
    await emit({ json: report, human: () => renderRegions(report) }, context);
    return ExitCode.OK;
  } finally {
    await backend.close();
  }
}

const SHOWN = new Set(['name', 'kind', 'start', 'size']);

/** `key=value` for every other field; lists of devices by name (`dax_devices=dax0.0:kmem`). */
function details(region: RegionInfo): string {
  return Object.entries(region)
    .filter(
      ([key, value]) =>
        !SHOWN.has(key) &&
        value !== null &&
        value !== undefined &&
        value !== '' &&
        !(Array.isArray(value) && value.length === 0),
    )
    .map(
      ([key, value]) =>
        `${key}=${Array.isArray(value) ? value.map(describeItem).join(',') : describeItem(value)}`,
    )
    .join(' ');
}

function describeItem(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  const { name, driver, ...rest } = value as Record<string, unknown>;
  if (typeof name === 'string') return driver ? `${name}:${String(driver)}` : name;
  return JSON.stringify({ name, driver, ...rest });
}

export function renderRegions(report: RegionsReport): string {
  const lines: string[] = [];
  if (report.regions.length === 0) lines.push('no regions found');
  else {
    // A --root tree's /proc/iomem names (a region's parent) and driver links are any bytes: escaped, as
    // the probe's evidence is, so that none reaches the terminal raw.
    const rows = report.regions.map((r) => [
      chalk.bold(escapeControl(r.name)),
      r.kind,
      r.start ?? chalk.dim('-'),
      r.size === null ? chalk.dim('?') : formatBytes(BigInt(r.size)),
      chalk.dim(escapeControl(details(r))),
    ]);
    lines.push(table([['NAME', 'KIND', 'START', 'SIZE', 'DETAILS'].map((h) => chalk.dim(h)), ...rows], ''));
  }
  for (const warning of report.warnings) lines.push(chalk.yellow(`warning: ${escapeControl(warning)}`));
  return lines.join('\n');
}
