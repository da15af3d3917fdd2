/**
 * Counts by key, read as a Map in the order keys were first counted. A key's count lives in a slot of an
 * array: a caller that counts the same key millions of times (the simulator's firmware) keeps its slot
 * and adds with an array write instead of a Map lookup and a Map.set.
 */
export class Tally<K> {
  private readonly index = new Map<K, number>();
  private readonly keys: K[] = [];
  private readonly counts: number[] = [];

  /** The slot of `key`, made (with a count of 0) the first time. */
  slot(key: K): number {
    let slot = this.index.get(key);
    if (slot === undefined) {
      slot = this.keys.length;
      this.index.set(key, slot);
      this.keys.push(key);
      this.counts.push(0);
    }
    return slot;
  }

  add(key: K): void {
    this.counts[this.slot(key)]! += 1;
  }

  addAt(slot: number): void {
    this.counts[slot]! += 1;
  }

  /** The counts so far (keys whose slot was made but never counted are left out). */
  toMap(): Map<K, number> {
    const map = new Map<K, number>();
    for (let i = 0; i < this.keys.length; i++)
      if (this.counts[i]! > 0) map.set(this.keys[i]!, this.counts[i]!);
    return map;
  }
}
