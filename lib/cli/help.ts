/** Usage text and exit codes of the `mtarep` command (the README's CLI section repeats them). */

export type Command = 'start' | 'collect' | 'serve' | 'check-config' | 'passwd' | 'init';

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
} as const;

const common = `  -c, --config PATH   config file (default ./mtarep.yml)
  -h, --help          this help
`;

const texts: Record<Command, string> = {
  start: `mtarep start [--config PATH] [--verbose]

Runs the dashboard and the collector on a schedule (collect_interval, default 900 s) in one
process: the main job. Starts its own redis-server when no redis_url/redis_server is configured.
Creates http_auth_file with user admin and a random password (printed once) when it is missing.

${common}  -v, --verbose       debug logging
`,
  collect: `mtarep collect [--config PATH] [--json] [--quiet]

One collector run, for cron: every check for every IP of every MTA, the maillogs over SSH, then the
results written to Redis. On a terminal it shows a progress bar; under cron it prints one summary line
and logs only warnings and errors.

${common}      --json          print the run summary as JSON
  -q, --quiet         only warnings and errors on stderr
  -v, --verbose       debug logging

Exit codes: 0 all checks ok, 1 some checks failed, 2 bad config, 3 another run holds the lock,
4 Redis unreachable or the run could not complete.
`,
  serve: `mtarep serve [--config PATH]

Runs the dashboard only (the collector runs elsewhere, e.g. from cron).

${common}`,
  'check-config': `mtarep check-config [--config PATH]

Validates the config (one line per problem, naming the key) and prints what mtarep would monitor.
Exit 0 when valid, 2 when not.

${common}`,
  passwd: `mtarep passwd <user> [--config PATH] [--password-stdin]

Adds or updates <user> in http_auth_file with a bcrypt hash (as htpasswd -B). Asks for the
password twice on a terminal; with --password-stdin reads one line from standard input.

${common}      --password-stdin  read the password from standard input
`,
  init: `mtarep init [--config PATH] [--force]

Writes a minimal config (dashboard on 127.0.0.1:8080, embedded Redis, no MTAs yet) when none
exists. mtarep.example.yml documents every key.

${common}      --force         overwrite an existing file
`,
};

export function commandHelp(c: Command): string {
  return texts[c];
}

export function usage(): string {
  return `mtarep: monitor mail-server reputation and deliverability

Usage: mtarep <command> [options]

Commands:
  start         dashboard + collector on a schedule (the main job)
  collect       one collector run (for cron)
  serve         dashboard only
  check-config  validate the config and show what would be monitored
  passwd <user> add or update a dashboard user (bcrypt)
  init          write a minimal mtarep.yml

Every command takes --config PATH (default ./mtarep.yml) and --help.
Exit codes: 0 ok, 1 partial failure, 2 usage or config error, 3 collector lock held, 4 fatal.
`;
}
