/**
 * Tokens shared by the Python and JavaScript tokenizers (and gin, which is Python's syntax). A tokenizer knows
 * comments, strings, f-strings and template literals, so a number inside a comment or a string is never a token of
 * type number. Pure.
 */

export type TokType = 'name' | 'number' | 'string' | 'op' | 'newline';

export interface Tok {
  type: TokType;
  start: number;
  end: number;
  /** Source text (empty for a newline). */
  value: string;
  /** Content of a plain string literal (no f-string, template, bytes or regex); undefined otherwise. */
  str?: string;
  /** Numbers: a plain decimal literal (not hex/octal/binary, complex or BigInt). */
  decimal?: boolean;
  /** JS: a line break comes before this token. */
  nl?: boolean;
}

export const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
export const isNewline = (c: string | undefined): boolean => c === '\n' || c === '\r';

/** The longest operator of `ops` at `i` (they are listed longest first), else the one character there. */
export function matchOp(src: string, i: number, ops: readonly string[]): string {
  for (const o of ops) if (src.startsWith(o, i)) return o;
  return src[i];
}

/** After a backslash at `p`: the next character, or CRLF as one. */
export function skipEscape(src: string, p: number): number {
  return src[p + 1] === '\r' && src[p + 2] === '\n' ? p + 3 : p + 2;
}
