/**
 * The list of sources is told in three places besides the code that runs them: the light name list
 * the help texts read (lib/source-names.ts), the help texts themselves and the example
 * config's comment. Each is held to the running list here, so a new source cannot be left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceNames } from '../../collector/sources/index.js';
import { sourceList } from '../../lib/source-names.js';
import { commandHelp, findCommand } from '../../cli/commands.js';
import { repoRoot } from '../helpers/cli.js';

describe('the sources, as told to users', () => {
  it('the help texts list is the running list, in order', () => {
    expect(sourceList.map((s) => s.name)).toEqual(sourceNames());
  });

  it('start --help and collect --help name every source; collect says what each collects', () => {
    const start = commandHelp(findCommand('start')!);
    const collect = commandHelp(findCommand('collect')!);
    expect(start).toContain(`(${sourceNames().join(', ')};`);
    expect(collect).toContain(`--only NAME     run only this source (${sourceNames().join(', ')})`);
    for (const s of sourceList) expect(collect).toMatch(new RegExp(`^  ${s.name} +${s.what.replace(/[()]/g, '\\$&')}$`, 'm'));
  });

  it("mtarep.example.yml's comment on the sources section names every source", () => {
    const yml = fs.readFileSync(path.join(repoRoot, 'mtarep.example.yml'), 'utf8');
    const lines = yml.split('\n');
    const at = lines.indexOf('sources:');
    expect(at).toBeGreaterThan(0);
    let from = at;
    while (from > 0 && lines[from - 1]!.startsWith('#')) from--;
    const comment = lines.slice(from, at).join('\n');
    for (const name of sourceNames()) expect(comment, name).toContain(`\`${name}\``);
  });
});
