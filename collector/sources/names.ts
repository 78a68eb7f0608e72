/**
 * The sources' names and what each collects, in run order, without their code: help texts
 * (cli/commands.ts) read them here, so listing the sources costs no import of the collector.
 * sources/index.ts lists the modules in the same order (test/collector/sources.test.ts holds them equal).
 */
export const sourceList = [
  { name: 'reputation', what: 'every check for every IP of every MTA' },
  { name: 'maillog', what: 'provider blocks and delivery counters from the maillogs over SSH' },
  { name: 'probes', what: 'one round of round-trip probe mails (probes:)' },
  { name: 'esp', what: "the ESP gateway's providers failing or recovered (esp:)" },
] as const;

export type SourceName = (typeof sourceList)[number]['name'];

/** "reputation, maillog, probes, esp". */
export const sourceNameText = (): string => sourceList.map((s) => s.name).join(', ');
