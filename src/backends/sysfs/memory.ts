import { isKernelName, kernelIndex } from '../../core/names.js';
import { MEMORY_BLOCKS as MEMORY, MEMORY_BLOCK_SIZE, MEMORY_BLOCK_STATE } from './evidence-manifest.js';
import type { SysRoot } from './fs.js';
import { parseKernelInt } from './values.js';

export interface OnlineMemory {
  /** False when the blocks could not be examined (no hotplug sysfs, unreadable block size). */
  checked: boolean;
  /** `memoryN` blocks inside the range whose `state` is online (online, online_kernel, online_movable). */
  online: string[];
}

/** Which memory blocks of [start, start+size) are online: memoryN covers [N*bs, (N+1)*bs). */
export async function onlineBlocksInRange(sys: SysRoot, start: bigint, size: bigint): Promise<OnlineMemory> {
  const blockSize = parseKernelInt(await sys.value(`${MEMORY}/${MEMORY_BLOCK_SIZE}`), 16);
  if (blockSize === null || blockSize === 0n) return { checked: false, online: [] };
  const first = start / blockSize;
  const last = (start + size - 1n) / blockSize;
  const online: string[] = [];
  for (const entry of await sys.list(MEMORY)) {
    if (!isKernelName('memoryBlock', entry)) continue;
    const index = BigInt(kernelIndex('memoryBlock', entry));
    if (index < first || index > last) continue;
    const state = await sys.value(`${MEMORY}/${entry}/${MEMORY_BLOCK_STATE}`);
    if (state?.startsWith('online')) online.push(entry);
  }
  online.sort((a, b) => kernelIndex('memoryBlock', a) - kernelIndex('memoryBlock', b));
  return { checked: true, online };
}

/** `memory32..memory39` style summary of block names. */
export function summarizeBlocks(blocks: string[]): string {
  if (blocks.length === 0) return 'none';
  if (blocks.length <= 3) return blocks.join(', ');
  return `${blocks[0]}..${blocks[blocks.length - 1]} (${blocks.length} blocks)`;
}
