import type { IomemInfo } from '../types.js';
import { IOMEM } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { hex } from './values.js';

/** One line of /proc/iomem: `start-end : name`, nested lines indented by two spaces per level. */
export interface IomemEntry {
  start: bigint;
  /** Inclusive, as the kernel prints it. */
  end: bigint;
  name: string;
  depth: number;
  /** Name of the enclosing entry, if any. */
  parent: string | null;
}

/** The kernel prints 64-bit addresses (kernel/resource.c, r_show()): a wider one is not its line. */
const LINE = /^( *)([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) : (.*)$/;

export function parseIomem(text: string): IomemEntry[] {
  const entries: IomemEntry[] = [];
  const stack: IomemEntry[] = [];
  for (const raw of text.split('\n')) {
    const match = LINE.exec(raw.replace(/\r$/, ''));
    if (!match) continue;
    const depth = Math.floor(match[1]!.length / 2);
    while (stack.length > depth) stack.pop();
    const entry: IomemEntry = {
      start: BigInt(`0x${match[2]}`),
      end: BigInt(`0x${match[3]}`),
      name: match[4]!.trim(),
      depth,
      parent: stack.length > 0 ? stack[stack.length - 1]!.name : null,
    };
    entries.push(entry);
    stack.push(entry);
  }
  return entries;
}

/** Without root the kernel prints every range as zero (kptr-style hiding): the addresses mean nothing then. */
export function iomemAddressesHidden(entries: IomemEntry[]): boolean {
  return entries.length > 0 && entries.every((e) => e.start === 0n && e.end === 0n);
}

/** The ranges that matter for memory-region invalidation (DESIGN §5). */
export function isInvalidationTarget(name: string): boolean {
  return (
    /^CXL Window [0-9]+$/.test(name) ||
    /^region[0-9]+$/.test(name) ||
    name === 'Soft Reserved' ||
    /^Persistent Memory( \(legacy\))?$/.test(name)
  );
}

export interface IomemScan {
  regions: IomemInfo[];
  warnings: string[];
}

export async function scanIomem(sys: SysRoot): Promise<IomemScan> {
  const result = await sys.read(IOMEM);
  if (!result.ok) {
    const why = result.denied ? 'permission denied' : result.code;
    return { regions: [], warnings: [`proc/iomem: cannot read (${why}): physical ranges are not listed`] };
  }
  const entries = parseIomem(result.text);
  const hidden = iomemAddressesHidden(entries);
  const regions = entries
    .filter((e) => isInvalidationTarget(e.name))
    .map(
      (e): IomemInfo => ({
        name: e.name,
        kind: 'iomem',
        start: hidden ? null : hex(e.start),
        size: hidden ? null : (e.end - e.start + 1n).toString(),
        end: hidden ? null : hex(e.end),
        parent: e.parent,
        depth: e.depth,
      }),
    );
  const warnings = hidden
    ? [
        'proc/iomem: addresses read as zero without root, so iomem ranges are listed without start and size (run as root to see them)',
      ]
    : [];
  return { regions, warnings };
}
