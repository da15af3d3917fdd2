// memregion as a library: probe, invalidate and stress without spawning the CLI.
// Run it from a clone after `npm ci` (which builds): node examples/library.mjs
import { createBackend, invalidate, MemregionError, probe, stress } from 'memregion';

// An emulated firmware that answers BUSY now and then, on a virtual clock with a fixed seed: the same
// numbers on every run. For the real kernel: createBackend({ backend: 'sysfs' }).
const backend = await createBackend({ backend: 'emulated', profile: 'busy', seed: 1, virtualTime: true });
try {
  const support = await probe(backend);
  console.log(
    `supported: ${support.supported} (SMCCC ${support.smccc.version} via ${support.smccc.conduit})`,
  );

  const one = await invalidate(backend, { start: '0x80000000', size: '2M' });
  console.log(
    `invalidate: ${one.ok ? 'ok' : one.errno} after ${one.attempts} attempt(s), ${one.elapsed_us} µs`,
  );

  const run = await stress(backend, { workers: 16, ops: 5000, verify: true });
  console.log(
    `stress: ${run.requests.completed} completed, ${run.requests.failed} failed, ` +
      `p99 ${run.latency_us?.p99} µs, ${run.retries} retries, errors ${JSON.stringify(run.errors)}`,
  );
} catch (error) {
  // Bad input, no provider, unreadable files: one line and the CLI's exit code.
  if (!(error instanceof MemregionError)) throw error;
  console.error(`memregion: ${error.message}`);
  process.exitCode = error.exitCode;
} finally {
  await backend.close();
}
