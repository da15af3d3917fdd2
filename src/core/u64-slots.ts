import { U64_MAX } from './u64.js';

/**
 * Growable storage of unsigned 64-bit values, each kept as its raw bits at a slot index (a
 * BigUint64Array) rather than as a BigInt object: reading a slot makes a new BigInt that dies young, and
 * nothing the garbage collector has to copy is held between a write and its read.
 */
export class U64Slots {
  private bits = new BigUint64Array(16);
  private used = 0;

  /** A new slot, holding 0. */
  add(): number {
    if (this.used === this.bits.length) {
      const bits = new BigUint64Array(this.bits.length * 2);
      bits.set(this.bits);
      this.bits = bits;
    }
    return this.used++;
  }

  get(slot: number): bigint {
    return this.bits[slot]!;
  }

  /** Refuses a value outside [0, 2^64), of which a BigUint64Array would keep only the low 64 bits. */
  set(slot: number, value: bigint): void {
    if (value < 0n || value > U64_MAX) throw new RangeError(`${value} is not a 64-bit unsigned value`);
    this.bits[slot] = value;
  }
}
