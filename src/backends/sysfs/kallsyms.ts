import { KALLSYMS } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { isAscii, isAsciiSpace, LineSplitter } from './lines.js';

export interface SymbolLookup {
  /** False when proc/kallsyms could not be read at all. */
  readable: boolean;
  /** Not readable because of permissions. */
  denied?: boolean;
  found: Set<string>;
  /** True when every address reads as zero: kptr_restrict hides them from this reader, names are still listed. */
  addressesHidden: boolean;
}

const HEX_ADDRESS = /^[0-9a-fA-F]+$/;
const NONZERO_HEX = /[1-9a-fA-F]/;

/**
 * The state of a scan of kallsyms lines (`address type name [module]`, as kernel/kallsyms.c s_show()
 * prints them): which wanted names appear, and whether any address is not zero. A line counts when its
 * first three whitespace-separated fields exist and the first is hex.
 */
class SymbolScan {
  readonly found = new Set<string>();
  sawLine = false;
  sawAddress = false;
  private readonly wanted: Set<string>;
  private readonly wantedBytes: Buffer[];

  constructor(names: string[]) {
    this.wanted = new Set(names);
    this.wantedBytes = [...this.wanted].map((name) => Buffer.from(name, 'utf8'));
  }

  line(bytes: Buffer, start: number, end: number): void {
    if (!isAscii(bytes, start, end)) {
      this.textLine(bytes.toString('utf8', start, end));
      return;
    }
    // The fields by byte position: ASCII, so JavaScript's \s is exactly isAsciiSpace here.
    let i = start;
    while (i < end && isAsciiSpace(bytes[i]!)) i++;
    const address = i;
    while (i < end && !isAsciiSpace(bytes[i]!)) i++;
    const addressEnd = i;
    while (i < end && isAsciiSpace(bytes[i]!)) i++;
    if (i === end) return;
    while (i < end && !isAsciiSpace(bytes[i]!)) i++;
    while (i < end && isAsciiSpace(bytes[i]!)) i++;
    if (i === end) return;
    const name = i;
    while (i < end && !isAsciiSpace(bytes[i]!)) i++;
    const nameEnd = i;
    if (addressEnd === address) return;
    let nonzero = false;
    for (let j = address; j < addressEnd; j++) {
      const c = bytes[j]!;
      const digit = c >= 0x30 && c <= 0x39;
      const letter = (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
      if (!digit && !letter) return;
      if (c !== 0x30) nonzero = true;
    }
    this.sawLine = true;
    if (nonzero) this.sawAddress = true;
    const length = nameEnd - name;
    for (const wanted of this.wantedBytes) {
      if (wanted.length === length && bytes.compare(wanted, 0, length, name, nameEnd) === 0)
        this.found.add(wanted.toString('utf8'));
    }
  }

  /** Complete lines `[start, end)` (separated by `\n`). */
  block(bytes: Buffer, start: number, end: number): void {
    let lineStart = start;
    while (!this.sawAddress && lineStart <= end) {
      let lineEnd = bytes.indexOf(0x0a, lineStart);
      if (lineEnd === -1 || lineEnd > end) lineEnd = end;
      this.line(bytes, lineStart, lineEnd);
      lineStart = lineEnd + 1;
    }
    if (lineStart > end) return;
    // A view that ends with the block: indexOf has no end, and a read of proc/kallsyms may fill only a
    // page of a large buffer.
    const view = bytes.subarray(lineStart, end);
    for (const wanted of this.wantedBytes) {
      let at = view.indexOf(wanted);
      while (at !== -1) {
        const first = view.lastIndexOf(0x0a, at) + 1;
        let last = view.indexOf(0x0a, at);
        if (last === -1) last = view.length;
        this.line(view, first, last);
        at = view.indexOf(wanted, last);
      }
    }
  }

  /** A line with non-ASCII bytes, taken as the text it decodes to. */
  private textLine(line: string): void {
    const [address, type, name] = line.trim().split(/\s+/);
    if (!address || !type || !name || !HEX_ADDRESS.test(address)) return;
    this.sawLine = true;
    if (!this.sawAddress && NONZERO_HEX.test(address)) this.sawAddress = true;
    if (this.wanted.has(name)) this.found.add(name);
  }
}

/**
 * Which of `names` the running kernel has, from proc/kallsyms. The file (some 5-15 MiB) is streamed and
 * scanned as bytes: lines are parsed one by one only until an address shows that they are not hidden
 * (the first line, for root); after that only the lines where a wanted name occurs (Buffer.indexOf) are.
 */
export async function findSymbols(sys: SysRoot, names: string[]): Promise<SymbolLookup> {
  const scan = new SymbolScan(names);
  const lines = new LineSplitter((bytes, start, end) => scan.block(bytes, start, end), true);
  const failure = await sys.stream(KALLSYMS, (chunk, length) => {
    lines.push(chunk, length);
    return undefined;
  });
  if (failure) return { readable: false, denied: failure.denied, found: new Set(), addressesHidden: false };
  lines.end();
  return { readable: true, found: scan.found, addressesHidden: scan.sawLine && !scan.sawAddress };
}
