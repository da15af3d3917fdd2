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

/**
 * kernel/resource.c r_show() indents two spaces per level but stops counting at MAX_IORES_LEVEL (8):
 * every resource at depth 8 or deeper is printed at depth 8.
 */
export const MAX_IORES_LEVEL = 8;

const contains = (outer: IomemEntry, inner: { start: bigint; end: bigint }) =>
  outer.start <= inner.start && inner.end <= outer.end;

/**
 * The entries in the kernel's order (a pre-order walk of the resource tree), each with its depth and
 * parent. Below the clamped level the indentation says nothing more; a child lies inside its parent's
 * range (__request_resource() only nests a resource inside its parent), so the range decides. Without
 * root every address reads as zero and the clamped entries are taken as siblings.
 */
export function parseIomem(text: string): IomemEntry[] {
  const entries: IomemEntry[] = [];
  const stack: IomemEntry[] = [];
  for (const raw of text.split('\n')) {
    const match = LINE.exec(raw.replace(/\r$/, ''));
    if (!match) continue;
    const start = BigInt(`0x${match[2]}`);
    const end = BigInt(`0x${match[3]}`);
    // An end below the start is no resource the kernel holds (__request_resource() refuses one): a
    // --root tree's `5000-1000` was listed with a size of -16383.
    if (end < start) continue;
    const printed = Math.min(Math.floor(match[1]!.length / 2), MAX_IORES_LEVEL);
    const byRange = printed === MAX_IORES_LEVEL && !(start === 0n && end === 0n);
    while (stack.length > printed) {
      if (byRange && contains(stack[stack.length - 1]!, { start, end })) break;
      stack.pop();
    }
    const entry: IomemEntry = {
      start,
      end,
      name: match[4]!.trim(),
      depth: stack.length,
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
