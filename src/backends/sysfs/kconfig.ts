import { gunzipSync } from 'node:zlib';
import { bootConfig, KERNEL_CONFIG_GZ, RELEASE_NAME } from './evidence-manifest.js';
import { MAX_KERNEL_FILE_BYTES, type SysRoot } from './fs.js';

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

/**
 * A string value as scripts/kconfig/confdata.c conf_set_sym_val() reads it back: after the opening quote
 * a backslash takes the next character as it is (escape_string_value() writes `"` and `\\` that way) and
 * the first unescaped quote ends the value. Without a closing quote kconfig rejects the line: it is kept
 * as written.
 */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  let out = '';
  for (let i = 1; i < value.length; i++) {
    const c = value[i];
    if (c === '"') return out;
    if (c === '\\') i++;
    out += value[i] ?? '';
  }
  return value;
}

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

/**
 * A gzip file, read bounded and inflated to at most MAX_KERNEL_FILE_BYTES (a kernel config is some
 * 200 KiB; a bomb in a --root tree stops there). It is inflated whole: an option's absence is only known
 * at the end, and a later line overrides an earlier one.
 */
async function readGzip(sys: SysRoot, relative: string): Promise<Attempt> {
  const compressed = await sys.readBytes(relative);
  if (!compressed.ok) return compressed;
  try {
    const text = gunzipSync(compressed.bytes, { maxOutputLength: MAX_KERNEL_FILE_BYTES }).toString('utf8');
    return { ok: true, text };
  } catch (error) {
    return { ok: false, code: (error as NodeJS.ErrnoException).code ?? 'EINVAL' };
  }
}

const isDenied = (code: string) => code === 'EACCES' || code === 'EPERM';

/** proc/config.gz (CONFIG_IKCONFIG_PROC), else boot/config-<release> as distributions install it. */
export async function readKernelConfig(sys: SysRoot, release: string | null): Promise<KernelConfig> {
  const attempts: { source: string; code: string }[] = [];
  const gz = await readGzip(sys, KERNEL_CONFIG_GZ);
  if (gz.ok) return found(`/${KERNEL_CONFIG_GZ}`, gz.text);
  attempts.push({ source: `/${KERNEL_CONFIG_GZ}`, code: gz.code });
  if (release && RELEASE_NAME.test(release)) {
    const relative = bootConfig(release);
    const plain = await sys.read(relative);
    if (plain.ok) return found(`/${relative}`, plain.text);
    attempts.push({ source: `/${relative}`, code: plain.code });
  }
  const denied = attempts.some((a) => isDenied(a.code));
  return {
    readable: false,
    denied,
    source: attempts[0]?.source ?? `/${KERNEL_CONFIG_GZ}`,
    values: new Map(),
    detail: `not readable: ${attempts.map((a) => `${a.source} ${a.code}`).join(', ')}`,
  };
}

function found(source: string, text: string): KernelConfig {
  const values = parseKconfig(text);
  return { readable: true, denied: false, source, values, detail: `${values.size} options` };
}
