import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { SysRoot } from './fs.js';

const gunzipAsync = promisify(gunzip);

/** Kernel build options: `y`, `m`, a string or number as written, or `n` for `# CONFIG_X is not set`. */
export type KernelConfigValues = Map<string, string>;

export interface KernelConfig {
  readable: boolean;
  denied: boolean;
  /** The file the options came from, or the first one tried. */
  source: string;
  values: KernelConfigValues;
  detail: string;
}

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const NOT_SET = /^# CONFIG_([A-Za-z0-9_]+) is not set$/;

export function parseKconfig(text: string): KernelConfigValues {
  const values: KernelConfigValues = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = SET.exec(line);
    if (set) {
      values.set(set[1] as string, unquote(set[2] as string));
      continue;
    }
    const notSet = NOT_SET.exec(line);
    if (notSet) values.set(notSet[1] as string, 'n');
  }
  return values;
}

const unquote = (value: string) =>
  value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1).replace(/\\"/g, '"')
    : value;

/** `y`/`m`/value of CONFIG_<name>, `n` when not set, undefined when this kernel has no such option. */
export function configOption(config: KernelConfig, name: string): string | undefined {
  return config.values.get(name.replace(/^CONFIG_/, ''));
}

/**
 * A config option as the file spells it: `CONFIG_X=y`, `# CONFIG_X is not set`, or that the file has no
 * such line at all (an option whose menu is off is not written, so naming it would cite a line that is
 * not there).
 */
export function describeOption(value: string | undefined | null, name: string): string {
  const symbol = `CONFIG_${name.replace(/^CONFIG_/, '')}`;
  if (value === undefined || value === null) return `no ${symbol} line`;
  return value === 'n' ? `# ${symbol} is not set` : `${symbol}=${value}`;
}

export const isBuilt = (value: string | undefined): boolean => value === 'y' || value === 'm';

type Attempt = { ok: true; text: string } | { ok: false; code: string };

async function readGzip(sys: SysRoot, relative: string): Promise<Attempt> {
  try {
    const compressed = await readFile(sys.resolve(relative));
    return { ok: true, text: (await gunzipAsync(compressed)).toString('utf8') };
  } catch (error) {
    return { ok: false, code: (error as NodeJS.ErrnoException).code ?? 'EINVAL' };
  }
}

const isDenied = (code: string) => code === 'EACCES' || code === 'EPERM';

/** proc/config.gz (CONFIG_IKCONFIG_PROC), else boot/config-<release> as distributions install it. */
export async function readKernelConfig(sys: SysRoot, release: string | null): Promise<KernelConfig> {
  const attempts: { source: string; code: string }[] = [];
  const gz = await readGzip(sys, 'proc/config.gz');
  if (gz.ok) return found('/proc/config.gz', gz.text);
  attempts.push({ source: '/proc/config.gz', code: gz.code });
  if (release && /^[A-Za-z0-9._+~-]+$/.test(release)) {
    const relative = `boot/config-${release}`;
    const plain = await sys.read(relative);
    if (plain.ok) return found(`/${relative}`, plain.text);
    attempts.push({ source: `/${relative}`, code: plain.code });
  }
  const denied = attempts.some((a) => isDenied(a.code));
  return {
    readable: false,
    denied,
    source: attempts[0]?.source ?? '/proc/config.gz',
    values: new Map(),
    detail: `not readable: ${attempts.map((a) => `${a.source} ${a.code}`).join(', ')}`,
  };
}

function found(source: string, text: string): KernelConfig {
  const values = parseKconfig(text);
  return { readable: true, denied: false, source, values, detail: `${values.size} options` };
}
