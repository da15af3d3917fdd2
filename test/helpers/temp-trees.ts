/**
 * The set-up hooks that tests working on files share: a fresh copy of a fixture tree for each test, and
 * scratch folders for a whole test file. Each registers its own node:test hooks, so a test file says in
 * one line what it needs instead of repeating the before/after pair.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after as afterAll, afterEach, beforeEach } from 'node:test';
import { RecordingRoot } from '../unit/helpers/recording-root.js';
import { copyFixture } from '../unit/helpers/sysfs-fixture.js';

/** The copy of a fixture tree that the running test works on. */
export interface FixtureTree {
  /** Its root folder. */
  readonly root: string;
  /** A RecordingRoot over it: every write a test makes through it is recorded. */
  readonly sys: RecordingRoot;
  /** Throws the copy away and makes a new one (a test that needs several clean starts). */
  renew(): void;
}

export interface FixtureHooks {
  /** After each copy is made (add files to it, wrap it). */
  setUp?(tree: FixtureTree): void;
  /** Before each copy is removed (clear timers, restore mocks). */
  tearDown?(): void;
}

/**
 * A fresh copy of test/fixtures/`name` before each test of the file, or of the describe block that calls
 * this, removed after the test.
 */
export function fixtureEachTest(name = 'cxl', hooks: FixtureHooks = {}): FixtureTree {
  let copy: { root: string; cleanup: () => void } | null = null;
  let sys: RecordingRoot | null = null;
  const current = <T>(value: T | null): T => {
    if (value === null) throw new Error('fixtureEachTest: the tree exists only while a test runs');
    return value;
  };
  const tree: FixtureTree = {
    get root() {
      return current(copy).root;
    },
    get sys() {
      return current(sys);
    },
    renew() {
      copy?.cleanup();
      copy = copyFixture(name);
      sys = new RecordingRoot(copy.root);
    },
  };
  beforeEach(() => {
    tree.renew();
    hooks.setUp?.(tree);
  });
  afterEach(() => {
    hooks.tearDown?.();
    copy?.cleanup();
    copy = null;
    sys = null;
  });
  return tree;
}

/**
 * Scratch folders for a test file: each call of the function returned makes a new empty folder in the
 * system's temporary folder, named `prefix` (or the name it is given) and a random tail; all of them are
 * removed after the file's tests, and at exit should the run end early.
 */
export function scratchFolders(prefix: string): (name?: string) => string {
  const made: string[] = [];
  const removeAll = () => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  };
  afterAll(removeAll);
  process.on('exit', removeAll);
  return (name = prefix) => {
    const dir = mkdtempSync(path.join(tmpdir(), name));
    made.push(dir);
    return dir;
  };
}
