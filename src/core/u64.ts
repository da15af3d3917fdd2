/** The largest unsigned 64-bit value: addresses and sizes are u64 end to end. */
export const U64_MAX = (1n << 64n) - 1n;
