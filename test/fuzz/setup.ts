/**
 * The files a fuzz case needs, as a list of steps that each have a shell spelling: the same list builds
 * the case's folder here and is printed as the one-line repro of a failure. Every path is relative to the
 * case's own folder; special files (devices, FIFOs) are created there and nowhere else.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';

/** Character devices by the node they copy: 1,3 /dev/null; 1,5 /dev/zero; 1,7 /dev/full. */
export const DEVICES = { null: [1, 3], zero: [1, 5], full: [1, 7] } as const;
export type DeviceName = keyof typeof DEVICES;

export type Step =
  | { op: 'copy'; from: string; to: string } // from is relative to the repository
  | { op: 'mkdir'; path: string }
  | { op: 'write'; path: string; text: string; mode?: number }
  | { op: 'append'; path: string; text: string }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'fifo'; path: string }
  | { op: 'device'; path: string; device: DeviceName }
  | { op: 'symlink'; path: string; target: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'rm'; path: string };

/** Quotes a string for sh, with $'...' for control characters so that the repro stays one line. */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(text)) return text;
  if (!/[\u0000-\u001f\u007f'\\]/.test(text)) return `'${text}'`;
  const body = [...text]
    .map((ch) => {
      const code = ch.codePointAt(0)!;
      if (ch === "'" || ch === '\\') return `\\${ch}`;
      if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
      return ch;
    })
    .join('');
  return `$'${body}'`;
}

export function stepShell(step: Step): string {
  const q = shellQuote;
  switch (step.op) {
    case 'copy':
      return `cp -r ${q(path.join(ROOT, step.from))} ${q(step.to)}`;
    case 'mkdir':
      return `mkdir -p ${q(step.path)}`;
    case 'write':
      return `printf %s ${q(step.text)} > ${q(step.path)}${step.mode === undefined ? '' : ` && chmod ${step.mode.toString(8)} ${q(step.path)}`}`;
    case 'append':
      return `printf %s ${q(step.text)} >> ${q(step.path)}`;
    case 'truncate':
      return `truncate -s ${step.size} ${q(step.path)}`;
    case 'fifo':
      return `mkfifo ${q(step.path)}`;
    case 'device':
      return `mknod ${q(step.path)} c ${DEVICES[step.device].join(' ')}`;
    case 'symlink':
      return `ln -s ${q(step.target)} ${q(step.path)}`;
    case 'chmod':
      return `chmod ${step.mode.toString(8)} ${q(step.path)}`;
    case 'rm':
      return `rm -rf ${q(step.path)}`;
  }
}

/** Errors of a step that an earlier corruption made meaningless (appending to what is now a folder...). */
const SKIPPABLE = new Set(['ENOTDIR', 'ENOENT', 'EEXIST', 'ELOOP', 'EISDIR', 'EINVAL']);

/** Carries out the steps in `dir`; a step that an earlier one made impossible is skipped, as `;` in sh. */
export function applySteps(dir: string, steps: readonly Step[]): void {
  for (const step of steps) {
    try {
      applyStep(dir, step);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code && SKIPPABLE.has(code)) continue;
      // mkfifo or mknod said no (the parent is now a file, a loop...): so would the shell repro.
      if (typeof (error as { status?: unknown }).status === 'number') continue;
      throw error;
    }
  }
}

function applyStep(dir: string, step: Step): void {
  const at = (p: string) => path.join(dir, p);
  switch (step.op) {
    case 'copy':
      cpSync(path.join(ROOT, step.from), at(step.to), { recursive: true, verbatimSymlinks: true });
      return;
    case 'mkdir':
      mkdirSync(at(step.path), { recursive: true });
      return;
    case 'write':
      writeFileSync(at(step.path), step.text);
      if (step.mode !== undefined) chmodSync(at(step.path), step.mode);
      return;
    case 'append':
      appendFileSync(at(step.path), step.text);
      return;
    case 'truncate':
      truncateSync(at(step.path), step.size);
      return;
    case 'fifo':
      execFileSync('mkfifo', [at(step.path)], { stdio: 'ignore' });
      return;
    case 'device':
      try {
        execFileSync('mknod', [at(step.path), 'c', ...DEVICES[step.device].map(String)], { stdio: 'ignore' });
      } catch {
        // Not root (or no CAP_MKNOD): a FIFO is the special file that stands in for it.
        execFileSync('mkfifo', [at(step.path)], { stdio: 'ignore' });
      }
      return;
    case 'symlink':
      symlinkSync(step.target, at(step.path));
      return;
    case 'chmod':
      chmodSync(at(step.path), step.mode);
      return;
    case 'rm':
      rmSync(at(step.path), { recursive: true, force: true });
      return;
  }
}
