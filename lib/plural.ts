/** `1 user`, `2 users`, `0 users`: a count with its noun (a regular plural: the noun plus `s`). */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
