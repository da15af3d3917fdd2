/** Attempts per invalidation before the provider gives up with EBUSY. */
export const MAX_ATTEMPTS = 5;
export const DEFAULT_DELAY_US = 1000;
export const MAX_DELAY_US = 20_000;

/**
 * Sleep after a transient failure (DESIGN §3): max(ceil(1e6 / rate_limit), latency_us), a term that is 0
 * left out, 1000 µs when both are 0, never more than 20000 µs.
 */
export function retryDelayUs(rateLimit: number, latencyUs: number): number {
  const spacing = rateLimit > 0 ? Math.ceil(1_000_000 / rateLimit) : 0;
  const delay = Math.max(spacing, latencyUs);
  return Math.min(delay === 0 ? DEFAULT_DELAY_US : delay, MAX_DELAY_US);
}
