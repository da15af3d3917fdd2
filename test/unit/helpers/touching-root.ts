import { readdirSync } from 'node:fs';
import path from 'node:path';
import { type ReadFailure, SysRoot } from '../../../src/backends/sysfs/fs.js';
import { FIXTURES } from './sysfs-fixture.js';

/** Every fixture tree, relative to test/fixtures. */
export const FIXTURE_TREES = [
  ...readdirSync(path.join(FIXTURES, 'machines')).map((n) => `machines/${n}`),
  ...readdirSync(path.join(FIXTURES, 'kernels')).map((n) => `kernels/${n}`),
  'cxl',
];

/** A SysRoot that notes every path a reader asks for. */
export class TouchingRoot extends SysRoot {
  readonly touched = new Set<string>();
  override async read(relative: string) {
    this.touched.add(relative);
    return super.read(relative);
  }
  override async readBytes(relative: string) {
    this.touched.add(relative);
    return super.readBytes(relative);
  }
  override async openKernelFile(relative: string) {
    this.touched.add(relative);
    return super.openKernelFile(relative);
  }
  override async stream(relative: string, consume: (chunk: Buffer, length: number) => boolean | undefined) {
    this.touched.add(relative);
    return super.stream(relative, consume) as Promise<ReadFailure | null>;
  }
  override async exists(relative: string) {
    this.touched.add(relative);
    return super.exists(relative);
  }
  override async list(relative: string) {
    this.touched.add(relative);
    return super.list(relative);
  }
  override async link(relative: string) {
    this.touched.add(relative);
    return super.link(relative);
  }
}
