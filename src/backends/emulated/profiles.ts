import { readFile } from 'node:fs/promises';
import { dataError, ExitCode, MemregionError, usageError } from '../../core/errors.js';

export type Conduit = 'smc' | 'hvc' | 'none';

export interface RegionSpec {
  name: string;
  start: bigint;
  size: bigint;
  memdev?: string;
  sanitize_ms: number;
  committed: boolean;
  used_by: string[];
}

/** A complete firmware description (DESIGN §4). */
export interface Profile {
  name: string;
  description: string;
  /** null: SMCCC_VERSION is not implemented. */
  smccc_version: { major: number; minor: number } | null;
  conduit: Conduit;
  implements: { clean_inv_memregion: boolean; attributes: boolean };
  attributes_status: number;
  attributes: { global: boolean; latency_us: number; rate_limit: number; breakeven_bytes: bigint };
  timing: { call_us: number; per_gib_us: number };
  faults: {
    busy_probability: number;
    rate_limited_probability: number;
    busy_burst: number;
    /** Every call answers this status (null: none). */
    always: number | null;
    enforce_rate_limit: boolean;
  };
  checks: { align_bytes: bigint };
  regions: RegionSpec[];
}

type Overrides<T> = {
  [K in keyof T]?: T[K] extends bigint | unknown[] | null
    ? T[K]
    : T[K] extends object
      ? Overrides<T[K]>
      : T[K];
};
export type ProfileOverrides = Overrides<Profile>;

/** The `global` profile: every key a profile file leaves out takes its value from here. */
export const DEFAULT_PROFILE: Profile = {
  name: 'global',
  description: 'SMCCC 1.7 firmware whose clean+invalidate is global (all caches, whatever the range)',
  smccc_version: { major: 1, minor: 7 },
  conduit: 'smc',
  implements: { clean_inv_memregion: true, attributes: true },
  attributes_status: 0,
  attributes: { global: true, latency_us: 100, rate_limit: 0, breakeven_bytes: 1n << 30n },
  timing: { call_us: 50, per_gib_us: 0 },
  faults: {
    busy_probability: 0,
    rate_limited_probability: 0,
    busy_burst: 0,
    always: null,
    enforce_rate_limit: true,
  },
  checks: { align_bytes: 1n },
  regions: [
    {
      name: 'region0',
      start: 0x40_8000_0000n,
      size: 0x4000_0000n,
      memdev: 'mem0',
      sanitize_ms: 2000,
      committed: false,
      used_by: [],
    },
    {
      name: 'region1',
      start: 0x41_0000_0000n,
      size: 0x1_0000_0000n,
      memdev: 'mem1',
      sanitize_ms: 5000,
      committed: true,
      used_by: [],
    },
  ],
};

const BUSY = -5;

const BUILT_IN: Record<string, ProfileOverrides> = {
  global: {},
  range: {
    description:
      'SMCCC 1.7 firmware with range-based clean+invalidate: time grows with size, 64-byte alignment, no coalescing',
    attributes: { global: false, latency_us: 20 },
    timing: { call_us: 5, per_gib_us: 4000 },
    checks: { align_bytes: 64n },
  },
  busy: {
    description: 'global firmware that answers BUSY often, in bursts of 3 (exercises the retry path)',
    faults: { busy_probability: 0.2, busy_burst: 3 },
  },
  'rate-limited': {
    description: 'global firmware limited to 1000 calls per second, enforced (RATE_LIMITED when exceeded)',
    attributes: { latency_us: 0, rate_limit: 1000 },
    timing: { call_us: 20 },
  },
  unsupported: {
    description: 'SMCCC 1.7 firmware without CLEAN_INV_MEMREGION: the provider does not register',
    implements: { clean_inv_memregion: false, attributes: false },
  },
  'smccc-1.0': {
    description: 'SMCCC 1.0 firmware (no SMCCC_VERSION, no ARCH_FEATURES): the provider does not register',
    smccc_version: { major: 1, minor: 0 },
  },
  stuck: {
    description: 'global firmware that answers BUSY to every call: retries are exhausted (EBUSY)',
    faults: { always: BUSY },
  },
};

export const BUILT_IN_PROFILE_NAMES = Object.keys(BUILT_IN);

/** `overrides` over `base`, key by key (nested objects merged, values and lists replaced). */
export function mergeProfile(base: Profile, overrides: ProfileOverrides): Profile {
  // A copy: profiles never share nested objects with the defaults or with each other.
  return structuredClone(mergeDeep(base, overrides)) as Profile;
}

function mergeDeep(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides === undefined ? base : overrides;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) out[key] = mergeDeep(base[key], value);
  }
  return out;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function builtInProfile(name: string): Profile {
  // Own keys only: `constructor`, `toString` or `__proto__` are not profile names.
  const overrides = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name] : undefined;
  if (!overrides)
    throw usageError(
      `unknown profile "${name}" (built-in: ${BUILT_IN_PROFILE_NAMES.join(', ')}; or a .json file)`,
    );
  return mergeProfile(DEFAULT_PROFILE, { ...overrides, name });
}

/** A built-in name, or a path to a JSON profile file (anything with a `/` or ending in `.json`). */
export async function loadProfile(nameOrFile: string): Promise<Profile> {
  if (Object.hasOwn(BUILT_IN, nameOrFile) || (!nameOrFile.includes('/') && !nameOrFile.endsWith('.json'))) {
    return builtInProfile(nameOrFile);
  }
  let text: string;
  try {
    text = await readFile(nameOrFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new MemregionError(`cannot read profile ${nameOrFile} (${code})`, ExitCode.NO_INPUT);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw dataError(`profile ${nameOrFile} is not valid JSON (${(error as Error).message})`);
  }
  // The schema (zod) is loaded only for profile files, to keep start-up fast.
  const { parseProfileFile } = await import('./profile-schema.js');
  const overrides = parseProfileFile(json, nameOrFile);
  const fallbackName = nameOrFile.replace(/^.*\//, '').replace(/\.json$/, '');
  return mergeProfile(DEFAULT_PROFILE, { name: fallbackName, ...overrides });
}
