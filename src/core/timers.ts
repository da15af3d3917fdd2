/** Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer delay fires after 1 ms, with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `callback` after `ms` milliseconds, however long (`trace --duration 600h`): a chain of timers
 * each within Node's limit. Returns a function that cancels it.
 */
export function longTimeout(ms: number, callback: () => void): () => void {
  let timer: NodeJS.Timeout;
  const deadline = performance.now() + ms;
  const arm = () => {
    const left = deadline - performance.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(callback, Math.max(0, left));
  };
  arm();
  return () => clearTimeout(timer);
}
