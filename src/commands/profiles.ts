import { Command } from '@commander-js/extra-typings';
import { BUILT_IN_PROFILE_NAMES, builtInProfile, type Profile } from '../backends/emulated/profiles.js';
import type { Context } from '../cli/context.js';
import { chalk, table } from '../cli/style.js';
import { ExitCode } from '../core/errors.js';
import { emit } from '../core/output.js';
import { formatBytes, formatHex } from '../core/units.js';
import type { CommandRunner } from './runner.js';

export function profilesCommand(run: CommandRunner) {
  return new Command('profiles')
    .description('list the built-in emulated firmware profiles')
    .action(async (_options, command) => run(command, (context) => profiles(context)));
}

/** A profile as JSON: 64-bit values as strings, statuses by name. */
export function profileJson(p: Profile) {
  return {
    name: p.name,
    description: p.description,
    smccc_version: p.smccc_version ? `${p.smccc_version.major}.${p.smccc_version.minor}` : 'none',
    conduit: p.conduit,
    implements: p.implements,
    attributes_status: p.attributes_status,
    attributes: { ...p.attributes, breakeven_bytes: p.attributes.breakeven_bytes.toString() },
    timing: p.timing,
    faults: p.faults,
    checks: { align_bytes: p.checks.align_bytes.toString() },
    regions: p.regions.map((r) => ({ ...r, start: formatHex(r.start), size: r.size.toString() })),
  };
}

async function profiles(context: Context): Promise<number> {
  const list = BUILT_IN_PROFILE_NAMES.map(builtInProfile);
  await emit(
    {
      json: { backend: 'emulated', profiles: list.map(profileJson) },
      human: () => {
        const rows = list.map((p) => [chalk.bold(p.name), summary(p), chalk.dim(p.description)]);
        return `${table(rows, '')}\n${chalk.dim('use one with --backend emulated --profile NAME, or give a JSON profile file')}`;
      },
    },
    context.format,
    context.output,
  );
  return ExitCode.OK;
}

function summary(p: Profile): string {
  const v = p.smccc_version ? `SMCCC ${p.smccc_version.major}.${p.smccc_version.minor}` : 'no SMCCC_VERSION';
  if (!p.implements.clean_inv_memregion) return `${v}, no CLEAN_INV_MEMREGION`;
  const a = p.attributes;
  return `${v}, ${a.global ? 'global' : 'range'}, ${a.latency_us} µs${a.rate_limit ? `, ${a.rate_limit}/s` : ''}, break-even ${formatBytes(a.breakeven_bytes)}`;
}
