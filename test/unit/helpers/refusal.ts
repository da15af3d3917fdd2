import assert from 'node:assert/strict';

/** An assert.rejects check: a MemregionError with this exit code, a message matching, on one line. */
export const refusal = (code: number, pattern: RegExp) => (e: { exitCode: number; message: string }) => {
  assert.equal(e.exitCode, code, e.message);
  assert.match(e.message, pattern);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};
