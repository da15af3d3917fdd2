import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SysRoot } from '../../../src/backends/sysfs/fs.js';
import { replayKprobeEvents, Tracefs } from '../../../src/backends/sysfs/tracefs.js';

/**
 * tracefs on a fixture tree, with the kernel's part played in the test: kprobe_events is a plain file
 * that accumulates the appended definitions (the live set is what `replayKprobeEvents` makes of it);
 * an added probe creates its `events/<group>/<event>` directories at the top level and in every
 * instance; a removal fails with EBUSY while the group is enabled anywhere, as the kernel refuses it;
 * `mkdir instances/X` creates the instance's events tree and trace_pipe, `rmdir` removes it whole.
 */
export class FakeKernelTracefs extends Tracefs {
  failEnable = false;

  constructor(sys: SysRoot, base = 'sys/kernel/tracing') {
    super(sys, base);
  }

  live(): Set<string> {
    const file = this.path('kprobe_events');
    return replayKprobeEvents(existsSync(file) ? readFileSync(file, 'utf8') : '');
  }

  private eventRoots(): string[] {
    const roots = [this.path('events')];
    const instances = this.path('instances');
    if (existsSync(instances)) {
      for (const name of readdirSync(instances)) {
        if (!name.startsWith('.')) roots.push(path.join(instances, name, 'events'));
      }
    }
    return roots;
  }

  private model(line: string): void {
    const match = /^([pr]|-):([^/\s]+)\/(\S+)/.exec(line);
    if (!match) return;
    const [, type, group, event] = match as unknown as [string, string, string, string];
    if (type === '-') {
      for (const root of this.eventRoots()) {
        const enable = path.join(root, group, 'enable');
        if (existsSync(enable) && readFileSync(enable, 'utf8').trim() === '1') {
          const error = new Error('EBUSY: event is enabled') as NodeJS.ErrnoException;
          error.code = 'EBUSY';
          throw error;
        }
      }
      for (const root of this.eventRoots())
        rmSync(path.join(root, group, event), { recursive: true, force: true });
      return;
    }
    for (const root of this.eventRoots()) this.createEvent(root, group, event);
  }

  private createEvent(root: string, group: string, event: string): void {
    mkdirSync(path.join(root, group, event), { recursive: true });
    const enable = path.join(root, group, 'enable');
    if (!existsSync(enable)) writeFileSync(enable, '0\n');
    writeFileSync(path.join(root, group, event, 'enable'), '0\n');
  }

  override async appendProbe(line: string): Promise<void> {
    this.model(line);
    await super.appendProbe(line);
  }

  override appendProbeSync(line: string): void {
    this.model(line);
    super.appendProbeSync(line);
  }

  override async write(relative: string, value: string): Promise<void> {
    if (this.failEnable && relative.endsWith('/enable') && value === '1') {
      const error = new Error('EIO: simulated') as NodeJS.ErrnoException;
      error.code = 'EIO';
      throw error;
    }
    if (!existsSync(path.dirname(this.path(relative)))) {
      const error = new Error(`ENOENT: ${relative}`) as NodeJS.ErrnoException;
      error.code = 'ENOENT';
      throw error;
    }
    await super.write(relative, value);
  }

  override async mkdir(relative: string): Promise<void> {
    await super.mkdir(relative);
    writeFileSync(this.path(`${relative}/trace_pipe`), '');
    for (const name of this.live()) {
      const [group, event] = name.split('/') as [string, string];
      this.createEvent(this.path(`${relative}/events`), group, event);
    }
  }

  override async rmdir(relative: string): Promise<void> {
    rmSync(this.path(relative), { recursive: true });
  }

  override rmdirSync(relative: string): void {
    rmSync(this.path(relative), { recursive: true });
  }

  /** The kernel records an event: a line appears in the instance's trace_pipe. */
  emit(instance: string, line: string): void {
    this.emitRaw(instance, `${line}\n`);
  }

  /** Raw bytes, for a line the reader sees in two pieces. */
  emitRaw(instance: string, text: string): void {
    writeFileSync(this.path(`${instance}/trace_pipe`), text, { flag: 'a' });
  }
}
