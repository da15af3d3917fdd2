/**
 * One seeded source for every random choice (xoshiro128**, seeded through splitmix32), so that a run
 * with the same `--seed` makes exactly the same choices.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let x = this.seed;
    const next = () => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** True with probability `p`. Draws nothing when p is 0 or 1, so fault-free profiles stay cheap. */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  /** Uniform integer in [0, bound) for a bound up to 2^32 (the draw `below` makes for such a bound). */
  belowU32(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** Uniform integer in [0, bound) for a 64-bit bound. */
  below(bound: bigint): bigint {
    if (bound <= 0n) return 0n;
    if (bound <= 0x1_0000_0000n) return BigInt(this.belowU32(Number(bound)));
    const bits = bound.toString(2).length;
    for (;;) {
      let value = 0n;
      for (let have = 0; have < bits; have += 32) value = (value << 32n) | BigInt(this.nextU32());
      value &= (1n << BigInt(bits)) - 1n;
      if (value < bound) return value;
    }
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** A seed for runs that did not ask for one, reported so the run can be repeated. */
export const freshSeed = (): number => (Date.now() ^ (process.pid << 16)) >>> 0;
