/**
 * JSON that a person wrote (a profile file): one leading UTF-8 byte-order mark, which editors on other
 * systems write, is not part of the text; a syntax error is told by its line and column, never by the text
 * around it (V8's "Unexpected token" messages quote it, and a profile path may name a file that is not a
 * profile at all, such as /etc/shadow).
 */

const BOM = '\ufeff';

/** The parsed value, or why the text is not JSON: ` at line L, column C`, ` (empty file)`, ` (UTF-16 ...)`. */
export function parseJsonText(text: string): { value: unknown } | { error: string } {
  const body = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  try {
    return { value: JSON.parse(body) };
  } catch (error) {
    if (isUtf16(text)) return { error: ' (it is UTF-16: save it as UTF-8)' };
    if (body.trim() === '') return { error: ' (empty file)' };
    const stated = /at position (\d+)/.exec((error as Error).message);
    const offset = stated ? Number(stated[1]) : syntaxErrorOffset(body);
    return { error: offset === null ? '' : ` at ${lineAndColumn(body, offset)}` };
  }
}

/**
 * UTF-16 read as UTF-8: its byte-order mark (FF FE or FE FF) decodes to two replacement characters, and
 * without one a JSON text starts with a `{`, `[` or a blank beside a NUL byte.
 */
const isUtf16 = (text: string): boolean => /^(\ufffd\ufffd|[{[\s]\u0000|\u0000[{[\s])/.test(text);

/** `line L, column C` of `offset`, both from 1; the column counts characters, as editors show it. */
export function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = before.split('\n').length;
  return `line ${line}, column ${Array.from(before.slice(lineStart)).length + 1}`;
}

/** Deeper than this the scan gives up (V8's parser is not recursive; this one is). */
const MAX_DEPTH = 1000;

class Stop {
  constructor(readonly offset: number | null) {}
}

/**
 * Where JSON.parse stops on `text`, for the errors whose message gives no position (an unexpected token,
 * the end of the input): the offset of the first character that cannot continue a JSON text, the length
 * of the text when it ends too soon; null when the text is valid or too deeply nested to scan.
 */
export function syntaxErrorOffset(text: string): number | null {
  let i = 0;
  const fail = (): never => {
    throw new Stop(i);
  };
  /** Steps over `c` when it comes next. */
  const take = (c: string): boolean => {
    if (text[i] !== c) return false;
    i += 1;
    return true;
  };
  const isDigit = () => i < text.length && text[i]! >= '0' && text[i]! <= '9';
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i += 1;
  };
  const digits = () => {
    if (!isDigit()) fail();
    while (isDigit()) i += 1;
  };
  const string = () => {
    i += 1;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i += 1;
        return;
      }
      if (c < ' ') fail();
      if (c !== '\\') {
        i += 1;
        continue;
      }
      i += 1;
      if (text[i] === 'u') {
        i += 1;
        for (let k = 0; k < 4; k += 1, i += 1) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
      } else if (i < text.length && '"\\/bfnrt'.includes(text[i]!)) i += 1;
      else fail();
    }
    fail();
  };
  const number = () => {
    take('-');
    if (!take('0')) digits();
    if (take('.')) digits();
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      digits();
    }
  };
  const word = () => {
    const expected = ['true', 'false', 'null'].find((w) => w[0] === text[i]);
    if (!expected) fail();
    for (const c of expected!) {
      if (text[i] !== c) fail();
      i += 1;
    }
  };
  const members = (close: string, member: (depth: number) => void, depth: number) => {
    i += 1;
    space();
    if (take(close)) return;
    for (;;) {
      member(depth);
      space();
      if (take(close)) return;
      if (!take(',')) fail();
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) throw new Stop(null);
    space();
    const c = text[i];
    if (c === '{') {
      members(
        '}',
        () => {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (!take(':')) fail();
          value(depth + 1);
        },
        depth,
      );
    } else if (c === '[') members(']', () => value(depth + 1), depth);
    else if (c === '"') string();
    else if (c === '-' || isDigit()) number();
    else word();
  };
  try {
    value(0);
    space();
    if (i < text.length) fail();
    return null;
  } catch (stop) {
    if (stop instanceof Stop) return stop.offset;
    throw stop;
  }
}
