import { createBackend } from '../api.js';
import {
  BACKEND_NAMES,
  type Backend,
  type BackendName,
  PROVIDER_VARIANTS,
  type ProviderVariant,
} from '../backends/types.js';
import { ExitCode, MemregionError, usageError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import type { Format } from '../core/output.js';
import { quote } from '../core/quote.js';
import { freshSeed } from '../core/random.js';
import { parseCount } from '../core/units.js';
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

/** Everything a command needs besides its own options. */
export interface Context {
  backendName: BackendName;
  profile?: string;
  root: string;
  seed: number;
  provider: ProviderVariant;
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
  const backendName = options.backend ?? 'sysfs';
  if (!(BACKEND_NAMES as string[]).includes(backendName)) {
    throw usageError(`unknown backend ${quote(backendName)} (sysfs or emulated)`);
  }
  const provider = options.provider ?? 'v2';
  if (!(PROVIDER_VARIANTS as string[]).includes(provider)) {
    throw usageError(`unknown provider ${quote(provider)} (${PROVIDER_VARIANTS.join(', ')})`);
  }
  const format = (options.json ? 'json' : (options.format ?? 'human')) as Format;
  if (options.json && options.format && options.format !== 'json') {
    throw usageError(`--json contradicts --format ${quote(options.format)}`);
  }
  if (!['human', 'json', 'prometheus'].includes(format)) {
    throw usageError(`unknown format ${quote(format)} (human, json or prometheus)`);
  }
  if (options.root === '' && backendName === 'sysfs')
    throw usageError('--root (or MEMREGION_ROOT) is empty: give a directory, or leave it unset for /');
  if (options.output === '') throw usageError('--output needs a file name (an empty one would mean stdout)');
  if (format === 'human') await enableColor(options.color !== false);
  const seed =
    options.seed === undefined
      ? freshSeed()
      : parseCount(options.seed, '--seed', { allowZero: true, max: 0xffff_ffff });
  const quiet = options.quiet === true;
  const verbose = options.verbose === true;
  const log = createLogger(quiet ? 'quiet' : verbose ? 'verbose' : 'normal');
  const context: Context = {
    backendName: backendName as BackendName,
    profile: options.profile,
    root: options.root ?? '/',
    seed,
    provider: provider as ProviderVariant,
    format,
    output: options.output,
    log,
    quiet,
    verbose,
    signal,
    createBackend: async ({ virtualTime = false, provider = context.provider } = {}) =>
      createBackend({
        backend: context.backendName,
        profile: context.profile,
        root: context.backendName === 'sysfs' ? await requireRoot(context.root) : context.root,
        seed: context.seed,
        provider,
        virtualTime,
        log,
      }),
  };
  if (context.backendName === 'sysfs' && options.profile && !process.env.MEMREGION_PROFILE) {
    log.warn('--profile applies to the emulated backend only; ignored with --backend sysfs');
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
 * The sysfs backend's root must be a directory that exists: a typo would otherwise read as a machine with
 * nothing on it (an "unknown" verdict, 69). Missing or not a directory: 66.
 */
async function requireRoot(root: string): Promise<string> {
  const { stat } = await import('node:fs/promises');
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(root)).isDirectory();
  } catch (error) {
    throw new MemregionError(
      `--root ${quote(root)}: no such directory (${(error as NodeJS.ErrnoException).code ?? 'EIO'})`,
      ExitCode.NO_INPUT,
    );
  }
  if (!isDirectory) throw new MemregionError(`--root ${quote(root)} is not a directory`, ExitCode.NO_INPUT);
  return root;
}
