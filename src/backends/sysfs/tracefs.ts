import { closeSync, constants, mkdirSync, rmdirSync } from 'node:fs';
import { type FileHandle, mkdir, open, rmdir, stat } from 'node:fs/promises';
import { readBounded, type SysRoot } from './fs.js';
import { notRegularFile, writeRegularFile, writeRegularFileSync } from './regular-file.js';

/**
 * tracefs dynamic events (kernel `Documentation/trace/kprobetrace.rst`): probe definitions, the trace
 * line parser, and the file operations of an event group's lifecycle. The pure functions here are what
 * the tests pin down; `Tracefs` is the only place that touches tracefs files.
 */

export const INVALIDATE_SYMBOL = 'cpu_cache_invalidate_memregion';

/** Provider callbacks of the cache-maintenance framework (`drivers/cache/`), probed when kallsyms has them. */
export const PROVIDER_CALLBACKS: readonly ProviderCallback[] = [
  { symbol: 'smccc_cache_wbinv', op: 'wbinv' },
  { symbol: 'hisi_soc_hha_wbinv', op: 'wbinv' },
  { symbol: 'hisi_soc_hha_done', op: 'done' },
];

export interface ProviderCallback {
  symbol: string;
  /** `wbinv(inst, struct cc_inval_params *{addr, size})` or `done(inst)`. */
  op: 'wbinv' | 'done';
}

export interface ProbeDefinition {
  type: 'p' | 'r';
  event: string;
  symbol: string;
  fetchargs: string[];
}

/** The event group of this process: unique while the process lives. */
export const groupName = (pid: number = process.pid): string => `memregion_${pid}`;

const EVENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Entry and return probes on `cpu_cache_invalidate_memregion(start, len)` and on each provider callback:
 * `wbinv` reads the range from its `struct cc_inval_params *` ($arg2: addr at +0, size at +8).
 */
export function probeDefinitions(providers: readonly ProviderCallback[] = []): ProbeDefinition[] {
  const defs: ProbeDefinition[] = [
    { type: 'p', event: 'inv', symbol: INVALIDATE_SYMBOL, fetchargs: ['start=$arg1:x64', 'len=$arg2:u64'] },
    { type: 'r', event: 'inv_ret', symbol: INVALIDATE_SYMBOL, fetchargs: ['ret=$retval:s32'] },
  ];
  for (const provider of providers) {
    const entryArgs = provider.op === 'wbinv' ? ['start=+0($arg2):x64', 'len=+8($arg2):u64'] : [];
    defs.push({ type: 'p', event: provider.symbol, symbol: provider.symbol, fetchargs: entryArgs });
    defs.push({
      type: 'r',
      event: `${provider.symbol}_ret`,
      symbol: provider.symbol,
      fetchargs: ['ret=$retval:s32'],
    });
  }
  return defs;
}

/** `p:<group>/<event> <symbol> <fetchargs...>`, the line appended to kprobe_events. */
export function formatProbe(group: string, def: ProbeDefinition): string {
  if (!EVENT_NAME.test(group) || !EVENT_NAME.test(def.event))
    throw new Error(`bad event name ${group}/${def.event}`);
  return [`${def.type}:${group}/${def.event}`, def.symbol, ...def.fetchargs].join(' ');
}

/** `-:<group>/<event>`: removes one probe (after it is disabled everywhere). */
export const formatRemoval = (group: string, event: string): string => `-:${group}/${event}`;

/**
 * The probes still defined after a sequence of kprobe_events writes, replayed with the kernel's
 * semantics (`p:`/`r:` add, `-:` removes). On a real kernel, reading kprobe_events lists the live ones;
 * on a test tree, where kprobe_events is a plain file that our appends accumulate in, this is how a test
 * tells what the kernel would still have.
 */
export function replayKprobeEvents(text: string): Set<string> {
  const live = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([pr][0-9]*|-):([^\s]+)/.exec(line);
    if (!match) continue;
    const name = match[2]!.includes('/') ? match[2]! : `kprobes/${match[2]}`;
    if (match[1] === '-') live.delete(name);
    else live.add(name);
  }
  return live;
}

/** The active lockdown mode from `sys/kernel/security/lockdown` (`none [integrity] confidentiality`). */
export function lockdownMode(text: string | null): string | null {
  if (text === null) return null;
  const match = /\[([a-z]+)\]/.exec(text);
  return match ? match[1]! : null;
}

/** One line of trace_pipe. */
export interface TraceLine {
  comm: string;
  pid: number;
  cpu: number;
  flags: string | null;
  /** Kernel timestamp in microseconds. */
  timestampUs: number;
  event: string;
  /** Inside the parentheses: `sym+off/size` for an entry, `caller+off/size <- sym` for a return. */
  location: string;
  /** The probed function (`<- sym` of a return probe, or the symbol of the entry location). */
  symbol: string | null;
  args: Record<string, string>;
}

const TRACE_LINE =
  /^\s*(.*)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(?:([^\s]{4,6})\s+)?(\d+(?:\.\d+)?):\s+([A-Za-z0-9_.]+):\s+\(([^)]*)\)(.*)$/;

/**
 * Parses `comm-pid [cpu] flags ts: event: (sym+off/size) k=v ...`; the flags column is absent when the
 * irq-info option is off, and a `(tgid)` column is present with record-tgid. Null for other lines.
 */
export function parseTraceLine(line: string): TraceLine | null {
  const match = TRACE_LINE.exec(line.replace(/\r?\n$/, ''));
  if (!match) return null;
  const [, comm, pid, cpu, flags, ts, event, location, rest] = match as unknown as string[];
  const args: Record<string, string> = {};
  for (const token of rest!.trim().split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq > 0) args[token.slice(0, eq)] = token.slice(eq + 1);
  }
  const returned = /<-\s*([A-Za-z0-9_.]+)/.exec(location!);
  const entered = /^([A-Za-z0-9_.]+)\+0x0\//.exec(location!);
  return {
    comm: comm!.trim(),
    pid: Number(pid),
    cpu: Number(cpu),
    flags: flags ?? null,
    timestampUs: timestampToUs(ts!),
    event: event!,
    location: location!,
    symbol: returned ? returned[1]! : entered ? entered[1]! : null,
    args,
  };
}

/** `1038282.286875` (seconds) → microseconds, without floating-point drift in the fraction. */
export function timestampToUs(ts: string): number {
  const [secs, frac = ''] = ts.split('.');
  return Number(secs) * 1_000_000 + Number(frac.padEnd(6, '0').slice(0, 6));
}

/** x64 values print as `0x…` (older kernels: bare hex); u64 as decimal. */
export function parseHexArg(value: string | undefined): bigint | null {
  if (value === undefined) return null;
  const digits = value.replace(/^0x/i, '');
  return /^[0-9a-fA-F]+$/.test(digits) ? BigInt(`0x${digits}`) : null;
}

export function parseDecArg(value: string | undefined): bigint | null {
  return value !== undefined && /^[0-9]+$/.test(value) ? BigInt(value) : null;
}

/** Reads what is available from trace_pipe, without blocking; null once closed. */
export interface PipeReader {
  readAvailable(): Promise<string>;
  close(): Promise<void>;
  readonly fd: number | null;
}

/** What is not there is created, as `echo >` does (a test tree's plain files). */
const append = { flags: constants.O_APPEND, create: true };
const truncate = { flags: constants.O_TRUNC, create: true };

/**
 * File operations on one tracefs mount (`sys/kernel/tracing` or `sys/kernel/debug/tracing`), kept
 * inside the root. kprobe_events is only ever appended to (`O_APPEND`, one definition per write):
 * opening it with `O_TRUNC` would make the kernel drop every kprobe event of the system.
 */
export class Tracefs {
  constructor(
    readonly sys: SysRoot,
    /** Root-relative directory of the mount. */
    readonly base: string,
  ) {}

  path(relative: string): string {
    return this.sys.resolve(`${this.base}/${relative}`);
  }

  /**
   * The file an operation opens, makes or removes: kept inside the root with its links followed, as every
   * other file of a --root tree (SysRoot.placeSync). A tree's `events/<group>/enable` linked to a file
   * elsewhere was truncated by the clean-up of a dead session the tree's kprobe_events names.
   */
  private place(relative: string): string {
    return this.sys.placeSync(`${this.base}/${relative}`);
  }

  /** kprobe_events as the kernel lists it: the probes defined now. */
  async readProbes(): Promise<string> {
    const file = this.place('kprobe_events');
    if (!(await stat(file)).isFile()) throw notRegularFile(file);
    // Bounded as every kernel file: a tree's kprobe_events of 1.5 GiB was read whole (600 MB, 5 s).
    return (await readBounded(file)).toString('utf8');
  }

  async appendProbe(line: string): Promise<void> {
    await writeRegularFile(this.place('kprobe_events'), `${line}\n`, append);
  }

  appendProbeSync(line: string): void {
    writeRegularFileSync(this.place('kprobe_events'), `${line}\n`, append);
  }

  async write(relative: string, value: string): Promise<void> {
    await writeRegularFile(this.place(relative), `${value}\n`, truncate);
  }

  writeSync(relative: string, value: string): void {
    writeRegularFileSync(this.place(relative), `${value}\n`, truncate);
  }

  async mkdir(relative: string): Promise<void> {
    await mkdir(this.place(relative));
  }

  async rmdir(relative: string): Promise<void> {
    await rmdir(this.place(relative));
  }

  rmdirSync(relative: string): void {
    rmdirSync(this.place(relative));
  }

  /** trace_pipe opened non-blocking: an empty pipe answers EAGAIN (a plain file in a test tree: 0 bytes). */
  async openPipe(relative: string): Promise<PipeReader> {
    const handle: FileHandle = await open(this.place(relative), constants.O_RDONLY | constants.O_NONBLOCK);
    let closed = false;
    const buffer = Buffer.alloc(64 * 1024);
    return {
      get fd() {
        return closed ? null : handle.fd;
      },
      async readAvailable() {
        if (closed) return '';
        const chunks: Buffer[] = [];
        for (let i = 0; i < 64; i++) {
          let bytesRead: number;
          try {
            ({ bytesRead } = await handle.read(buffer, 0, buffer.length, null));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
            throw error;
          }
          if (bytesRead === 0) break;
          chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
        }
        return Buffer.concat(chunks).toString('utf8');
      },
      async close() {
        if (closed) return;
        closed = true;
        await handle.close();
      },
    };
  }

  closeFdSync(fd: number | null): void {
    if (fd === null) return;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }

  mkdirSync(relative: string): void {
    mkdirSync(this.place(relative));
  }
}
