import type { Clock } from '../../../core/clock.js';
import { ExitCode, MemregionError } from '../../../core/errors.js';
import {
  eraseRefused,
  keepsRunning,
  MEMDEV_ERASE_CONSEQUENCE,
  type MemdevPrimitives,
  runRegionErase,
} from '../../region-erase.js';
import { requireConfirmation, requireProviderOf } from '../../region-flow.js';
import type {
  EmulatedErasePartialReport,
  EmulatedEraseReport,
  EmulatedRegionEraseReport,
  EraseOptions,
  RegionEraseOptions,
} from '../../types.js';
import {
  type EmulatedFlowRegion,
  emulatedProviderCheck,
  emulatedRegionPrimitives,
  type RegionContext,
} from './region-invalidate.js';
import { type EmulatedRegion, findMemdevRegions, memdevsOf } from './regions.js';

/** What an erase sees of the emulated backend. */
export interface EraseContext {
  regions: EmulatedRegion[];
  /** Memdevs whose sanitize runs (the erase adds and removes its own). */
  sanitizing: Set<string>;
  clock: Clock;
  hasProvider(): boolean;
  profileName: string;
}

const POLL_MS = 100;

/** Where the emulated kernel's state of a memdev's erase is said to be (its sysfs path below the device). */
const stateFile = (memdev: string): string => `${memdev}/security/state`;

/**
 * drivers/cxl/pci.c: a mailbox command the device does not finish within CXL_MAILBOX_TIMEOUT_MS (2 * HZ)
 * fails with ETIMEDOUT (cxl_pci_mbox_wait_for_doorbell(); one that went to the background is not waited
 * for at all, since cxl_mem_sanitize() gives Secure Erase no poll count).
 */
export const CXL_MAILBOX_TIMEOUT_MS = 2000;

/**
 * The write of `security/erase`: only Sanitize runs in the background (__cxl_pci_mbox_send_cmd() marks
 * `sanitize_active`, which security/state shows as `sanitize`); Secure Erase holds the write until the
 * device is done, or until the mailbox times out. The profile's `sanitize_ms` is the device's time.
 */
async function secureEraseWrite(clock: Clock, durationMs: number): Promise<string | null> {
  await clock.sleep(Math.min(durationMs, CXL_MAILBOX_TIMEOUT_MS) * 1000);
  return durationMs > CXL_MAILBOX_TIMEOUT_MS ? 'ETIMEDOUT' : null;
}

/** The errno the profile's `erase_errors` makes the device refuse the erase write with, or null. */
export const eraseErrorOf = (regions: EmulatedRegion[], memdev: string): string | null =>
  regions.map((r) => r.spec.erase_errors?.[memdev]).find((e) => e !== undefined) ?? null;

/**
 * `erase` on the emulated backend: the sysfs flow's preflight and confirmation, then a sanitize that
 * runs in the background for the profile's `sanitize_ms` on the backend's clock (or a secure erase that
 * holds the write as long), after which the memdev's regions need an invalidation on their next commit.
 */
export async function eraseMemdev(
  backend: EraseContext,
  memdev: string,
  options: EraseOptions,
): Promise<EmulatedEraseReport> {
  const regions = findMemdevRegions(backend.regions, memdev);
  const committed = regions.filter((r) => r.kernel.committed).map((r) => r.spec.name);
  if (committed.length > 0) {
    throw new MemregionError(
      `${memdev} has committed decoders (${committed.join(', ')}): the kernel refuses ${options.method} with EBUSY; decommit first`,
      ExitCode.TEMP_FAIL,
    );
  }
  // The sysfs backend's rule and words (sysfs/erase.ts eraseMemdev()).
  const forced = await requireProviderOf(
    emulatedProviderCheck(backend.hasProvider()),
    options.force,
    `${options.method} ${memdev}`,
    MEMDEV_ERASE_CONSEQUENCE,
  );
  await requireConfirmation(options.confirm, `${options.method} ${memdev}? All data on it is destroyed.`);
  const refused = eraseErrorOf(regions, memdev);
  if (refused) throw eraseRefused(memdev, options.method, refused);
  const durationMs = Math.max(...regions.map((r) => r.spec.sanitize_ms));
  const clock = backend.clock;
  const began = clock.now();
  const elapsedMs = () => (clock.now() - began) / 1000;
  if (options.method === 'secure-erase') {
    const failed = await secureEraseWrite(clock, durationMs);
    if (failed) throw eraseRefused(memdev, options.method, failed);
  } else await sanitizeInBackground(backend, durationMs, elapsedMs, memdev, options);
  for (const region of regions) region.needsInvalidation = true;
  return {
    backend: 'emulated',
    profile: backend.profileName,
    memdev,
    method: options.method,
    ok: true,
    state: 'disabled',
    elapsed_ms: Math.round(elapsedMs()),
    next_step: 'the next commit of a region on this device invalidates CPU caches for its range',
    warnings: forced ? [forced] : [],
    regions: regions.map((r) => r.spec.name),
  };
}

/**
 * A sanitize: security/state reads `sanitize` until it is done, waited out on the backend's clock as the
 * sysfs flow polls, with progress; timeout → 75, abort → 130, each with the report so far.
 */
async function sanitizeInBackground(
  backend: EraseContext,
  durationMs: number,
  elapsedMs: () => number,
  memdev: string,
  options: EraseOptions,
): Promise<void> {
  const stopped = (message: string, exitCode: number): MemregionError => {
    // A timeout or an interruption still has a report (ok: false), which the command prints.
    const partial: EmulatedErasePartialReport = {
      backend: 'emulated',
      profile: backend.profileName,
      memdev,
      method: options.method,
      ok: false,
      outcome: exitCode === ExitCode.INTERRUPTED ? 'interrupted' : 'timeout',
      state: 'sanitize',
      elapsed_ms: Math.round(elapsedMs()),
      next_step: keepsRunning(options.method, [stateFile(memdev)]),
    };
    return new MemregionError(message, exitCode, { partial });
  };
  backend.sanitizing.add(memdev);
  try {
    for (;;) {
      const elapsed = elapsedMs();
      // The emulated sanitize ends at durationMs: a timeout shorter than that always wins, even when this
      // process was descheduled past both.
      if (elapsed >= durationMs && durationMs <= options.timeoutMs) return;
      if (options.signal.aborted)
        throw stopped(`interrupted: the ${options.method} of ${memdev} keeps running`, ExitCode.INTERRUPTED);
      if (elapsed >= options.timeoutMs) {
        throw stopped(
          `timed out after ${options.timeoutMs} ms waiting for ${memdev} to leave state sanitize`,
          ExitCode.TEMP_FAIL,
        );
      }
      options.onProgress?.('sanitize', elapsedMs());
      await backend.clock.sleep(
        Math.max(0, Math.min(POLL_MS, durationMs - elapsed, options.timeoutMs - elapsed)) * 1000,
      );
    }
  } finally {
    backend.sanitizing.delete(memdev);
  }
}

/** What `erase --region` sees of the emulated backend: the region flows' context and the running sanitizes. */
export interface RegionEraseContext extends RegionContext {
  /** Memdevs whose sanitize runs (the erase adds its own, and removes them when they finish). */
  sanitizing: Set<string>;
  /** An emulated memdev's answer to the erase write (the profile's `erase_errors`), null: accepted. */
  eraseError(memdev: string): string | null;
}

/**
 * The emulated memdev primitives of `erase --region` (region-erase.ts): a sanitize takes the longest
 * `sanitize_ms` of the memdev's regions on the backend's clock; the kernel refuses it with EBUSY while any
 * decoder of the device is committed (drivers/cxl/core/mbox.c cxl_mem_sanitize()); once it is done, the
 * memdev's regions need an invalidation at their next commit.
 */
export function emulatedMemdevPrimitives(context: RegionEraseContext): MemdevPrimitives<EmulatedFlowRegion> {
  const { clock } = context;
  const endsAt = new Map<string, number>();
  const regionsOf = (memdev: string) => context.regions.filter((r) => memdevsOf(r.spec).includes(memdev));
  return {
    async checkMemdev(region, memdev, method) {
      if (context.sanitizing.has(memdev))
        return {
          ok: false,
          message: `${memdev} is already sanitizing (security/state reads sanitize)`,
          exitCode: ExitCode.TEMP_FAIL,
        };
      const others = regionsOf(memdev).filter((r) => r.kernel.committed && r.spec.name !== region.name);
      if (others.length > 0) {
        return {
          ok: false,
          message: `refusing to ${method} ${region.name}: ${memdev} also decodes ${others.map((r) => r.spec.name).join(', ')} (committed); the kernel refuses ${method} with EBUSY while any decoder is committed: decommit the other regions first`,
          exitCode: ExitCode.TEMP_FAIL,
        };
      }
      return { ok: true };
    },
    async startErase(memdev, method) {
      if (regionsOf(memdev).some((r) => r.kernel.committed)) return 'EBUSY';
      const refused = context.eraseError(memdev);
      if (refused) return refused;
      const durationMs = Math.max(...regionsOf(memdev).map((r) => r.spec.sanitize_ms));
      if (method === 'secure-erase') {
        const failed = await secureEraseWrite(clock, durationMs);
        if (failed === null) for (const region of regionsOf(memdev)) region.needsInvalidation = true;
        return failed;
      }
      endsAt.set(memdev, clock.now() / 1000 + durationMs);
      context.sanitizing.add(memdev);
      return null;
    },
    async state(memdev) {
      const end = endsAt.get(memdev);
      if (end === undefined) return 'disabled';
      if (clock.now() / 1000 < end) return 'sanitize';
      endsAt.delete(memdev);
      context.sanitizing.delete(memdev);
      for (const region of regionsOf(memdev)) region.needsInvalidation = true;
      return 'disabled';
    },
    now: () => clock.now() / 1000,
    sleep: async (ms, signal) => {
      if (!signal.aborted) await clock.sleep(ms * 1000);
    },
    stateFile,
    pollMs: POLL_MS,
  };
}

/** `erase --region regionN` on the emulated backend. */
export function eraseEmulatedRegion(
  context: RegionEraseContext,
  name: string,
  options: RegionEraseOptions,
): Promise<EmulatedRegionEraseReport> {
  const { backend, profile } = context.reportBase;
  return runRegionErase(
    emulatedRegionPrimitives(context),
    emulatedMemdevPrimitives(context),
    { backend, profile },
    name,
    options,
  );
}
