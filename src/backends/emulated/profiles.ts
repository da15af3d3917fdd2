import { isUtf8 } from 'node:buffer';
import { dataError, usageError } from '../../core/errors.js';
import { readRegularFileBytes } from '../../core/input-file.js';
import { parseJsonText } from '../../core/json-text.js';
import { quote } from '../../core/quote.js';
import { formatBytes, formatHex } from '../../core/units.js';
import { type Conduit, Status, statusName } from './kernel/arm-smccc.js';
import type { Profile, ProfileOverrides } from './profile.js';
import { isProfileFileName } from './profile-file-name.js';

export type { Profile, ProfileOverrides, RegionSpec } from './profile.js';
export type { Conduit };

/** The `global` profile: every key a profile file leaves out takes its value from here. */
export const DEFAULT_PROFILE: Profile = {
  name: 'global',
  description: 'SMCCC 1.7 firmware whose clean+invalidate is global (all caches, whatever the range)',
  smccc_version: { major: 1, minor: 7 },
  conduit: 'smc',
  implements: { clean_inv_memregion: 0n, attributes: 0n },
  attributes_status: 0n,
  attributes: { global: true, latency_us: 100, rate_limit: 0, breakeven_bytes: 1n << 30n, raw: null },
  timing: { call_us: 50, per_gib_us: 0 },
  faults: {
    busy_probability: 0,
    rate_limited_probability: 0,
    busy_burst: 0,
    always: null,
    sequence: [],
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
      locked: false,
      used_by: [],
    },
    {
      name: 'region1',
      start: 0x41_0000_0000n,
      size: 0x1_0000_0000n,
      memdev: 'mem1',
      sanitize_ms: 5000,
      committed: true,
      locked: false,
      used_by: [],
    },
  ],
};

const NOT_SUPPORTED = BigInt(Status.NOT_SUPPORTED);

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
    implements: { clean_inv_memregion: NOT_SUPPORTED, attributes: NOT_SUPPORTED },
  },
  'smccc-1.0': {
    description: 'SMCCC 1.0 firmware (no SMCCC_VERSION, no ARCH_FEATURES): the provider does not register',
    smccc_version: { major: 1, minor: 0 },
  },
  stuck: {
    description: 'global firmware that answers BUSY to every call: retries are exhausted (EBUSY)',
    faults: { always: BigInt(Status.BUSY) },
  },
};

export const BUILT_IN_PROFILE_NAMES = Object.keys(BUILT_IN);

/** `overrides` over `base`, key by key (nested objects merged, values and lists replaced). */
export function mergeProfile(base: Profile, overrides: ProfileOverrides): Profile {
  // A copy: profiles never share nested objects with the defaults or with each other.
  return normalized(structuredClone(mergeDeep(base, overrides)) as Profile);
}

/** A register value given loosely (booleans for ARCH_FEATURES, numbers for statuses) as the bigint x0. */
function x0Of(value: bigint | number | boolean): bigint {
  if (typeof value === 'boolean') return value ? 0n : BigInt(Status.NOT_SUPPORTED);
  return BigInt(value);
}

/** Profiles built in code (tests, the library API) may give statuses as numbers and features as booleans. */
function normalized(profile: Profile): Profile {
  const loose = profile as unknown as {
    implements: Record<string, bigint | number | boolean>;
    attributes_status: bigint | number;
    faults: { always: bigint | number | null; sequence?: Array<bigint | number> };
    attributes: { raw?: Profile['attributes']['raw'] };
  };
  profile.implements = {
    clean_inv_memregion: x0Of(loose.implements.clean_inv_memregion!),
    attributes: x0Of(loose.implements.attributes!),
  };
  profile.attributes_status = x0Of(loose.attributes_status);
  profile.faults.always = loose.faults.always === null ? null : x0Of(loose.faults.always);
  profile.faults.sequence = (loose.faults.sequence ?? []).map(x0Of);
  profile.attributes.raw = loose.attributes.raw ?? null;
  return profile;
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
  if (Object.hasOwn(BUILT_IN, nameOrFile) || !isProfileFileName(nameOrFile)) {
    return builtInProfile(nameOrFile);
  }
  // A regular file only (a FIFO or a device would block forever), exit 66 otherwise.
  const bytes = await readRegularFileBytes(nameOrFile, 'profile');
  const text = bytes.toString('utf8');
  // The path as user text in the messages: quoted, clipped, its control characters escaped.
  const shown = quote(nameOrFile);
  const json = parseJson(text, shown);
  // Decoded as it was, a byte that is no UTF-8 became U+FFFD in the name the reports show.
  if (!isUtf8(bytes)) throw dataError(`profile ${shown} is not valid UTF-8: save it as UTF-8`);
  // The schema (zod) is loaded only for profile files, to keep start-up fast.
  const { parseProfileFile } = await import('./profile-schema.js');
  const overrides = parseProfileFile(json, shown);
  const fallbackName = nameOrFile.replace(/^.*\//, '').replace(/\.json$/, '');
  return mergeProfile(DEFAULT_PROFILE, { name: fallbackName, ...overrides });
}

/** The profile file's JSON; an error says where (line and column), never what the text was. */
function parseJson(text: string, source: string): unknown {
  const parsed = parseJsonText(text);
  if ('error' in parsed) throw dataError(`profile ${source} is not valid JSON${parsed.error}`);
  return parsed.value;
}

const x0Text = (x0: bigint): string => {
  const name = statusName(x0);
  return name.startsWith('UNKNOWN') ? x0.toString() : name;
};

/** A profile as JSON: 64-bit values as strings, statuses by name where they have one. */
export function profileJson(p: Profile) {
  const a = p.attributes;
  return {
    name: p.name,
    description: p.description,
    smccc_version: p.smccc_version ? `${p.smccc_version.major}.${p.smccc_version.minor}` : 'none',
    conduit: p.conduit,
    implements: {
      clean_inv_memregion: x0Text(p.implements.clean_inv_memregion),
      attributes: x0Text(p.implements.attributes),
    },
    attributes_status: x0Text(p.attributes_status),
    attributes: {
      global: a.global,
      latency_us: a.latency_us,
      rate_limit: a.rate_limit,
      breakeven_bytes: a.breakeven_bytes.toString(),
      raw: a.raw
        ? {
            x1: formatHex(a.raw.x1),
            x2: formatHex(a.raw.x2),
            x3: formatHex(a.raw.x3),
            x4: formatHex(a.raw.x4),
          }
        : null,
    },
    timing: p.timing,
    faults: {
      ...p.faults,
      always: p.faults.always === null ? null : x0Text(p.faults.always),
      sequence: p.faults.sequence.map(x0Text),
    },
    checks: { align_bytes: p.checks.align_bytes.toString() },
    regions: p.regions.map((r) => ({ ...r, start: formatHex(r.start), size: r.size.toString() })),
  };
}

/** Whether ARCH_FEATURES' answer says the function exists, as the kernel reads it. */
export const implemented = (x0: bigint): boolean => BigInt.asIntN(32, x0) >= 0n;

/** One line: version, operation type, latency, rate limit, break-even. */
export function profileSummary(p: Profile): string {
  const v = p.smccc_version ? `SMCCC ${p.smccc_version.major}.${p.smccc_version.minor}` : 'no SMCCC_VERSION';
  if (!implemented(p.implements.clean_inv_memregion)) return `${v}, no CLEAN_INV_MEMREGION`;
  const a = p.attributes;
  return `${v}, ${a.global ? 'global' : 'range'}, ${a.latency_us} µs${a.rate_limit ? `, ${a.rate_limit}/s` : ''}, break-even ${formatBytes(a.breakeven_bytes)}`;
}
