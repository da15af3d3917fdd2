/** The emulated firmware's description (DESIGN §4), as the harness uses it. */
import type { Conduit } from './kernel/arm-smccc.js';

export interface RegionSpec {
  name: string;
  start: bigint;
  size: bigint;
  memdev?: string;
  /** An interleaved region's memdevs, in interleave order (a profile gives `memdev` or `memdevs`). */
  memdevs?: string[];
  /** Memdevs whose erase write the device refuses, with the errno (e.g. `{ "mem1": "EIO" }`). */
  erase_errors?: Record<string, string>;
  sanitize_ms: number;
  committed: boolean;
  /** CXL_REGION_F_LOCK: built from decoders the platform locked, so it cannot be decommitted. */
  locked: boolean;
  used_by: string[];
}

/** A complete firmware description (DESIGN §4). */
export interface Profile {
  name: string;
  description: string;
  /** null: SMCCC_VERSION is not implemented. */
  smccc_version: { major: number; minor: number } | null;
  conduit: Conduit;
  /** What ARCH_FEATURES answers for each function (x0; the kernel reads `(s32)x0 >= 0` as present). */
  implements: { clean_inv_memregion: bigint; attributes: bigint };
  /** x0 of the ATTRIBUTES call. */
  attributes_status: bigint;
  /**
   * The attributes; with `raw`, the registers ATTRIBUTES returns, from which the named fields were
   * derived as the kernel reads them (bit 0 of x1, low 32 bits of x2 and x3, x4).
   */
  attributes: {
    global: boolean;
    latency_us: number;
    rate_limit: number;
    breakeven_bytes: bigint;
    raw: { x1: bigint; x2: bigint; x3: bigint; x4: bigint } | null;
  };
  timing: { call_us: number; per_gib_us: number };
  faults: {
    busy_probability: number;
    rate_limited_probability: number;
    busy_burst: number;
    /** Every CLEAN_INV_MEMREGION call answers this x0 (null: none). */
    always: bigint | null;
    /** Answers (x0) for the first CLEAN_INV_MEMREGION calls, in order; then the settings above apply. */
    sequence: bigint[];
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
