import { KMSG } from './evidence-manifest.js';
import { type SysRoot, yieldNow } from './fs.js';
import { LineSplitter } from './lines.js';

/** One kernel log record as /dev/kmsg gives it: `prio,seq,usec,flags;text`. */
export interface KmsgRecord {
  level: number;
  facility: number;
  seq: number;
  usec: number;
  text: string;
}

/** The kernel log as read from one source. */
export interface LogSource {
  source: string;
  readable: boolean;
  /** Not readable because of permissions (dmesg_restrict, no root, lockdown). */
  denied: boolean;
  /** True when the first record is the boot banner (seq 0, `Booting Linux`, `Linux version`); null when unreadable. */
  completeFromBoot: boolean | null;
  messages: string[];
  detail: string;
}

/** What the probe knows of the kernel log: every source tried, and their messages together. */
export interface KernelLog {
  readable: boolean;
  denied: boolean;
  completeFromBoot: boolean | null;
  /** The source that answered best (the complete one, else the first readable one, else the first tried). */
  source: string;
  messages: string[];
  tried: LogSource[];
}

/** Reads the kernel log through another channel (journalctl -k -b); null when that is not possible. */
export type JournalReader = () => Promise<LogSource | null>;

const RECORD = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/;
const BANNER = /^(Booting Linux|Linux version )/;
/** The largest record the kernel hands out in one read is far below this. */
const READ_SIZE = 64 * 1024;
/** The kernel's largest log buffer (CONFIG_LOG_BUF_SHIFT 25); a device that never ends stops here. */
const MAX_BYTES = 32 * 1024 * 1024;

/** Parses kmsg records; lines beginning with a space continue the previous record (`KEY=value`) and are skipped. */
export function parseKmsg(text: string): KmsgRecord[] {
  const records: KmsgRecord[] = [];
  for (const line of text.split('\n')) {
    const record = parseKmsgLine(line);
    if (record) records.push(record);
  }
  return records;
}

function parseKmsgLine(line: string): KmsgRecord | null {
  if (line === '' || line.startsWith(' ')) return null;
  const match = RECORD.exec(line);
  if (!match) return null;
  const prio = Number(match[1]);
  return {
    level: prio & 7,
    facility: prio >> 3,
    seq: Number(match[2]),
    usec: Number(match[3]),
    text: unescapeKmsg(match[4] ?? ''),
  };
}

/**
 * kernel/printk/printk.c msg_add_ext_text() writes every byte below 0x20, from 0x7f up, and the backslash itself as
 * `\xNN`, so a record's text is ASCII and a UTF-8 character is a run of escaped bytes: each run is turned
 * back into its bytes and decoded as UTF-8 (a malformed sequence reads as U+FFFD).
 */
function unescapeKmsg(text: string): string {
  return text.includes('\\x')
    ? text.replace(/(?:\\x[0-9a-fA-F]{2})+/g, (run) =>
        Buffer.from(run.replace(/\\x/g, ''), 'hex').toString('utf8'),
      )
    : text;
}

export function isBootBanner(text: string): boolean {
  return BANNER.test(text);
}

/**
 * Reads the ring through `consume`, one read at a time until EAGAIN (the real device blocks at the end of
 * the buffer, so it is opened non-blocking; a fixture is a plain file and simply ends). Null when read,
 * else the error code. `collect` keeps the bytes, the probe parses them.
 */
export async function readKmsgRing(
  sys: SysRoot,
  consume: (chunk: Buffer, length: number) => void,
): Promise<string | null> {
  const opened = await sys.openKernelFile(KMSG);
  if (!opened.ok) return opened.code;
  const handle = opened.handle;
  try {
    const buffer = Buffer.alloc(READ_SIZE);
    let total = 0;
    for (let reads = 1; total < MAX_BYTES; reads++) {
      if (reads % 256 === 0) await yieldNow();
      let bytesRead: number;
      try {
        bytesRead = handle.read(buffer);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // EPIPE: the record we were about to read was overwritten; the next read continues after it.
        if (code === 'EPIPE') continue;
        if (code === 'EAGAIN') break;
        return code ?? 'EIO';
      }
      if (bytesRead === 0) break;
      total += bytesRead;
      consume(buffer, bytesRead);
    }
    return null;
  } finally {
    handle.close();
  }
}

/** Reads dev/kmsg under root (readKmsgRing) into records. */
export async function readKmsg(sys: SysRoot): Promise<LogSource> {
  const source = `/${KMSG}`;
  const records: KmsgRecord[] = [];
  const lines = new LineSplitter((bytes, start, end) => {
    // A record's continuation lines (` KEY=value`) and blank lines carry nothing the probe reads.
    if (start === end || bytes[start] === 0x20) return;
    const record = parseKmsgLine(bytes.toString('utf8', start, end));
    if (record) records.push(record);
  });
  const code = await readKmsgRing(sys, (chunk, length) => lines.push(chunk, length));
  if (code !== null) {
    const denied = code === 'EACCES' || code === 'EPERM';
    return {
      source,
      readable: false,
      denied,
      completeFromBoot: null,
      messages: [],
      detail: denied
        ? `not readable (${code}: needs root or kernel.dmesg_restrict=0)`
        : `not readable (${code})`,
    };
  }
  lines.end();
  const first = records[0];
  if (!first) {
    return {
      source,
      readable: true,
      denied: false,
      completeFromBoot: false,
      messages: [],
      detail: 'no records',
    };
  }
  const complete = first.seq === 0 || isBootBanner(first.text);
  return {
    source,
    readable: true,
    denied: false,
    completeFromBoot: complete,
    messages: records.map((r) => r.text),
    detail: complete
      ? `${records.length} records, complete from boot (first: seq ${first.seq} "${clip(first.text)}")`
      : `${records.length} records, wrapped: first is seq ${first.seq} "${clip(first.text)}", not the boot banner`,
  };
}

const clip = (text: string, width = 60) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

const JOURNAL_LINE = /^\[\s*[\d.]+\]\s+\S+\s+kernel:\s?(.*)$/;

/** Messages of `journalctl -k -b -o short-monotonic` output; lines without the prefix continue the message before. */
export function parseJournalKernel(text: string): string[] {
  const messages: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('-- ')) continue;
    const match = JOURNAL_LINE.exec(line);
    if (match) messages.push(match[1] ?? '');
    else if (messages.length > 0) messages[messages.length - 1] += `\n${line.trim()}`;
  }
  return messages;
}

/** A LogSource from journal output (the command that produced it is the source). */
export function journalSource(source: string, text: string): LogSource {
  const messages = parseJournalKernel(text);
  const first = messages[0];
  if (first === undefined) {
    return {
      source,
      readable: false,
      denied: false,
      completeFromBoot: null,
      messages,
      detail: 'no kernel messages',
    };
  }
  const complete = isBootBanner(first);
  return {
    source,
    readable: true,
    denied: false,
    completeFromBoot: complete,
    messages,
    detail: complete
      ? `${messages.length} messages of this boot, complete from boot`
      : `${messages.length} messages of this boot, first is "${clip(first)}", not the boot banner`,
  };
}

/** `journalctl -k -b` through execa; null when journalctl cannot run. */
export const readJournal: JournalReader = async () => {
  const source = 'journalctl -k -b';
  const { execa } = await import('execa');
  const result = await execa('journalctl', ['-k', '-b', '-o', 'short-monotonic', '--no-pager', '-q'], {
    reject: false,
    timeout: 15_000,
    stdin: 'ignore',
    env: { LC_ALL: 'C', SYSTEMD_COLORS: '0' },
  });
  if (result.failed && result.exitCode === undefined) return null;
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const parsed = journalSource(source, stdout);
  if (parsed.readable) return parsed;
  const denied = /permission|insufficient/i.test(stderr);
  const reason = stderr.trim().split('\n')[0] || `exit code ${result.exitCode ?? 'none'}`;
  return { ...parsed, denied, detail: `no kernel messages (${clip(reason, 80)})` };
};

/**
 * The kernel log: dev/kmsg, and when that is unreadable or has wrapped, the journal as well (at root `/`
 * only unless a reader is given). Messages of every readable source are searched together.
 */
export async function readKernelLog(sys: SysRoot, journal?: JournalReader): Promise<KernelLog> {
  const tried: LogSource[] = [await readKmsg(sys)];
  const reader = journal ?? (sys.isRealRoot ? readJournal : undefined);
  const kmsg = tried[0] as LogSource;
  if (reader && kmsg.completeFromBoot !== true) {
    const fromJournal = await reader().catch(() => null);
    if (fromJournal) tried.push(fromJournal);
  }
  const readable = tried.filter((s) => s.readable);
  const best = readable.find((s) => s.completeFromBoot) ?? readable[0] ?? kmsg;
  return {
    readable: readable.length > 0,
    denied: readable.length === 0 && tried.some((s) => s.denied),
    completeFromBoot: readable.length === 0 ? null : readable.some((s) => s.completeFromBoot),
    source: best.source,
    messages: readable.flatMap((s) => s.messages),
    tried,
  };
}
