/**
 * Field types of the config schema shared by its parts (lib/config/schema.ts and the check plugins'
 * own keys, lib/checks): every error names what is wrong with the value.
 */
import * as z from 'zod';
import { counted } from '../plural.js';

export const nonEmpty = z.string().trim().min(1, 'must not be empty');
export const port = z.number().int().min(1).max(65535);
export const positiveInt = z.number().int().positive();

/** "1 minute", "7 days": a bound in words for error messages. */
function inWords(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return counted(ms / size, name);
  }
  return `${ms} ms`;
}

/**
 * A duration with a sane upper bound for its key. Node turns a timer above 2^31-1 ms (24.8 days) into
 * 1 ms, so no timer may come near it, and each key has a maximum that makes sense for what it times.
 */
export function durationMs(max: number) {
  return positiveInt.max(max, `must be at most ${max} ms (${inWords(max)})`);
}
export function durationSec(max: number) {
  return positiveInt.max(max, `must be at most ${max} s (${inWords(max * 1000)})`);
}
export function durationDays(max: number) {
  return positiveInt.max(max, `must be at most ${max} days`);
}

/**
 * An optional section whose schema is built only when a config has it (its first parse): most configs
 * have no `alerts:`, `esp:` or `probes:`, and building those schemas (about half of the config
 * schema's zod objects) cost every `mtarep check-config` start more than parsing a whole config. The
 * section's problems are its schema's own issues (codes, messages, input), under the section's key.
 */
export function lazySection<T extends z.ZodType>(build: () => T) {
  let schema: T | undefined;
  return z
    .unknown()
    .transform((value, ctx): z.output<T> => {
      const r = (schema ??= build()).safeParse(value, { reportInput: true, jitless: true });
      if (r.success) return r.data;
      ctx.issues.push(...(r.error.issues as unknown as typeof ctx.issues));
      return z.NEVER;
    })
    .optional();
}

/** An http:// or https:// URL. */
export const httpUrl = nonEmpty.refine(
  (s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL' },
);

