// The bearer token that POST /statistics may require, read from a file so it never shows in `ps` or the environment.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FlagError } from '../flags.js';

/** The token is the file's first line, without surrounding whitespace; it must be at least this long. */
export const MIN_TOKEN_LENGTH = 16;

export function parseTokenFile(text: string): string | undefined {
  const token = text.split('\n')[0]!.trim();
  return token.length >= MIN_TOKEN_LENGTH && /^[\x21-\x7e]+$/.test(token) ? token : undefined;
}

export async function loadToken(file: string, what = 'statistics token file'): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new FlagError(`${what} ${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const token = parseTokenFile(text);
  if (token === undefined) throw new FlagError(`${what} ${file}: the first line must hold a token of at least ${MIN_TOKEN_LENGTH} printable characters`);
  return token;
}

/** `Authorization: Bearer TOKEN`; undefined for any other scheme. */
export function parseBearerAuthorization(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^bearer +(\S+) *$/i.exec(header);
  return match ? match[1] : undefined;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Constant-time comparison: both sides are hashed first so their lengths are equal. */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(expected), digest(presented));
}
