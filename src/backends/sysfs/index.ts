import { unavailableError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type {
  Backend,
  BackendOptions,
  EraseOptions,
  EraseReport,
  InvalidateOptions,
  InvalidateReport,
  ProbeReport,
  RegionEraseOptions,
  RegionEraseReport,
  RegionInvalidateOptions,
  RegionsReport,
  StressTarget,
  StressTargetOptions,
  TraceOptions,
  TraceReport,
} from '../types.js';
import { invalidateRegion, type RegionFlowDeps } from './commit.js';
import { eraseMemdev, eraseRegion } from './erase.js';
import { SysRoot } from './fs.js';
import { probeSysfs } from './probe.js';
import { listRegions } from './regions.js';
import { regionStressTarget } from './stress.js';
import { runTrace } from './trace-run.js';

export const NO_RANGE_INTERFACE =
  'the sysfs backend cannot invalidate an arbitrary range: Linux offers userspace no file, ioctl or ' +
  'tracepoint for it, only device-memory state changes that invalidate their own range. Use ' +
  '`memregion invalidate --region regionN` (CXL region commit), `memregion erase memN` (the next commit ' +
  'invalidates), or `--backend emulated` to exercise a provider';

/** The real-Linux backend: evidence from sysfs/procfs, the kernel's own invalidation flows, tracefs. */
export class SysfsBackend implements Backend {
  readonly name = 'sysfs' as const;
  readonly sys: SysRoot;
  private readonly log: Logger;
  private probeResult: Promise<ProbeReport> | null = null;

  constructor(root: string, log: Logger) {
    this.sys = new SysRoot(root);
    this.log = log;
  }

  probe(): Promise<ProbeReport> {
    this.probeResult ??= probeSysfs(this.sys, this.log);
    return this.probeResult;
  }

  private get deps(): RegionFlowDeps {
    return { sys: this.sys, log: this.log, probe: () => this.probe() };
  }

  async invalidateRange(
    _start: bigint,
    _size: bigint,
    _options: InvalidateOptions,
  ): Promise<InvalidateReport> {
    throw unavailableError(NO_RANGE_INTERFACE);
  }

  regions(): Promise<RegionsReport> {
    return listRegions(this.sys);
  }

  invalidateRegion(name: string, options: RegionInvalidateOptions): Promise<InvalidateReport> {
    return invalidateRegion(name, options, this.deps);
  }

  erase(memdev: string, options: EraseOptions): Promise<EraseReport> {
    return eraseMemdev(memdev, options, this.deps);
  }

  eraseRegion(name: string, options: RegionEraseOptions): Promise<RegionEraseReport> {
    return eraseRegion(name, options, this.deps);
  }

  trace(options: TraceOptions): Promise<TraceReport> {
    return runTrace(this.sys, this.log, options);
  }

  stressTarget(options: StressTargetOptions): Promise<StressTarget> {
    return regionStressTarget(options, this.deps);
  }

  async close(): Promise<void> {
    this.probeResult = null;
  }
}

export async function createSysfsBackend(options: BackendOptions): Promise<Backend> {
  return new SysfsBackend(options.root, options.log);
}
