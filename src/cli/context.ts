import { checkSeed, createBackend } from '../api.js';
import { isProfileFileName } from '../backends/emulated/profile-file-name.js';
import type { Backend, BackendName, ProviderVariant } from '../backends/types.js';
import { ExitCode, MemregionError, usageError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import type { Format } from '../core/output.js';
import { quote } from '../core/quote.js';
import { freshSeed } from '../core/random.js';
import { enableColor } from './style.js';

/** Global options as commander gives them (DESIGN §5). */
export interface GlobalOptions {
  backend?: string;
  profile?: string;
  root?: string;
  seed?: string;
  provider?: string;
  json?: boolean;
  format?: string;
  output?: string;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

/**
 * Everything a command needs besides its own options. The backend's options go to the API as the flags
 * gave them (api.ts checks them); only the output options are the CLI's own.
 */
export interface Context {
  backendName: string;
  profile?: string;
  root: string;
  seed: number;
  provider: string;
  format: Format;
  output?: string;
  log: Logger;
  quiet: boolean;
  verbose: boolean;
  signal: AbortSignal;
  /** `provider` overrides the global --provider (stress --compare runs each variant). */
  createBackend(options?: { virtualTime?: boolean; provider?: ProviderVariant }): Promise<Backend>;
}

export async function createContext(options: GlobalOptions, signal: AbortSignal): Promise<Context> {
  const format = (options.json ? 'json' : (options.format ?? 'human')) as Format;
  if (options.json && options.format && options.format !== 'json') {
    throw usageError(`--json contradicts --format ${quote(options.format)}`);
  }
  if (!['human', 'json', 'prometheus'].includes(format)) {
    throw usageError(`unknown format ${quote(format)} (human, json or prometheus)`);
  }
  if (options.output === '') throw usageError('--output needs a file name (an empty one would mean stdout)');
  // Before the command's work: an erase must not run when its report has nowhere to go.
  if (options.output !== undefined) {
    await (await import('../core/output-file.js')).checkOutputTarget(options.output, 'output file');
    await refuseProfileAsOutput(options, options.output, '--output');
  }
  if (format === 'human') await enableColor(options.color !== false);
  // Checked here, not when a backend is made, so that every command refuses a bad --seed.
  const seed = options.seed === undefined ? freshSeed() : checkSeed(options.seed);
  const quiet = options.quiet === true;
  const verbose = options.verbose === true;
  const log = createLogger(quiet ? 'quiet' : verbose ? 'verbose' : 'normal');
  const context: Context = {
    backendName: options.backend ?? 'sysfs',
    profile: options.profile,
    root: options.root ?? '/',
    seed,
    provider: options.provider ?? 'v2',
    format,
    output: options.output,
    log,
    quiet,
    verbose,
    signal,
    createBackend: ({ virtualTime = false, provider = context.provider } = {}) =>
      createBackend({
        // Text as commander gave it: the API checks the names.
        backend: context.backendName as BackendName,
        profile: context.profile,
        root: context.root,
        seed: context.seed,
        provider: provider as ProviderVariant,
        virtualTime,
        log,
      }),
  };
  if (context.backendName === 'sysfs' && options.profile && !process.env.MEMREGION_PROFILE) {
    log.warn('--profile applies to the emulated backend only; ignored with --backend sysfs');
  }
  // Said as for --profile: `-b emulated --root ./tree probe` otherwise judged the built-in firmware
  // without a word, and a script could take that for the tree's verdict.
  if (
    context.backendName === 'emulated' &&
    options.root !== undefined &&
    process.env.MEMREGION_ROOT === undefined
  ) {
    log.warn('--root applies to the sysfs backend only; ignored with --backend emulated');
  }
  return context;
}

/** Refuses formats a command does not have, before it does any work. */
export function requireFormat(context: Context, allowed: readonly Format[], command: string): void {
  if (!allowed.includes(context.format)) {
    throw new MemregionError(
      `--format ${context.format} is not available for ${command} (${allowed.join(', ')})`,
      ExitCode.USAGE,
    );
  }
}

/**
 * A result written over the profile file it was made from would destroy that input (`--profile lab.json
 * --output lab.json` replaced the profile with the report): refused, as compilers refuse an output that is
 * their input. Through links and hard links too; only where the emulated backend reads the profile.
 */
export async function refuseProfileAsOutput(
  options: Pick<GlobalOptions, 'backend' | 'profile'>,
  target: string,
  flag: string,
): Promise<void> {
  const profile = options.profile;
  if (options.backend !== 'emulated' || profile === undefined || !isProfileFileName(profile)) return;
  const { sameOutputFile } = await import('../core/output-file.js');
  if (await sameOutputFile(target, profile))
    throw usageError(
      `${flag} ${quote(target)} is the --profile file: writing there would replace the profile`,
    );
}
