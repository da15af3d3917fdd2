/**
 * memregion as a library: `import { createBackend, probe, invalidate, stress } from 'memregion'`.
 * Errors a caller can act on are MemregionError, whose `exitCode` is the CLI's (DESIGN §5).
 */
export {
  type CreateBackendOptions,
  createBackend,
  type EraseRegionRequest,
  eraseRegion,
  type InvalidateRequest,
  invalidate,
  probe,
  type StressOptions,
  type StressResult,
  stress,
  type U64Input,
} from './api.js';
export type { ProfileFile } from './backends/emulated/profile-schema.js';
export { BUILT_IN_PROFILE_NAMES, type Profile } from './backends/emulated/profiles.js';
export {
  type Backend,
  type BackendName,
  type BackendOptions,
  type InvalidateReport,
  type LatencySummary,
  PROVIDER_VARIANTS,
  type ProbeReport,
  type ProviderVariant,
  type RegionEraseReport,
  type Verdict,
} from './backends/types.js';
export { ExitCode, MemregionError } from './core/errors.js';
export { probePrometheus, stressPrometheus } from './render/prometheus.js';
export type { StressSnapshot } from './stress/engine.js';
export { PATTERNS, type Pattern } from './stress/ranges.js';
export type { StressReport } from './stress/report.js';
