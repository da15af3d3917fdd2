import type { RegionInfo } from '../../src/backends/types.js';

/** The entries of one kind in a `regions` list, typed as that kind so their own fields can be read. */
export function ofKind<R extends RegionInfo, K extends R['kind']>(
  all: readonly R[],
  kind: K,
): Extract<R, { kind: K }>[] {
  return all.filter((r): r is Extract<R, { kind: K }> => r.kind === kind);
}
