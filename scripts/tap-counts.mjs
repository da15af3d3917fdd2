// What a node:test run did, from the summary its TAP reporter writes last (`# tests 12`, `# pass 11`, ...),
// and whether that is a run to accept: shared by scripts/run-tests.mjs and scripts/lab-kernel-tests.mjs.
// Its JSDoc types are what the unit test is type-checked against (test/tsconfig.json, allowJs).
// @ts-check
import { readFileSync } from 'node:fs';

/**
 * node --test arguments: the spec reporter on stdout for people, TAP in `tapFile` for the counts.
 * @param {string} tapFile
 * @returns {string[]}
 */
export const tapReporterArgs = (tapFile) => [
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tapFile}`,
];

/**
 * The TAP report in `file`; '' when the run wrote none (it was killed, or never started).
 * @param {string} file
 * @returns {string}
 */
export function readTap(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** @typedef {{ tests: number, passed: number, failed: number, skipped: number }} TapCounts */

/**
 * The counts of a TAP report's summary; 0 for a line it lacks. A cancelled test (its file or a `before`
 * failed, it timed out) counts as failed, not as nothing; a todo test counts as skipped.
 * @param {string} tap
 * @returns {TapCounts}
 */
export function tapCounts(tap) {
  /** @param {string} name */
  const count = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
  return {
    tests: count('tests'),
    passed: count('pass'),
    failed: count('fail') + count('cancelled'),
    skipped: count('skipped') + count('todo'),
  };
}

/**
 * Why a run with these counts is refused whatever its exit status (no test ran, or one was skipped); null when it is not.
 * @param {TapCounts} counts
 * @returns {string | null}
 */
export function tapRefusal(counts) {
  if (counts.tests === 0) return 'no test ran';
  if (counts.skipped > 0) return 'skipped tests are not allowed';
  return null;
}
