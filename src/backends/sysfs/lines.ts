/**
 * A line handed over by LineSplitter: bytes `[start, end)` of `bytes`, without the `\n`; or with
 * `blocks`, a run of complete lines separated by `\n` (the caller splits them when it needs to).
 */
export type LineHandler = (bytes: Buffer, start: number, end: number) => void;

const NEWLINE = 0x0a;

/**
 * Splits a byte stream on `\n` as `text.split('\n')` splits the decoded text (a UTF-8 sequence never
 * contains 0x0a, so decoding line by line gives the same strings), without decoding or copying what a
 * handler does not ask for. A line cut by a chunk boundary is carried over to the next chunk.
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private readonly onLine: LineHandler;
  private readonly blocks: boolean;

  constructor(onLine: LineHandler, blocks = false) {
    this.onLine = onLine;
    this.blocks = blocks;
  }

  push(chunk: Buffer, length = chunk.length): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, 0);
    if (newline !== -1 && newline < length && this.carry.length > 0) {
      const line = Buffer.concat([...this.carry, chunk.subarray(0, newline)]);
      this.carry = [];
      this.onLine(line, 0, line.length);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (this.blocks) {
      const last = newline === -1 || newline >= length ? -1 : chunk.lastIndexOf(NEWLINE, length - 1);
      if (last !== -1) {
        this.onLine(chunk, start, last);
        start = last + 1;
      }
    } else {
      while (newline !== -1 && newline < length) {
        this.onLine(chunk, start, newline);
        start = newline + 1;
        newline = chunk.indexOf(NEWLINE, start);
      }
    }
    // The rest belongs to the next line; the caller may reuse `chunk`, so it is copied.
    if (start < length) this.carry.push(Buffer.from(chunk.subarray(start, length)));
  }

  /** The last line (the text after the last `\n`, possibly empty, as split() gives it). */
  end(): void {
    const line = Buffer.concat(this.carry);
    this.carry = [];
    this.onLine(line, 0, line.length);
  }
}

/** JavaScript's `\s` among the ASCII bytes: tab, line feed, vertical tab, form feed, carriage return, space. */
export const isAsciiSpace = (byte: number): boolean => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);

/** True when every byte of `[start, end)` is ASCII, so that byte positions are character positions. */
export function isAscii(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}
