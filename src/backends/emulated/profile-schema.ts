import { z } from 'zod';
import { dataError } from '../../core/errors.js';
import { isKernelName, type KernelNameKind, kernelNameRule } from '../../core/names.js';
import { firstControl } from '../../core/quote.js';
import { U64_MAX } from '../../core/u64.js';
import { lower32, MAX_VERSION_MAJOR, MAX_VERSION_MINOR, parseStatusName } from './kernel/arm-smccc.js';
import type { ProfileOverrides } from './profile.js';

/** Said of a wrong JSON type where an integer goes; zod's own word for a union is "Invalid input". */
const INTEGER_EXPECTED = 'expected an integer or a decimal / 0x string';

/** A 64-bit value: a safe integer, or a decimal / `0x` hex string. */
const u64 = z.union([z.number(), z.string()], { error: INTEGER_EXPECTED }).transform((value, ctx) => {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      ctx.addIssue({ code: 'custom', message: 'is not a whole number of 0 or more' });
      return z.NEVER;
    }
    if (!Number.isSafeInteger(value)) {
      ctx.addIssue({ code: 'custom', message: 'is not a safe integer: give 64-bit values as strings' });
      return z.NEVER;
    }
    return BigInt(value);
  }
  const text = value.trim();
  if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) {
    ctx.addIssue({ code: 'custom', message: 'is not a decimal or 0x hex integer' });
    return z.NEVER;
  }
  const parsed = BigInt(text);
  if (parsed > U64_MAX) {
    ctx.addIssue({ code: 'custom', message: 'does not fit in 64 bits' });
    return z.NEVER;
  }
  return parsed;
});

const I64_MIN = -(1n << 63n);

/** A 64-bit register value from JSON: a safe integer or a decimal / `0x` string, -2^63 to 2^64-1. */
function parseRegister(value: number | string): bigint | string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'is not an integer';
    return Number.isSafeInteger(value)
      ? BigInt(value)
      : 'is not a safe integer: give 64-bit values as strings';
  }
  const text = value.trim();
  if (!/^-?(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) return 'is not a decimal or 0x hex integer';
  const parsed = text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
  return parsed > U64_MAX || parsed < I64_MIN ? 'does not fit in a 64-bit register' : parsed;
}

/** Any value firmware could put in a 64-bit register (negative for a status such as -5). */
const reg64 = z.union([z.number(), z.string()], { error: INTEGER_EXPECTED }).transform((value, ctx) => {
  const parsed = parseRegister(value);
  if (typeof parsed === 'bigint') return parsed;
  ctx.addIssue({ code: 'custom', message: parsed });
  return z.NEVER;
});

/** A status as x0: a name (`busy`, `RATE_LIMITED`) or any 64-bit integer; else an issue saying why. */
function statusValue(value: number | string, ctx: z.RefinementCtx): bigint {
  const named = typeof value === 'string' ? parseStatusName(value) : undefined;
  if (named !== undefined) return BigInt(named);
  const parsed = parseRegister(value);
  if (typeof parsed === 'bigint') return parsed;
  ctx.addIssue({
    code: 'custom',
    message:
      typeof value === 'string' && !/^-?[0-9]/.test(value.trim())
        ? 'is not a status name (success, not_supported, not_required, invalid_parameter, rate_limited, busy) or an integer'
        : parsed,
  });
  return z.NEVER;
}

const status = z
  .union([z.number(), z.string()], { error: 'expected a status name or an integer' })
  .transform(statusValue);

const u32 = z.number().int().min(0).max(0xffff_ffff);
const probability = z.number().min(0).max(1);

/**
 * ARCH_FEATURES' answer: true (0, present), false (NOT_SUPPORTED) or the integer itself. One union of the
 * JSON types, not of `z.boolean()` and `status`: an integer past 2^53 then says why, not "Invalid input".
 */
const feature = z
  .union([z.boolean(), z.number(), z.string()], { error: 'expected true, false or an integer' })
  .transform((value, ctx): bigint => {
    if (typeof value === 'boolean') return value ? 0n : -1n;
    return statusValue(value, ctx);
  });

/**
 * Text a profile shows on a terminal (its name in every report header, its description in `profiles`):
 * no control characters, which would reach the screen raw in a report or steer it (an ESC sequence, a
 * bidi override that shows the rest of the line reversed).
 */
const displayText = () =>
  z.string().superRefine((text, context) => {
    const control = firstControl(text);
    if (control !== null)
      context.addIssue({
        code: 'custom',
        message: `contains a control character (${control}): control, line-separator and bidi formatting characters are refused`,
      });
  });

/** Names as the kernel spells them: the rule both backends apply to a name on the command line. */
const kernelName = (kind: KernelNameKind) =>
  z.string().refine((name) => isKernelName(kind, name), kernelNameRule(kind));

const memdevName = kernelName('memdev');

const regionSchema = z.strictObject({
  name: kernelName('region'),
  start: u64,
  size: u64.refine((size) => size > 0n, 'must not be 0'),
  memdev: memdevName.optional(),
  /** An interleaved region: its memdevs in interleave order (instead of `memdev`). */
  memdevs: z
    .array(memdevName)
    .min(1)
    .max(16)
    .refine((names) => new Set(names).size === names.length, 'must not name a memdev twice')
    .optional(),
  /** Memdevs whose erase write the device refuses, and the errno it refuses with. */
  erase_errors: z
    .preprocess(
      // zod drops a `__proto__` key of a record without a word: it is no memdev name either.
      (value, context) => {
        if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__'))
          context.addIssue({ code: 'custom', message: kernelNameRule('memdev'), path: ['__proto__'] });
        return value;
      },
      z.record(memdevName, z.enum(['EBUSY', 'EIO', 'ENXIO', 'EACCES', 'EPERM', 'EINVAL', 'EOPNOTSUPP'])),
    )
    .optional(),
  sanitize_ms: z.number().nonnegative().default(2000),
  committed: z.boolean().default(false),
  /** CXL_REGION_F_LOCK (drivers/cxl/core/region.c cxl_region_setup_flags(): a decoder the platform locked). */
  locked: z.boolean().default(false),
  used_by: z.array(displayText()).default([]),
});

/** The profile file format of DESIGN §4: every key optional, unknown keys rejected. */
export const profileFileSchema = z.strictObject({
  name: displayText().min(1).optional(),
  description: displayText().optional(),
  smccc_version: z
    .string()
    .regex(/^(none|[0-9]{1,6}\.[0-9]{1,6})$/, 'must be "major.minor" or "none"')
    .refine((text) => {
      if (text === 'none') return true;
      const [major, minor] = text.split('.').map(Number);
      return major! <= MAX_VERSION_MAJOR && minor! <= MAX_VERSION_MINOR;
    }, `does not fit SMCCC_VERSION (major 0-${MAX_VERSION_MAJOR} in bits 30:16, minor 0-${MAX_VERSION_MINOR} in bits 15:0)`)
    .optional(),
  conduit: z.enum(['smc', 'hvc', 'none']).optional(),
  implements: z
    .strictObject({ clean_inv_memregion: feature.optional(), attributes: feature.optional() })
    .optional(),
  attributes_status: status.optional(),
  attributes: z
    .strictObject({
      global: z.boolean().optional(),
      latency_us: u32.optional(),
      rate_limit: u32.optional(),
      breakeven_bytes: u64.optional(),
      raw: z
        .strictObject({
          x1: reg64.optional(),
          x2: reg64.optional(),
          x3: reg64.optional(),
          x4: reg64.optional(),
        })
        .nullable()
        .optional(),
    })
    .optional(),
  // Microseconds, at most what latency_us can say (u32): a call of 1e308 µs made the virtual clock's sums
  // infinite and stress spin.
  timing: z
    .strictObject({
      call_us: z.number().nonnegative().max(0xffff_ffff).optional(),
      per_gib_us: z.number().nonnegative().max(0xffff_ffff).optional(),
    })
    .optional(),
  faults: z
    .strictObject({
      busy_probability: probability.optional(),
      rate_limited_probability: probability.optional(),
      busy_burst: z.number().int().nonnegative().optional(),
      always: status.nullable().optional(),
      sequence: z.array(status).max(100_000).optional(),
      enforce_rate_limit: z.boolean().optional(),
    })
    .optional(),
  checks: z.strictObject({ align_bytes: u64.optional() }).optional(),
  regions: z
    .array(
      regionSchema
        .refine((r) => r.start + r.size <= U64_MAX + 1n, {
          message: 'start + size is past 2^64',
          path: ['size'],
        })
        .refine((r) => r.memdev === undefined || r.memdevs === undefined, {
          message: 'give memdev or memdevs, not both',
          path: ['memdevs'],
        })
        // A memdev the region does not have would never be erased, and its failure never injected.
        .superRefine((r, context) => {
          const memdevs = r.memdevs ?? (r.memdev === undefined ? [] : [r.memdev]);
          for (const name of Object.keys(r.erase_errors ?? {}))
            if (!memdevs.includes(name))
              context.addIssue({
                code: 'custom',
                message: `${name} is not a memdev of this region (${memdevs.join(', ') || 'it has none'})`,
                path: ['erase_errors', name],
              });
        })
        // drivers/cxl/core/region.c cxl_region_can_probe(): the region driver, and with it the DAX region
        // and its devices, binds only to a committed region, so nothing can use an uncommitted one.
        .refine((r) => r.committed || r.used_by.length === 0, {
          message:
            'an uncommitted region has no users (the kernel binds its driver and DAX devices only once it is committed)',
          path: ['used_by'],
        })
        // A locked region's decoders were committed and locked by the platform firmware: it is committed.
        .refine((r) => r.committed || !r.locked, {
          message: 'a locked region is committed (the platform firmware committed and locked its decoders)',
          path: ['locked'],
        }),
    )
    // The kernel names each region once (dev_set_name()); a second `regionN` would be unreachable.
    .superRefine((regions, context) => {
      const seen = new Set<string>();
      regions.forEach((region, i) => {
        if (seen.has(region.name))
          context.addIssue({ code: 'custom', message: `${region.name} is named twice`, path: [i, 'name'] });
        seen.add(region.name);
      });
    })
    .optional(),
});

export type ProfileFile = z.input<typeof profileFileSchema>;

const u64reg = (value: bigint | undefined): bigint => BigInt.asUintN(64, value ?? 0n);

/** Validates a profile file's JSON and turns it into overrides of the default profile. */
export function parseProfileFile(json: unknown, source: string): ProfileOverrides {
  const parsed = profileFileSchema.safeParse(json);
  if (!parsed.success) throw dataError(`profile ${source}: ${describeIssue(parsed.error)}`);
  const { smccc_version, attributes, ...rest } = parsed.data;
  const overrides: ProfileOverrides = { ...rest };
  if (smccc_version !== undefined) {
    const [major, minor] = smccc_version.split('.').map(Number);
    overrides.smccc_version = smccc_version === 'none' ? null : { major: major!, minor: minor! };
  }
  if (attributes !== undefined) {
    const { raw, ...named } = attributes;
    overrides.attributes = { ...named };
    if (raw === null) overrides.attributes.raw = null;
    else if (raw !== undefined) {
      // The registers as firmware returns them; the named fields follow as the kernel reads them.
      const regs = { x1: u64reg(raw.x1), x2: u64reg(raw.x2), x3: u64reg(raw.x3), x4: u64reg(raw.x4) };
      overrides.attributes = {
        global: (regs.x1 & 1n) === 1n,
        latency_us: lower32(regs.x2),
        rate_limit: lower32(regs.x3),
        breakeven_bytes: regs.x4,
        raw: regs,
      };
    }
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
