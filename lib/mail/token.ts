/**
 * Probe tokens: long, random, lower-case (survive case-folding subject rewrites), recognisable in a
 * subject, a header or a Message-ID. 40 base32 characters = 200 random bits.
 */
import crypto from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

export function newToken(): string {
  const bytes = crypto.randomBytes(40);
  let s = 'mtp-';
  for (const b of bytes) s += alphabet[b & 31];
  return s;
}

/** Matches tokens anywhere in text (global; use with matchAll). */
export const tokenPattern = /mtp-[a-z2-7]{40}/gi;

export function findTokens(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(tokenPattern)) out.add(m[0].toLowerCase());
  return [...out];
}
