/**
 * From a scenario to what a run needs: the steps that build its folder, the argv, the environment, where
 * the result should land, and which paths the run may change.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import {
  type Corruption,
  FIXTURES,
  type FileKind,
  type OutputCase,
  type ProfileCase,
  type RootCase,
  type Scenario,
  type SignalName,
} from './scenario.js';
import type { Step } from './setup.js';

export interface Plan {
  steps: Step[];
  /** The arguments after `node bin/memregion`. */
  argv: string[];
  /** Variables added to the clean child environment. */
  env: Record<string, string>;
  /** The --output path (relative to the case folder) when it names something the run may write. */
  output?: string;
  /** Paths (relative to the case folder) whose content may change. */
  writable: Set<string>;
  /** A reader must be attached to this FIFO while the run goes on. */
  fifoReader?: string;
  /** The run is asked for a JSON document. */
  json: boolean;
  /** The run may legitimately last: it gets a signal whatever the scenario said. */
  signal?: { name: SignalName; delayMs: number };
}

const GIB = 1024 ** 3;

/** Every entry of a fixture tree (files and folders, not the root), relative to it, sorted. */
const entriesCache = new Map<string, string[]>();
export function fixtureEntries(fixture: string): string[] {
  let list = entriesCache.get(fixture);
  if (!list) {
    list = (readdirSync(path.join(ROOT, fixture), { recursive: true }) as string[]).sort();
    entriesCache.set(fixture, list);
  }
  return list;
}

function fileSteps(file: string, kind: FileKind): Step[] {
  switch (kind.kind) {
    case 'json':
      return [{ op: 'write', path: file, text: JSON.stringify(kind.doc), mode: kind.mode }];
    case 'text':
      return [{ op: 'write', path: file, text: kind.text }];
    case 'huge':
      return [
        { op: 'write', path: file, text: '{"name": "huge", "description": "' },
        { op: 'truncate', path: file, size: 4 * GIB },
      ];
    case 'fifo':
      return [{ op: 'fifo', path: file }];
    case 'device':
      return [{ op: 'device', path: file, device: kind.device }];
    case 'dir':
      return [{ op: 'mkdir', path: file }];
    case 'loop':
      return [{ op: 'symlink', path: file, target: path.basename(file) }];
    case 'missing':
      return [];
    case 'link-to-json':
      return [
        { op: 'write', path: `${file}.target`, text: JSON.stringify(kind.doc) },
        { op: 'symlink', path: file, target: `${path.basename(file)}.target` },
      ];
  }
}

/** What the sysfs backend reads (DESIGN §6): the files a corruption hits most of the time. */
const READ_BY_SYSFS =
  /^(proc\/(sys\/kernel\/(osrelease|arch)|cpuinfo|config\.gz|kallsyms|iomem|device-tree)|boot\/config|dev\/kmsg|sys\/(kernel\/(debug|security|tracing)|firmware|devices\/soc|bus\/(cxl|nd)\/devices\/[^/]+(\/[^/]+)?$))/;

function damageSteps(root: string, fixture: string, c: Corruption): Step[] {
  const all = fixtureEntries(fixture);
  const hot = all.filter((e) => READ_BY_SYSFS.test(e));
  const entries = c.hot && hot.length > 0 ? hot : all;
  if (entries.length === 0) return [];
  const rel = entries[c.pick % entries.length]!;
  const at = path.join(root, rel);
  const replace = (steps: Step[]): Step[] => [{ op: 'rm', path: at }, ...steps];
  switch (c.damage) {
    case 'fifo':
      return replace([{ op: 'fifo', path: at }]);
    case 'zero':
      return replace([{ op: 'device', path: at, device: 'zero' }]);
    case 'loop':
      return replace([{ op: 'symlink', path: at, target: path.basename(at) }]);
    case 'dir':
      return replace([{ op: 'mkdir', path: at }]);
    case 'dir-loop':
      return replace([{ op: 'symlink', path: at, target: '.' }]);
    case 'cut':
      return [{ op: 'truncate', path: at, size: (c.pick >> 4) % 64 }];
    case 'junk':
      return [{ op: 'append', path: at, text: '\u0000\u001b[2J\n\uffff0x\n'.repeat(1 + (c.pick % 3)) }];
    case 'huge':
      return [{ op: 'truncate', path: at, size: 3 * GIB }];
    case 'rm':
      return [{ op: 'rm', path: at }];
    case 'empty':
      return replace([{ op: 'write', path: at, text: '' }]);
  }
}

function rootSteps(root: RootCase): { steps: Step[]; value: string } {
  if ('special' in root) {
    switch (root.special) {
      case 'missing':
        return { steps: [], value: 'no-such-root' };
      case 'empty-dir':
        return { steps: [{ op: 'mkdir', path: 'root' }], value: 'root' };
      case 'file':
        return { steps: [{ op: 'write', path: 'root', text: 'x' }], value: 'root' };
      case 'fifo':
        return { steps: [{ op: 'fifo', path: 'root' }], value: 'root' };
      case 'loop':
        return { steps: [{ op: 'symlink', path: 'root', target: 'root' }], value: 'root' };
      case 'empty-string':
        return { steps: [], value: '' };
    }
  }
  const fixture = FIXTURES[root.fixture % FIXTURES.length]!;
  return {
    steps: [
      { op: 'copy', from: fixture, to: 'root' },
      ...root.corruptions.flatMap((c) => damageSteps('root', fixture, c)),
    ],
    value: 'root',
  };
}

function profileSteps(profile: ProfileCase): { steps: Step[]; value: string } {
  if ('builtin' in profile) return { steps: [], value: profile.builtin };
  return { steps: fileSteps('profile.json', profile.file), value: './profile.json' };
}

interface OutputPlan {
  steps: Step[];
  value: string;
  output?: string;
  writable: string[];
  fifoReader?: string;
  blocks?: boolean;
}

function outputSteps(output: OutputCase): OutputPlan {
  const file = 'out.txt';
  switch (output) {
    case 'new':
      return { steps: [], value: file, output: file, writable: [file] };
    case 'missing-dir':
      return { steps: [], value: 'no-such-dir/out.txt', writable: [] };
    case 'file-0644':
    case 'file-0600':
      return {
        steps: [{ op: 'write', path: file, text: 'old\n', mode: output === 'file-0600' ? 0o600 : 0o644 }],
        value: file,
        output: file,
        writable: [file],
      };
    case 'link-to-file':
      return {
        steps: [
          { op: 'write', path: 'target.txt', text: 'old\n', mode: 0o640 },
          { op: 'symlink', path: file, target: 'target.txt' },
        ],
        value: file,
        output: 'target.txt',
        writable: ['target.txt'],
      };
    case 'dangling-link':
      return {
        steps: [{ op: 'symlink', path: file, target: 'created.txt' }],
        value: file,
        output: 'created.txt',
        writable: ['created.txt'],
      };
    case 'link-loop':
      return { steps: [{ op: 'symlink', path: file, target: file }], value: file, writable: [] };
    case 'device-null':
    case 'device-full':
    case 'device-zero':
      return {
        steps: [
          {
            op: 'device',
            path: 'out.dev',
            device: output.slice('device-'.length) as 'null' | 'full' | 'zero',
          },
        ],
        value: 'out.dev',
        writable: ['out.dev'],
      };
    case 'fifo-with-reader':
      return {
        steps: [{ op: 'fifo', path: 'out.fifo' }],
        value: 'out.fifo',
        writable: ['out.fifo'],
        fifoReader: 'out.fifo',
      };
    case 'fifo-no-reader':
      // As with `> fifo` in a shell, opening it may wait for a reader: the run gets a signal.
      return {
        steps: [{ op: 'fifo', path: 'out.fifo' }],
        value: 'out.fifo',
        writable: ['out.fifo'],
        blocks: true,
      };
    case 'dir':
      return { steps: [{ op: 'mkdir', path: 'out.d' }], value: 'out.d', writable: [] };
    case 'empty-string':
      return { steps: [], value: '', writable: [] };
  }
}

export function materialize(s: Scenario): Plan {
  const steps: Step[] = [];
  const env: Record<string, string> = { ...s.env };
  const argv: string[] = [];
  if (s.backend !== 'default') argv.push('-b', s.backend);
  if (s.profile) {
    const p = profileSteps(s.profile);
    steps.push(...p.steps);
    if (s.profile.via === 'env') env.MEMREGION_PROFILE = p.value;
    else argv.push('--profile', p.value);
  }
  if (s.root) {
    const r = rootSteps(s.root);
    steps.push(...r.steps);
    if (s.root.via === 'env') env.MEMREGION_ROOT = r.value;
    else argv.push('--root', r.value);
  }
  for (const g of s.globals) argv.push(...g);
  argv.push(...s.format);
  let plan: OutputPlan | undefined;
  if (s.output) {
    plan = outputSteps(s.output);
    steps.push(...plan.steps);
    argv.push('--output', plan.value);
  }
  // Options before the command's own arguments, so that a stray token cannot land after `trace --`.
  const command = [...s.command.args];
  const dashdash = command.indexOf('--');
  const insertable = dashdash === -1 ? command.length : dashdash;
  for (const { at, token } of s.stray) command.splice(at % (insertable + 1), 0, token);
  argv.push(...command);

  const json = argv.includes('--json') || argv.some((a, i) => a === '--format' && argv[i + 1] === 'json');
  let signal = s.signal;
  if (!signal && (s.command.long || plan?.blocks)) signal = { name: 'SIGTERM', delayMs: 800 };
  return {
    steps,
    argv,
    env,
    ...(plan?.output === undefined ? {} : { output: plan.output }),
    writable: new Set(plan?.writable ?? []),
    ...(plan?.fifoReader === undefined ? {} : { fifoReader: plan.fifoReader }),
    json,
    ...(signal === undefined ? {} : { signal }),
  };
}
