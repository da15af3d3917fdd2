import { setTimeout as sleep } from 'node:timers/promises';
import { dataError, ExitCode, MemregionError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { requireKernelName } from '../../core/names.js';
import {
  eraseRefused,
  keepsRunning,
  MEMDEV_ERASE_CONSEQUENCE,
  type MemdevPrimitives,
  runRegionErase,
} from '../region-erase.js';
import { readUnlessStopped, requireConfirmation, stopBeforeFirstWrite } from '../region-flow.js';
import type {
  EraseMethod,
  EraseOptions,
  RegionEraseOptions,
  SysfsErasePartialReport,
  SysfsEraseReport,
  SysfsRegionEraseReport,
} from '../types.js';
import { type RegionFlowDeps, type SysfsFlowRegion, sysfsRegionPrimitives } from './commit.js';
import { type CxlMemdev, endpointOfDecoder, memdevPath, readCxlMemdev } from './cxl.js';
import { CXL_MEMDEV_FILES } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { errorCode, type ProbeFn, requireProvider } from './guard.js';

/**
 * `erase memX`: CXL sanitize or secure erase through `memX/security/{sanitize,erase}` (sysfs-bus-cxl).
 * The kernel refuses both with EBUSY while decoders are committed and leaves the cache invalidation to
 * the next region commit, which is why the provider rule applies here too.
 */

export const METHOD_FILE: Record<EraseMethod, string> = { sanitize: 'sanitize', 'secure-erase': 'erase' };

export interface EraseDeps {
  sys: SysRoot;
  log: Logger;
  probe: ProbeFn;
  /** Interval between reads of `security/state` (sysfs poll/notify is not reachable from Node). */
  pollMs?: number;
}

export async function eraseMemdev(
  memdev: string,
  options: EraseOptions,
  deps: EraseDeps,
): Promise<SysfsEraseReport> {
  const { sys } = deps;
  requireKernelName('memdev', memdev);
  const { device, warnings } = await readUnlessStopped(
    preflightMemdev(memdev, options, deps),
    options.signal,
  );
  const file = `${memdevPath(memdev)}/security/${METHOD_FILE[options.method]}`;
  await requireConfirmation(
    options.confirm,
    `${options.method === 'sanitize' ? 'Sanitize' : 'Secure-erase'} ${memdev}${device.serial ? ` (serial ${device.serial})` : ''}? All data on the device is destroyed.`,
  );
  stopBeforeFirstWrite(options.signal);
  const started = Date.now();
  try {
    await sys.write(file, '1');
  } catch (error) {
    throw eraseRefused(memdev, options.method, errorCode(error));
  }
  const state = await waitForState(sys, memdev, options, deps.pollMs ?? 250, started);
  return {
    backend: 'sysfs',
    memdev,
    method: options.method,
    // Done when the state left `sanitize`; an unreadable state confirms nothing.
    ok: state !== 'unknown',
    state,
    elapsed_ms: Date.now() - started,
    next_step: 'the next commit of a region on this device invalidates CPU caches for its range',
    warnings,
  };
}

/** What `erase memX` checks before it asks: the device, its method, its decoders, the provider rule. */
async function preflightMemdev(
  memdev: string,
  options: EraseOptions,
  deps: EraseDeps,
): Promise<{ device: CxlMemdev; warnings: string[] }> {
  const device = await readCxlMemdev(deps.sys, memdev);
  if (!device)
    throw dataError(`no such memdev: ${memdev} (no ${memdevPath(memdev)}; see \`memregion regions\`)`);
  const refusal = deviceRefusal(device, options.method);
  if (refusal) throw new MemregionError(refusal.message, refusal.exitCode);
  const warnings: string[] = [];
  if (device.decodersCommitted === null) {
    warnings.push(
      `cannot read the committed decoders of ${memdev}: the kernel refuses with EBUSY if any are committed`,
    );
  } else if (device.decodersCommitted > 0) {
    throw new MemregionError(
      `refusing to ${options.method} ${memdev}: ${device.decodersCommitted} decoder(s) committed on ${device.endpoint} (the device is decoding memory); decommit its regions first`,
      ExitCode.TEMP_FAIL,
    );
  }
  const forced = await requireProvider(
    deps.probe,
    options.force,
    deps.log,
    `${options.method} ${memdev}`,
    MEMDEV_ERASE_CONSEQUENCE,
  );
  if (forced) warnings.push(forced);
  return { device, warnings };
}

/**
 * Why a device cannot take the method now: no such file, already sanitizing, frozen, a passphrase set.
 * drivers/cxl/core/memdev.c security_state_show() reads `locked` or `unlocked` only while a user
 * passphrase is set (`frozen` also implies one), and drivers/cxl/core/mbox.c __cxl_mem_sanitize() refuses
 * both sanitize and secure erase with EINVAL whenever CXL_PMEM_SEC_STATE_USER_PASS_SET is.
 */
function deviceRefusal(device: CxlMemdev, method: EraseMethod): { message: string; exitCode: number } | null {
  const memdev = device.name;
  const supported = method === 'sanitize' ? device.sanitizeSupported : device.eraseSupported;
  if (!supported) {
    return {
      message: `${memdev} has no security/${METHOD_FILE[method]}: the device does not support ${method}`,
      exitCode: ExitCode.UNAVAILABLE,
    };
  }
  if (device.securityState === 'sanitize')
    return {
      message: `${memdev} is already sanitizing (security/state reads sanitize)`,
      exitCode: ExitCode.TEMP_FAIL,
    };
  if (device.securityState === 'frozen') {
    return {
      message: `${memdev} security state is frozen: security commands are refused until reset`,
      exitCode: ExitCode.UNAVAILABLE,
    };
  }
  if (device.securityState === 'locked' || device.securityState === 'unlocked') {
    return {
      message: `${memdev} has a user passphrase set (security/state reads ${device.securityState}): the kernel refuses ${method} with EINVAL until it is removed (ndctl disable-passphrase on its nvdimm)`,
      exitCode: ExitCode.UNAVAILABLE,
    };
  }
  return null;
}

const stateFileOf = (memdev: string): string => `${memdevPath(memdev)}/${CXL_MEMDEV_FILES.securityState}`;

/**
 * `security/state` as the wait reads it: `unknown` when it cannot be read or says nothing. The kernel
 * always prints a word; an empty file (or a FIFO) in a --root tree was taken for a state that had left
 * `sanitize`, and the erase reported as finished (exit 0, "state ,") with nothing to show it was.
 */
const securityState = async (sys: SysRoot, memdev: string): Promise<string> =>
  (await sys.value(stateFileOf(memdev))) || 'unknown';

/** Polls `security/state` until it leaves `sanitize`, reporting progress; timeout → 75, abort → 130. */
async function waitForState(
  sys: SysRoot,
  memdev: string,
  options: EraseOptions,
  pollMs: number,
  started: number,
): Promise<string> {
  const stateFile = stateFileOf(memdev);
  for (;;) {
    const state = await securityState(sys, memdev);
    const elapsed = Date.now() - started;
    options.onProgress?.(state, elapsed);
    if (state !== 'sanitize') return state;
    // What happened so far, for the report the command still prints (ok: false).
    const partial = (outcome: SysfsErasePartialReport['outcome']): SysfsErasePartialReport => ({
      backend: 'sysfs',
      memdev,
      method: options.method,
      ok: false,
      outcome,
      state,
      elapsed_ms: elapsed,
      next_step: keepsRunning(options.method, [stateFile]),
    });
    if (options.signal.aborted) {
      throw new MemregionError(
        `interrupted: the kernel's ${options.method} of ${memdev} keeps running (watch ${stateFile})`,
        ExitCode.INTERRUPTED,
        { partial: partial('interrupted') },
      );
    }
    if (elapsed >= options.timeoutMs) {
      throw new MemregionError(
        `timed out after ${Math.round(elapsed / 1000)} s waiting for ${memdev}: the kernel's ${options.method} keeps running (watch ${stateFile})`,
        ExitCode.TEMP_FAIL,
        { partial: partial('timeout') },
      );
    }
    const wait = Math.min(pollMs, Math.max(1, options.timeoutMs - elapsed));
    await sleep(wait, undefined, { signal: options.signal }).catch(() => {});
  }
}

/**
 * The sysfs backend's memdev primitives of `erase --region` (region-erase.ts): `memX/security/*` as
 * sysfs-bus-cxl describes it, and the committed-decoder count of each memdev's endpoint, since the kernel
 * refuses sanitize and secure erase with EBUSY while any decoder of the device is committed.
 */
export function sysfsMemdevPrimitives(deps: EraseDeps): MemdevPrimitives<SysfsFlowRegion> {
  const { sys } = deps;
  return {
    async checkMemdev(region, memdev, method) {
      const device = await readCxlMemdev(sys, memdev);
      if (!device)
        return {
          ok: false,
          message: `${region.name} names ${memdev}, which has no ${memdevPath(memdev)}`,
          exitCode: ExitCode.DATA_ERR,
        };
      const refusal = deviceRefusal(device, method);
      if (refusal) return { ok: false, ...refusal };
      if (device.decodersCommitted === null)
        return {
          ok: true,
          warning: `cannot read the committed decoders of ${memdev}: the kernel refuses with EBUSY if any other region's is committed`,
        };
      // The region's own decoders on this device are decommitted first; any other keeps it decoding.
      const own = region.committed
        ? region.cxl.targets.filter((t) => t !== null && endpointOfDecoder(t) === device.endpoint).length
        : 0;
      if (device.decodersCommitted > own) {
        return {
          ok: false,
          message: `refusing to ${method} ${region.name}: ${memdev} also decodes another region (${device.decodersCommitted} decoder(s) committed on ${device.endpoint}, ${own} of them ${region.name}'s); the kernel refuses ${method} with EBUSY while any is committed: decommit the other regions first`,
          exitCode: ExitCode.TEMP_FAIL,
        };
      }
      return { ok: true };
    },
    async startErase(memdev, method) {
      try {
        await sys.write(`${memdevPath(memdev)}/security/${METHOD_FILE[method]}`, '1');
        return null;
      } catch (error) {
        return errorCode(error);
      }
    },
    state: (memdev) => securityState(sys, memdev),
    now: () => Date.now(),
    sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
    stateFile: stateFileOf,
    pollMs: deps.pollMs ?? 250,
  };
}

/** `erase --region regionN` on the sysfs backend. */
export function eraseRegion(
  name: string,
  options: RegionEraseOptions,
  deps: EraseDeps & RegionFlowDeps,
): Promise<SysfsRegionEraseReport> {
  return runRegionErase(
    sysfsRegionPrimitives(deps),
    sysfsMemdevPrimitives(deps),
    { backend: 'sysfs' },
    name,
    options,
  );
}
