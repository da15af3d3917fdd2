/**
 * User text in a one-line message. Control characters (C0, DEL, C1) and the Unicode line and paragraph
 * separators would split the line or reach the terminal raw (an ESC starts a colour or cursor sequence):
 * they are shown escaped, as `\n`, `\x1b`, `\u2028`.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escapeOne = (c: string): string => {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` with every control character escaped: safe to print as (part of) one line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escapeOne);
}

/** Longest user text shown in a message; the rest is cut with `…`. */
const MAX_SHOWN = 80;

/** User text in double quotes, control characters and `"` escaped, at most `max` characters shown. */
export function quote(text: string, max = MAX_SHOWN): string {
  const chars = Array.from(text);
  const shown = chars.length > max ? `${chars.slice(0, max).join('')}…` : text;
  return `"${escapeControl(shown.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
}
