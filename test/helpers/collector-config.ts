/** A validated `Config` from a plain object, the way mtarep.yml would give it (schema + normalise). */
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../../lib/config/load.js';

export function configFrom(raw: Record<string, unknown>): Config {
  return parseConfig(stringify(raw), '/tmp/mtarep-test/mtarep.yml');
}
