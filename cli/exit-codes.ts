/** Exit codes of the `mtarep` command (the README's CLI section repeats them). Only cli/program.ts exits (and cli/main.ts, when a build's bundle cannot be loaded). */
export const exitCodes = {
  /** Everything worked. */
  ok: 0,
  /** collect: the run finished but some checks failed (their errors are stored and shown). */
  partial: 1,
  /** Bad command line or bad config. */
  usage: 2,
  config: 2,
  /** collect: another run holds the lock. */
  locked: 3,
  /** Redis unreachable, redis-server missing, or the run could not complete. */
  fatal: 4,
  /** send: the message was refused as invalid (bad recipient); no other provider was tried. */
  refused: 5,
} as const;
