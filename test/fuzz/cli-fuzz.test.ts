/**
 * The hostile-input suite: a property-based fuzzer of the whole CLI (test/fuzz/scenario.ts says what it
 * generates, run.ts what every run must do). Seeded: MEMREGION_FUZZ_SEED=<n> replays a run
 * (`random` draws a new seed), MEMREGION_FUZZ_RUNS=<n> sets how many cases (default 300). Cases run in
 * LANES parallel lanes, each its own fast-check property with seed + lane; a failure is shrunk and
 * reported with a one-line shell repro.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ROOT } from '../helpers/cli.js';
import { scratchFolders } from '../helpers/temp-trees.js';
import { runCase } from './run.js';
import { scenario } from './scenario.js';
import { changes, snapshot } from './snapshot.js';

const LANES = 4;
const runs = Number(process.env.MEMREGION_FUZZ_RUNS ?? 300);
const seedText = process.env.MEMREGION_FUZZ_SEED ?? '20261201';
const seed = seedText === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
assert.ok(Number.isSafeInteger(seed), `MEMREGION_FUZZ_SEED=${seedText} is not an integer`);
assert.ok(
  Number.isSafeInteger(runs) && runs > 0,
  `MEMREGION_FUZZ_RUNS=${process.env.MEMREGION_FUZZ_RUNS} is not a count`,
);

/** MEMREGION_FUZZ_SURVEY=1: no stop at the first failure; list one repro per kind of failure at the end. */
const survey = process.env.MEMREGION_FUZZ_SURVEY === '1';
const surveyed = new Map<string, string>();

const isSlowStop = (failure: string) => failure.startsWith('took ');
/** One case at a time is run again to confirm a slow stop. */
let confirming: Promise<void> = Promise.resolve();
let retimed = 0;

const scratch = scratchFolders('memregion-fuzz-')();

test(`the CLI under hostile input: ${runs} cases, seed ${seed} (MEMREGION_FUZZ_SEED to replay)`, async (t) => {
  const fixtures = path.join(ROOT, 'test/fixtures');
  const fixturesBefore = snapshot(fixtures);
  const started = Date.now();
  let executed = 0;
  const stops: number[] = [];
  const lane = async (n: number) => {
    let cases = 0;
    const result = await fc.check(
      fc.asyncProperty(scenario, async (s) => {
        cases += 1;
        executed += 1;
        const dir = path.join(scratch, `lane${n}-${cases}`);
        let outcome = await runCase(s, dir).catch((error: Error) => {
          if (!survey) throw error;
          return {
            failures: [`the fuzzer failed: ${error.stack}`],
            repro: JSON.stringify(s),
            stopMs: undefined,
          };
        });
        // A stop that was only slow may be the host's doing (2 cores, several lanes, other jobs): it
        // counts when the case, run again (one confirmation at a time), is slow twice more.
        for (
          let again = 0;
          again < 2 && outcome.failures.length > 0 && outcome.failures.every(isSlowStop);
          again++
        ) {
          const previous = confirming;
          let release = () => {};
          confirming = new Promise<void>((resolve) => {
            release = resolve;
          });
          await previous;
          try {
            retimed += 1;
            outcome = await runCase(s, `${dir}-again`);
          } finally {
            release();
          }
        }
        if (outcome.stopMs !== undefined) stops.push(outcome.stopMs);
        if (outcome.failures.length === 0) return;
        if (survey) {
          for (const failure of outcome.failures) {
            const kind = failure.replace(/\d+/g, 'N').slice(0, 90);
            if (!surveyed.has(kind)) surveyed.set(kind, `${failure}\n    repro: ${outcome.repro}`);
          }
          return;
        }
        throw new Error(`${outcome.failures.join('; ')}\n  repro: ${outcome.repro}`);
      }),
      {
        seed: seed + n,
        numRuns: Math.ceil(runs / LANES),
        interruptAfterTimeLimit: 240_000,
        markInterruptAsFailure: false,
      },
    );
    return result;
  };
  const results = await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const sorted = stops.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const summary = `fuzz: ${executed} runs (shrinking included) in ${seconds} s, seed ${seed}; ${sorted.length} signals, stopped after p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms; ${retimed} slow stop(s) timed again`;
  t.diagnostic(summary);
  console.log(summary);
  const failed = results.flatMap((r, n) =>
    r.failed
      ? [
          `lane ${n} (seed ${seed + n}, after ${r.numRuns} cases, shrunk ${r.numShrinks} times): ${(r.errorInstance as Error | undefined)?.message ?? 'interrupted'}`,
        ]
      : [],
  );
  if (survey)
    console.log(`fuzz survey: ${surveyed.size} kinds of failure\n${[...surveyed.values()].join('\n')}`);
  assert.deepEqual(
    changes(fixturesBefore, snapshot(fixtures), { content: new Set() }),
    [],
    'test/fixtures changed',
  );
  assert.equal(surveyed.size, 0, `${surveyed.size} kinds of failure (survey)`);
  assert.equal(
    failed.length,
    0,
    `MEMREGION_FUZZ_SEED=${seed}: ${failed.length} failing lane(s)\n${failed.join('\n')}`,
  );
});
