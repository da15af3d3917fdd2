import { constants } from 'node:buffer';

/**
 * Text appended piece by piece and written out whole at the end (`stress --hdr-log`), kept as UTF-8 bytes
 * in one buffer that doubles as it fills. Kept as JavaScript strings, each ~80-character line of an
 * interval log cost ~360 bytes of heap, so a long run with a short interval ran out of heap (a V8 abort)
 * long before its log reached V8's longest string, which the final join could not make either. A buffer
 * lives outside the heap and costs what the file will.
 */
export class ByteLog {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  private length = 0;
  /** Appended text that did not fit in the largest buffer Node makes: the log cannot be written. */
  overflowed = false;

  append(text: string): void {
    if (this.overflowed) return;
    const needed = this.length + Buffer.byteLength(text);
    if (needed > this.buffer.length) {
      if (needed > constants.MAX_LENGTH) {
        this.overflowed = true;
        return;
      }
      const grown = Buffer.allocUnsafe(
        Math.min(constants.MAX_LENGTH, Math.max(needed, this.buffer.length * 2)),
      );
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length);
  }

  /** The bytes so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  toString(): string {
    return this.buffer.toString('utf8', 0, this.length);
  }
}
