/**
 * The collector's sources: their names (what `sources.<name>` and `--only` take) and what each
 * collects, in run order, without their code. The one list: the config checks names against it
 * (lib/config/schema.ts) and the help texts read it (cli/commands.ts), neither importing the
 * collector. collector/sources/index.ts holds one module per name in the same order
 * (test/collector/sources.test.ts holds them equal). No imports: a help text loads nothing more.
 */
export const sourceList = [
  { name: 'reputation', what: 'every check for every IP of every MTA' },
  { name: 'maillog', what: 'provider blocks and delivery counters from the maillogs over SSH' },
  { name: 'probes', what: 'one round of round-trip probe mails (probes:)' },
  { name: 'esp', what: "the ESP gateway's providers failing or recovered (esp:)" },
] as const;

export type SourceName = (typeof sourceList)[number]['name'];

/** The names alone, in run order. */
export const sourceNames: readonly SourceName[] = sourceList.map((s) => s.name);

/** "reputation, maillog, probes, esp". */
export const sourceNameText = (): string => sourceList.map((s) => s.name).join(', ');
