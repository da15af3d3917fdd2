import assert from 'node:assert/strict';
import type { EraseOptions, RegionInvalidateOptions } from '../../../src/backends/types.js';

/** An assert.rejects check: a MemregionError with this exit code, a message matching, on one line. */
export const refusal = (code: number, pattern: RegExp) => (e: { exitCode: number; message: string }) => {
  assert.equal(e.exitCode, code, e.message);
  assert.match(e.message, pattern);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};

/** `invalidate --region` options: a plain commit, confirmed. */
export const regionOptions = (over: Partial<RegionInvalidateOptions> = {}): RegionInvalidateOptions => ({
  dryRun: false,
  cycle: false,
  force: false,
  confirm: async () => true,
  signal: new AbortController().signal,
  ...over,
});

/** `erase <memdev>` options: a sanitize, confirmed, without --force. */
export const eraseOptions = (over: Partial<EraseOptions> = {}): EraseOptions => ({
  method: 'sanitize',
  timeoutMs: 5000,
  confirm: async () => true,
  signal: new AbortController().signal,
  force: false,
  ...over,
});
