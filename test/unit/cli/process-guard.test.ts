import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Runs `body` (ESM, with `guardProcess` imported) in a fresh node; its exit code and stderr. */
function runGuarded(body: string): { status: number | null; stderr: string } {
  const script = `import { guardProcess } from ${JSON.stringify(path.join(repo, 'dist/src/cli/process-guard.js'))};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('process guard', () => {
  test('a stopped process that then ends on its own ends with the signal code, not 0', () => {
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
      ['SIGHUP', 129],
    ] as const) {
      // The loop empties once the signal is handled: nothing calls process.exit.
      const r = runGuarded(
        `guardProcess({ verbose: false, quiet: false }); process.kill(process.pid, '${signal}'); setTimeout(() => {}, 50);`,
      );
      assert.equal(r.status, code, `${signal}: ${r.stderr}`);
      assert.match(r.stderr, /^memregion: \w+: stopping/);
    }
  });

  test('without a signal the process ends with 0', () => {
    const r = runGuarded('guardProcess({ verbose: false, quiet: false }); setTimeout(() => {}, 10);');
    assert.equal(r.status, 0, r.stderr);
  });

  test('a signal taken in only at the flush (it came during synchronous work) ends with its code, not the 0 chosen before', () => {
    // The signal is sent while the process computes synchronously: its handler runs only once the event
    // loop turns, which is inside flush(), after the command's 0 was chosen (main does exactly this).
    const r = runGuarded(`
      const guard = guardProcess({ verbose: false, quiet: false });
      process.kill(process.pid, 'SIGTERM');
      const until = Date.now() + 200;
      while (Date.now() < until) {}
      process.exitCode = 0;
      await guard.flush();
      process.exit(0);`);
    assert.equal(r.status, 143, r.stderr);
    assert.match(r.stderr, /^memregion: terminated: stopping/);
  });

  test('a signal before the flush leaves the code main chose (a failure of its own stands)', () => {
    const r = runGuarded(`
      const guard = guardProcess({ verbose: false, quiet: false });
      process.kill(process.pid, 'SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 20));
      process.exitCode = 74;
      await guard.flush();
      process.exit(74);`);
    assert.equal(r.status, 74, r.stderr);
  });

  test("Node's warnings are one prefixed line; a plain Warning is not named twice", () => {
    const r = runGuarded(`
      guardProcess({ verbose: false, quiet: false });
      process.emitWarning('something odd');
      process.emitWarning('a long timer', 'TimeoutOverflowWarning');
      setTimeout(() => {}, 20);`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stderr,
      'memregion: warning: something odd\nmemregion: warning: TimeoutOverflowWarning: a long timer\n',
    );
  });
});
