import { SysRoot } from '../../../src/backends/sysfs/fs.js';

export interface WriteRecord {
  file: string;
  value: string;
}

type KernelHook = (file: string, value: string, root: RecordingRoot) => Promise<void> | void;

/**
 * A SysRoot that records every write in order and lets the test play the kernel's part: `hook` runs
 * before the write lands and may throw an errno error (as the kernel would fail the write) or change
 * other files (as the kernel would change state).
 */
export class RecordingRoot extends SysRoot {
  readonly writes: WriteRecord[] = [];
  hook: KernelHook | null = null;

  override async write(relative: string, value: string): Promise<void> {
    this.writes.push({ file: relative, value });
    if (this.hook) await this.hook(relative, value, this);
    await super.write(relative, value);
  }
}

export function errnoError(code: string): NodeJS.ErrnoException {
  const error = new Error(`${code}: simulated kernel refusal`) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}
