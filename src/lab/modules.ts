import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { unavailableError } from '../core/errors.js';

/** The drivers a CXL lab needs, in load order (Debian 7.2 builds CXL_BUS and CXL_PORT in; 6.1 does not). */
export const CXL_MODULES = [
  'libnvdimm',
  'cxl_pmem',
  'cxl_port',
  'cxl_acpi',
  'cxl_mem',
  'cxl_pci',
  'dax_hmem',
  'dax_cxl',
  'device_dax',
  'nd_pmem',
];

/** What the guest loads: each module decompressed, in an order where dependencies come first. */
export interface LoadableModule {
  name: string;
  data: Buffer;
}

const normalize = (name: string) => name.replace(/-/g, '_');
const moduleName = (file: string) => normalize(path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, ''));

async function indexModules(dir: string, into = new Map<string, string>()): Promise<Map<string, string>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await indexModules(full, into);
    else if (/\.ko(\.(xz|zst|gz))?$/.test(entry.name)) into.set(moduleName(entry.name), full);
  }
  return into;
}

/** Names built into the kernel (modules.builtin), which need no loading. */
async function builtins(modulesDir: string): Promise<Set<string>> {
  try {
    const text = await readFile(path.join(modulesDir, 'modules.builtin'), 'utf8');
    return new Set(text.split('\n').filter(Boolean).map(moduleName));
  } catch {
    return new Set();
  }
}

/** A module file's bytes, decompressed with the system's xz, zstd or gzip (as kmod does). */
async function decompress(file: string): Promise<Buffer> {
  const tool = file.endsWith('.xz')
    ? 'xz'
    : file.endsWith('.zst')
      ? 'zstd'
      : file.endsWith('.gz')
        ? 'gzip'
        : null;
  if (!tool) return readFile(file);
  const { execa } = await import('execa');
  const result = await execa(tool, ['-dc', file], { encoding: 'buffer', reject: false, stdin: 'ignore' });
  if (result.failed) {
    throw unavailableError(
      `cannot decompress ${path.basename(file)}: ${tool} ${(result as { code?: string }).code === 'ENOENT' ? 'is not installed' : 'failed'}`,
    );
  }
  return Buffer.from(result.stdout as Uint8Array);
}

/** The `depends=` field of a module's .modinfo section: NUL-separated `key=value` strings. */
export function moduleDepends(data: Buffer): string[] {
  const at = data.indexOf('\0depends=');
  if (at < 0) return [];
  const start = at + '\0depends='.length;
  const end = data.indexOf(0, start);
  return data
    .subarray(start, end < 0 ? undefined : end)
    .toString('latin1')
    .split(',')
    .filter(Boolean)
    .map(normalize);
}

/**
 * The modules to load for `wanted`, with their dependencies first, as `modprobe` would resolve them from
 * modules.dep (which Debian's packages do not ship: depmod makes it on install). Wanted names that are
 * built in are skipped; names the kernel has neither built in nor as a module are left out and reported.
 */
export async function resolveModules(
  modulesDir: string,
  wanted: string[],
): Promise<{ modules: LoadableModule[]; missing: string[] }> {
  const index = await indexModules(path.join(modulesDir, 'kernel'));
  const builtIn = await builtins(modulesDir);
  const loaded = new Map<string, LoadableModule>();
  const missing: string[] = [];
  const visit = async (name: string, stack: string[]): Promise<void> => {
    if (loaded.has(name) || builtIn.has(name) || stack.includes(name)) return;
    const file = index.get(name);
    if (!file) {
      missing.push(name);
      return;
    }
    const data = await decompress(file);
    for (const dependency of moduleDepends(data)) await visit(dependency, [...stack, name]);
    loaded.set(name, { name, data });
  };
  for (const name of wanted) await visit(normalize(name), []);
  return { modules: [...loaded.values()], missing };
}
