/**
 * The TAP counter both test runners (scripts/run-tests.mjs, scripts/lab-kernel-tests.mjs) decide with:
 * a run where no test ran or one was skipped is refused, and a cancelled test counts as failed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readTap, tapCounts, tapRefusal, tapReporterArgs } from '../../scripts/tap-counts.mjs';
import { childEnv, scratchDir } from '../helpers/cli.js';
import { runSync } from '../helpers/spawn.js';

const summary = (lines: Record<string, number>) =>
  `TAP version 13\nok 1 - a\n${Object.entries(lines)
    .map(([name, n]) => `# ${name} ${n}`)
    .join('\n')}\n# duration_ms 12.5\n`;

describe('tapCounts', () => {
  test('reads the summary lines; cancelled counts as failed, todo as skipped', () => {
    const tap = summary({ tests: 9, suites: 1, pass: 4, fail: 1, cancelled: 2, skipped: 1, todo: 1 });
    assert.deepEqual(tapCounts(tap), { tests: 9, passed: 4, failed: 3, skipped: 2 });
  });

  test('a line the summary lacks counts 0; no report at all is no test', () => {
    assert.deepEqual(tapCounts(summary({ tests: 2, pass: 2 })), {
      tests: 2,
      passed: 2,
      failed: 0,
      skipped: 0,
    });
    assert.deepEqual(tapCounts(''), { tests: 0, passed: 0, failed: 0, skipped: 0 });
  });

  test('only whole summary lines count: not an indented subtest line, nor a test named "# pass 3"', () => {
    const tap = `    # pass 7\nok 1 - # pass 3\n${summary({ tests: 1, pass: 1 })}`;
    assert.deepEqual(tapCounts(tap), { tests: 1, passed: 1, failed: 0, skipped: 0 });
  });
});

describe('tapRefusal', () => {
  test('no test ran', () => {
    assert.equal(tapRefusal(tapCounts('')), 'no test ran');
    assert.equal(tapRefusal(tapCounts(summary({ tests: 0, pass: 0 }))), 'no test ran');
  });

  test('a skipped or todo test', () => {
    assert.equal(
      tapRefusal(tapCounts(summary({ tests: 3, pass: 2, skipped: 1 }))),
      'skipped tests are not allowed',
    );
    assert.equal(
      tapRefusal(tapCounts(summary({ tests: 3, pass: 2, todo: 1 }))),
      'skipped tests are not allowed',
    );
  });

  test('a run where tests ran and none was skipped (failures are the exit status’s to report)', () => {
    assert.equal(tapRefusal(tapCounts(summary({ tests: 3, pass: 3 }))), null);
    assert.equal(tapRefusal(tapCounts(summary({ tests: 3, pass: 1, fail: 1, cancelled: 1 }))), null);
  });
});

describe('against the TAP node:test writes', () => {
  test('readTap of a file that is not there is empty', () => {
    assert.equal(readTap(path.join(scratchDir('tap'), 'none.tap')), '');
  });

  test('a real run of passing, failing, skipped and todo tests is counted as its reporter says', () => {
    const dir = scratchDir('tap');
    const file = path.join(dir, 'sample.test.mjs');
    writeFileSync(
      file,
      [
        "import { test } from 'node:test';",
        "test('passes', () => {});",
        "test('passes too', () => {});",
        "test('fails', () => { throw new Error('as meant'); });",
        "test.skip('skipped', () => {});",
        "test.todo('todo');",
      ].join('\n'),
    );
    const tapFile = path.join(dir, 'report.tap');
    // childEnv leaves out NODE_TEST_CONTEXT, which would make the child report to this runner instead.
    const run = runSync(process.execPath, ['--test', ...tapReporterArgs(tapFile), file], {
      cwd: dir,
      env: childEnv(),
      encoding: 'utf8',
    });
    assert.equal(run.timedOut, false);
    assert.equal(run.status, 1, 'the failing test fails the run');
    const counts = tapCounts(readTap(tapFile));
    assert.deepEqual(counts, { tests: 5, passed: 2, failed: 1, skipped: 2 });
    assert.equal(tapRefusal(counts), 'skipped tests are not allowed');
  });
});
