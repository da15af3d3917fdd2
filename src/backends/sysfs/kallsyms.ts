import type { SysRoot } from './fs.js';

export interface SymbolLookup {
  /** False when proc/kallsyms could not be read at all. */
  readable: boolean;
  found: Set<string>;
  /** True when every address reads as zero: kptr_restrict hides them from this reader, names are still listed. */
  addressesHidden: boolean;
}

const LINE = /^([0-9a-fA-F]+)\s+(\S)\s+(\S+)(?:\s+\[(\S+)\])?$/;

/** Which of `names` the running kernel has, from proc/kallsyms (modules' symbols included). */
export async function findSymbols(sys: SysRoot, names: string[]): Promise<SymbolLookup> {
  const result = await sys.read('proc/kallsyms');
  const found = new Set<string>();
  if (!result.ok) return { readable: false, found, addressesHidden: false };
  const wanted = new Set(names);
  let sawAddress = false;
  let sawLine = false;
  for (const line of result.text.split('\n')) {
    const match = LINE.exec(line.trim());
    if (!match) continue;
    sawLine = true;
    const [, address, , name] = match as unknown as [string, string, string, string];
    if (!sawAddress && /[1-9a-fA-F]/.test(address)) sawAddress = true;
    if (wanted.has(name)) found.add(name);
  }
  return { readable: true, found, addressesHidden: sawLine && !sawAddress };
}
