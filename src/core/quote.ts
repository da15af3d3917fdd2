/**
 * User text in a one-line message. Control characters (C0, DEL, C1) and the Unicode line and paragraph
 * separators would split the line or reach the terminal raw (an ESC starts a colour or cursor sequence);
 * the bidirectional formatting characters (ALM, LRM, RLM, the embeddings and overrides U+202A-U+202E, the
 * isolates U+2066-U+2069) make a terminal show the rest of the line in another order, so that
 * `"region\u202e0" is not a region name` reads as something else (the "Trojan Source" trick,
 * CVE-2021-42574). All are shown escaped, as `\n`, `\x1b`, `\u2028`, `\u202e`.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

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

/** The first control character of `text` (as CONTROL defines them), escaped, or null when it has none. */
export function firstControl(text: string): string | null {
  const found = new RegExp(CONTROL.source).exec(text);
  return found ? escapeOne(found[0]) : null;
}

/** Longest user text shown in a message; the rest is cut with `…`. */
const MAX_SHOWN = 80;

const clip = (text: string, max: number): string => {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : text;
};

/** User text in double quotes, control characters and `"` escaped, at most `max` characters shown. */
export function quote(text: string, max = MAX_SHOWN): string {
  return `"${escapeControl(clip(text, max).replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
}

/**
 * User text shown unquoted inside a line of a report (a profile's name): control characters escaped, at
 * most `max` characters.
 */
export function inline(text: string, max = MAX_SHOWN): string {
  return escapeControl(clip(text, max));
}

/**
 * Longest message line: user text quoted without a bound (a path, a command line) could otherwise make
 * one `memregion: ` line of megabytes. A longer message keeps its start and its end (where the reason,
 * an errno, usually is) around a `…`.
 */
export const MAX_LINE = 2048;
const KEEP_END = 512;

/** A message as one bounded line: control characters escaped, at most MAX_LINE characters. */
export function oneLine(message: string): string {
  const line = escapeControl(message);
  if (line.length <= MAX_LINE) return line;
  const chars = Array.from(line); // not through a surrogate pair
  if (chars.length <= MAX_LINE) return line;
  return `${chars.slice(0, MAX_LINE - KEEP_END - 1).join('')}…${chars.slice(-KEEP_END).join('')}`;
}
