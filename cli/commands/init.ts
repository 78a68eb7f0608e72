/** `mtarep init`: a minimal, valid config for a first start. */
import fs from 'node:fs';
import { exitCodes } from '../exit-codes.js';
import type { CommandContext } from '../commands.js';

export const minimalConfig = `# mtarep configuration. Every key is documented in mtarep.example.yml.
# Add your MTAs to mta_map and your DNSBL zones to rbls, then restart mtarep.

listen: 127.0.0.1:8080        # dashboard address
data_dir: ./data              # embedded Redis data and the htpasswd file live here
collect_interval: 900         # seconds between collector runs under \`mtarep start\`

# mta_map:
#   mta1:
#     fqdn: mta1.example.com
#     ips: [192.0.2.10]
mta_map: []

# dns:
#   servers: [127.0.0.1:53]   # a local recursive resolver (unbound); public resolvers are refused by Spamhaus
rbls: []
`;

export function cmdInit(file: string, opts: { force: boolean }): number {
  if (fs.existsSync(file) && !opts.force) {
    process.stderr.write(`mtarep: ${file} already exists (use --force to overwrite)\n`);
    return exitCodes.usage;
  }
  fs.writeFileSync(file, minimalConfig, { mode: 0o640 });
  process.stdout.write(`wrote ${file}\n`);
  return exitCodes.ok;
}

export async function run({ configPath, values }: CommandContext): Promise<number> {
  return cmdInit(configPath, { force: values.force === true });
}
