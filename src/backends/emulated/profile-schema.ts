import { z } from 'zod';
import { dataError } from '../../core/errors.js';
import { parseStatusName, U64_MAX } from '../../core/smccc.js';
import type { ProfileOverrides } from './profiles.js';

/** A 64-bit value: a safe integer, or a decimal / `0x` hex string. */
const u64 = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      ctx.addIssue({ code: 'custom', message: 'is not a safe integer: give 64-bit values as strings' });
      return z.NEVER;
    }
    return BigInt(value);
  }
  const text = value.trim();
  if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a decimal or 0x hex integer` });
    return z.NEVER;
  }
  const parsed = BigInt(text);
  if (parsed > U64_MAX) {
    ctx.addIssue({ code: 'custom', message: `"${value}" does not fit in 64 bits` });
    return z.NEVER;
  }
  return parsed;
});

const u32 = z.number().int().min(0).max(0xffff_ffff);
const probability = z.number().min(0).max(1);

const statusName = z.string().refine((text) => parseStatusName(text) !== undefined, {
  message:
    'is not a status name (success, not_supported, not_required, invalid_parameter, rate_limited, busy)',
});

const regionSchema = z.strictObject({
  name: z.string().regex(/^region[0-9]+$/, 'must be a kernel region name such as region0'),
  start: u64,
  size: u64,
  memdev: z
    .string()
    .regex(/^mem[0-9]+$/, 'must be a kernel memdev name such as mem0')
    .optional(),
  sanitize_ms: z.number().nonnegative().default(2000),
  committed: z.boolean().default(false),
  used_by: z.array(z.string()).default([]),
});

/** The profile file format of DESIGN §4: every key optional, unknown keys rejected. */
export const profileFileSchema = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  smccc_version: z
    .string()
    .regex(/^(none|[0-9]+\.[0-9]+)$/, 'must be "major.minor" or "none"')
    .optional(),
  conduit: z.enum(['smc', 'hvc', 'none']).optional(),
  implements: z
    .strictObject({ clean_inv_memregion: z.boolean().optional(), attributes: z.boolean().optional() })
    .optional(),
  attributes_status: z.union([z.number().int(), statusName]).optional(),
  attributes: z
    .strictObject({
      global: z.boolean().optional(),
      latency_us: u32.optional(),
      rate_limit: u32.optional(),
      breakeven_bytes: u64.optional(),
    })
    .optional(),
  timing: z
    .strictObject({
      call_us: z.number().nonnegative().optional(),
      per_gib_us: z.number().nonnegative().optional(),
    })
    .optional(),
  faults: z
    .strictObject({
      busy_probability: probability.optional(),
      rate_limited_probability: probability.optional(),
      busy_burst: z.number().int().nonnegative().optional(),
      always: z.union([statusName, z.null()]).optional(),
      enforce_rate_limit: z.boolean().optional(),
    })
    .optional(),
  checks: z.strictObject({ align_bytes: u64.optional() }).optional(),
  regions: z.array(regionSchema).optional(),
});

export type ProfileFile = z.input<typeof profileFileSchema>;

/** Validates a profile file's JSON and turns it into overrides of the default profile. */
export function parseProfileFile(json: unknown, source: string): ProfileOverrides {
  const parsed = profileFileSchema.safeParse(json);
  if (!parsed.success) throw dataError(`profile ${source}: ${describeIssue(parsed.error)}`);
  const { smccc_version, attributes_status, faults, ...rest } = parsed.data;
  const overrides: ProfileOverrides = { ...rest };
  if (smccc_version !== undefined) {
    const [major, minor] = smccc_version.split('.').map(Number);
    overrides.smccc_version = smccc_version === 'none' ? null : { major: major!, minor: minor! };
  }
  if (attributes_status !== undefined) {
    overrides.attributes_status =
      typeof attributes_status === 'string' ? parseStatusName(attributes_status)! : attributes_status;
  }
  if (faults !== undefined) {
    const { always, ...otherFaults } = faults;
    overrides.faults = { ...otherFaults };
    if (always !== undefined) overrides.faults.always = always === null ? null : parseStatusName(always)!;
  }
  return overrides;
}

/** One line naming the first offending key, e.g. `faults.busy_probability: must be at most 1`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid profile';
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length > 0 ? `${where}.` : '';
    return `unknown key ${issue.keys.map((k) => `"${prefix}${k}"`).join(', ')}`;
  }
  return `${where}: ${issue.message}`;
}
