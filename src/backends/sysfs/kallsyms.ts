import type { SysRoot } from './fs.js';

export interface SymbolLookup {
  /** False when proc/kallsyms could not be read at all. */
  readable: boolean;
  /** Not readable because of permissions. */
  denied?: boolean;
  found: Set<string>;
  /** True when every address reads as zero: kptr_restrict hides them from this reader, names are still listed. */
  addressesHidden: boolean;
}

/** Which of `names` the running kernel has, from proc/kallsyms (lines `address type name [module]`). */
export async function findSymbols(sys: SysRoot, names: string[]): Promise<SymbolLookup> {
  const result = await sys.read('proc/kallsyms');
  const found = new Set<string>();
  if (!result.ok) return { readable: false, denied: result.denied, found, addressesHidden: false };
  const wanted = new Set(names);
  let sawAddress = false;
  let sawLine = false;
  for (const line of result.text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const [address, type, name] = fields;
    if (!address || !type || !name || !/^[0-9a-fA-F]+$/.test(address)) continue;
    sawLine = true;
    if (!sawAddress && /[1-9a-fA-F]/.test(address)) sawAddress = true;
    if (wanted.has(name)) found.add(name);
  }
  return { readable: true, found, addressesHidden: sawLine && !sawAddress };
}
