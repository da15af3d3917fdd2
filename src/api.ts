/**
 * The library API: what the CLI does, for Node scripts, without spawning it.
 */
import { usageError } from './core/errors.js';
import { silentLogger } from './core/log.js';
import { freshSeed } from './core/random.js';
import type { Backend, BackendOptions } from './backends/types.js';

export type { Backend, BackendOptions } from './backends/types.js';

/** A backend by name; the emulated one loads its profile and runs provider discovery first. */
export async function createBackend(options: Partial<BackendOptions> & Pick<BackendOptions, 'backend'>): Promise<Backend> {
  const full: BackendOptions = {
    root: '/',
    seed: freshSeed(),
    provider: 'v2',
    virtualTime: false,
    log: silentLogger,
    ...options,
  };
  switch (full.backend) {
    case 'emulated': {
      const { createEmulatedBackend } = await import('./backends/emulated/index.js');
      return createEmulatedBackend(full);
    }
    case 'sysfs': {
      const { createSysfsBackend } = await import('./backends/sysfs/index.js');
      return createSysfsBackend(full);
    }
    default:
      throw usageError(`unknown backend "${String(full.backend)}" (sysfs or emulated)`);
  }
}
