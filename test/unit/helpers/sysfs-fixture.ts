import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProbeFn } from '../../../src/backends/sysfs/guard.js';
import type { Verdict } from '../../../src/backends/types.js';
import { sysfsProbeReport } from '../../helpers/sysfs-probe-report.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures');

/** A private copy of a fixture tree (symlinks kept as they are), removed by `cleanup`. */
export function copyFixture(name = 'cxl'): { root: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'memregion-sysfs-'));
  const root = path.join(dir, 'root');
  cpSync(path.join(FIXTURES, name), root, { recursive: true, verbatimSymlinks: true });
  return { root, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A probe answer with the given verdict, for flows that only look at the verdict. */
export function fakeProbe(verdict: Verdict, reasons: string[] = []): ProbeFn {
  return async () =>
    sysfsProbeReport(verdict, {
      reasons: verdict === 'supported' ? [] : reasons.length > 0 ? reasons : ['no provider registered'],
    });
}

export interface Confirmer {
  confirm: (question: string) => Promise<boolean>;
  questions: string[];
}

export function confirmer(answer: boolean, onAsk?: () => void): Confirmer {
  const questions: string[] = [];
  return {
    questions,
    confirm: async (question: string) => {
      questions.push(question);
      onAsk?.();
      return answer;
    },
  };
}
