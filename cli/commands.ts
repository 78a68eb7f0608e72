/**
 * Every `mtarep` command, in the order `mtarep --help` lists them: a plain array. An entry holds only
 * what parsing and help need; the command's code is imported when it runs (`load`), so
 * `mtarep --version`, `--help` and a light command never load the collector or the web app.
 * Adding a command: one file in cli/commands/ exporting `run`, plus one entry here.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../lib/config/normalize.js';
import { sourceList, sourceNameText } from '../lib/source-names.js';

/** What main hands a command: the parsed command line and, unless `config: 'none'`, the loaded config. */
export interface CommandContext {
  configPath: string;
  /** The --config value as typed (for messages). */
  configArg: string;
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}
export interface ConfiguredContext extends CommandContext {
  config: Config;
}

export interface CommandModule {
  run(ctx: ConfiguredContext): Promise<number>;
}
export interface ConfiglessModule {
  run(ctx: CommandContext): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

interface SpecBase {
  name: string;
  /** One line for `mtarep --help`. */
  summary: string;
  /** `mtarep <name> --help`. The common options are appended. */
  help: string;
  options?: Options;
  /** Exit code for a bad command line (default 2; `e2e` uses Nagios' UNKNOWN, 3). */
  usageExitCode?: number;
  /** Words the first positional may be (`domains list`): an error message names the one given. */
  subcommands?: readonly string[];
  /** Positional arguments: exact count, or a range; `usage` is the error when the count is wrong. */
  positionals?: { min: number; max: number; usage: string; label: string };
}
export type CommandSpec =
  | (SpecBase & {
      /** 'load': the config is loaded and validated (files checked); 'load-nocheck': referenced files are not checked. */
      config: 'load' | 'load-nocheck';
      load: () => Promise<CommandModule>;
    })
  | (SpecBase & { config: 'none'; load: () => Promise<ConfiglessModule> });

export const commonHelp = `  -c, --config PATH   config file (default ./mtarep.yml)
  -h, --help          this help
`;

export const commonOptions: Options = {
  config: { type: 'string', short: 'c', default: 'mtarep.yml' },
  help: { type: 'boolean', short: 'h' },
};

export const commands: readonly CommandSpec[] = [
  {
    name: 'start',
    summary: 'dashboard + collector on a schedule (the main job)',
    config: 'load',
    options: { verbose: { type: 'boolean', short: 'v' } },
    help: `mtarep start [--config PATH] [--verbose]

Runs the dashboard and the collector in one process: the main job. The sources
(${sourceNameText()}; \`mtarep collect --help\` says what each collects) each run on
their own interval (sources.<name>.interval, default collect_interval, 900 s; for probes,
probes.interval, 300 s) through a job queue in Redis; \`mtarep worker\` on more machines shares the
work. Starts its own redis-server when no redis_url/redis_server is configured. Creates
http_auth_file with user admin and a random password (printed once) when it is missing. SIGTERM: no
new runs; running ones finish.

  -v, --verbose       debug logging
`,
    load: () => import('./commands/start.js'),
  },
  {
    name: 'collect',
    summary: 'one collector run (for cron)',
    config: 'load',
    options: {
      json: { type: 'boolean' },
      'output-format': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
      only: { type: 'string', multiple: true },
    },
    help: `mtarep collect [--config PATH] [--only NAME] [--output-format text|json|influx] [--quiet]

One collector run, for cron: every source (listed below) once, the results written to Redis, one
summary covering them. On a terminal it shows a progress bar; under cron it prints one summary line
and logs only warnings and errors.

      --only NAME     run only this source (${sourceNameText()}); repeat or comma-separate for more
      --output-format F  text (one summary line, default), json (the run summary) or influx
                      (the run's figures as InfluxDB line protocol, for Telegraf's inputs.exec)
      --json          the same as --output-format json
  -q, --quiet         only warnings and errors on stderr
  -v, --verbose       debug logging

Sources:
${sourceList.map((x) => `  ${x.name.padEnd(12)}${x.what}`).join('\n')}

Exit codes: 0 all checks ok, 1 some checks failed, 2 bad config or unknown source, 3 another run
holds the lock of a source (nothing is run), 4 Redis unreachable or the run could not complete.
`,
    load: () => import('./commands/collect.js'),
  },
  {
    name: 'worker',
    summary: 'take collector work from the job queue (more machines share it)',
    config: 'load',
    options: { verbose: { type: 'boolean', short: 'v' }, shards: { type: 'string' } },
    help: `mtarep worker [--config PATH] [--shards N] [--verbose]

Takes source runs and shards of large reputation runs from the job queue in Redis that
\`mtarep start\` schedules, so several machines share the work. Use the same config (and Redis) as
\`mtarep start\`. SIGTERM: no new jobs; running ones finish.

      --shards N      shard jobs taken at once (default 1)
  -v, --verbose       debug logging
`,
    load: () => import('./commands/worker.js'),
  },
  {
    name: 'serve',
    summary: 'dashboard only',
    config: 'load',
    help: `mtarep serve [--config PATH]

Runs the dashboard only (the collector runs elsewhere, e.g. from cron).
`,
    load: () => import('./commands/serve.js'),
  },
  {
    name: 'send',
    summary: 'one test mail through the ESP gateway (failover)',
    config: 'load',
    options: { to: { type: 'string' }, subject: { type: 'string' }, text: { type: 'string' }, json: { type: 'boolean' } },
    help: `mtarep send --to ADDRESS [--subject S] [--text T] [--json] [--config PATH]

Sends one test mail through the ESP gateway (esp.providers, tried in order, the first working one
first) and prints which provider sent it and every attempt with the provider's answer.

      --to ADDRESS    recipient (required)
      --subject S     subject (default "mtarep test mail")
      --text T        plain-text body
      --json          print the result (every attempt) as JSON

Exit codes: 0 sent; 1 sent, but a provider tried before has a configuration problem (bad key);
2 bad command line or no providers configured; 4 every provider failed (or Redis unreachable);
5 the message was refused as invalid (bad recipient): no other provider is tried.
`,
    load: () => import('./commands/send.js'),
  },
  {
    name: 'check-config',
    summary: 'validate the config and show what would be monitored',
    config: 'load',
    help: `mtarep check-config [--config PATH]

Validates the config (one line per problem, naming the key) and prints what mtarep would monitor.
Exit 0 when valid, 2 when not.
`,
    load: () => import('./commands/check-config.js'),
  },
  {
    name: 'alerts',
    summary: 'send a test alert on every configured channel',
    config: 'load-nocheck',
    options: { channel: { type: 'string' }, json: { type: 'boolean' } },
    subcommands: ['test'],
    positionals: { min: 1, max: 1, usage: 'alerts needs a subcommand: mtarep alerts test', label: 'test' },
    help: `mtarep alerts test [--config PATH] [--channel ID] [--json]

Sends a test message on every configured alert channel (alerts.email, each of alerts.webhooks) and
prints one line per channel: ok with the receiver's answer, or FAIL with the reason.

      --channel ID    only this channel (email, or webhook:<id> as printed)
      --json          print the results as JSON

Exit codes: 0 every channel accepted the message, 1 some failed, 2 no channel configured.
`,
    load: () => import('./commands/alerts.js'),
  },
  {
    name: 'passwd',
    summary: 'add or update a dashboard user (bcrypt)',
    config: 'load-nocheck',
    options: { 'password-stdin': { type: 'boolean' } },
    positionals: { min: 1, max: 1, usage: 'passwd needs exactly one user name: mtarep passwd <user>', label: '<user>' },
    help: `mtarep passwd <user> [--config PATH] [--password-stdin]

Adds or updates <user> in http_auth_file with a bcrypt hash (as htpasswd -B). Asks for the
password twice on a terminal; with --password-stdin reads one line from standard input.

      --password-stdin  read the password from standard input
`,
    load: () => import('./commands/passwd.js'),
  },
  {
    name: 'domains',
    summary: 'probe domains: import a CSV, list, add, remove, maintenance on/off',
    config: 'load-nocheck',
    options: { json: { type: 'boolean' }, customer: { type: 'string' }, name: { type: 'string' } },
    subcommands: ['import', 'list', 'add', 'remove', 'maintenance'],
    positionals: { min: 1, max: 3, usage: 'domains needs a subcommand: mtarep domains import|list|add|remove|maintenance', label: '<subcommand>' },
    help: `mtarep domains import FILE.csv | list [--json] | add <testuser@domain> --customer <code> [--name <friendly>]
              | remove <domain> | maintenance <domain> on|off

The domains that round-trip probes go to (mxtrax's customers and mail domains), stored in Redis.
import reads mxtrax's CSV (Customer.friendlyname,Customer.codename,MailDomain.testuser,
MailDomain.domainname; the header row is optional; testuser is the local part or the whole address)
and prints how many were imported, already present, conflicting and invalid; the four add up to the
file's data lines. A line for a stored domain (or one given earlier in the file) with another test
user, customer code or name is conflicting: listed with its number and the differing fields, and not
applied (remove the domain first to replace it). Re-importing a file imports nothing new.
Maintenance stops probes to a domain and keeps it out of judgement and alerts.

      --json            list: JSON
      --customer CODE   add: the customer code
      --name TEXT       add: the customer's friendly name

Exit codes: 0 ok, 1 import had conflicting or invalid lines, 2 usage error or unknown domain,
4 Redis unreachable.
`,
    load: () => import('./commands/domains.js'),
  },
  {
    name: 'init',
    summary: 'write a minimal mtarep.yml',
    config: 'none',
    options: { force: { type: 'boolean' } },
    help: `mtarep init [--config PATH] [--force]

Writes a minimal config (dashboard on 127.0.0.1:8080, embedded Redis, no MTAs yet) when none
exists. mtarep.example.yml documents every key.

      --force         overwrite an existing file
`,
    load: () => import('./commands/init.js'),
  },
  {
    name: 'e2e',
    summary: 'one end-to-end mail check: send over SMTP, find over IMAP (no config)',
    config: 'none',
    usageExitCode: 3,
    options: {
      'email-from': { type: 'string' },
      'email-to': { type: 'string' },
      prefix: { type: 'string' },
      'check-frequency': { type: 'string' },
      'max-checks': { type: 'string' },
      'output-format': { type: 'string' },
      'smtp-host': { type: 'string' },
      'smtp-port': { type: 'string' },
      'smtp-tls': { type: 'string' },
      'smtp-username': { type: 'string' },
      'smtp-password': { type: 'string' },
      'smtp-password-file': { type: 'string' },
      'imap-host': { type: 'string' },
      'imap-port': { type: 'string' },
      'imap-tls': { type: 'string' },
      'imap-username': { type: 'string' },
      'imap-password': { type: 'string' },
      'imap-password-file': { type: 'string' },
      timeout: { type: 'string' },
      delete: { type: 'boolean' },
      insecure: { type: 'boolean' },
      warning: { type: 'string' },
      critical: { type: 'string' },
    },
    help: `mtarep e2e --email-from ADDR --email-to ADDR --smtp-host HOST --imap-host HOST --imap-username USER [options]

Sends a mail with a random token through SMTP, then searches IMAP for it (the inbox and the folder
flagged \\Junk) every --check-frequency seconds, up to --max-checks times, and prints how long each
part took. A drop-in for email-end2end-test: same options, defaults and output. Needs no config file.

      --email-from ADDR         sender address, user@domain (required)
      --email-to ADDR           recipient address, the mailbox IMAP reads (required)
      --prefix TEXT             subject prefix (default '[e2e email monitoring] ')
      --check-frequency S       seconds between IMAP searches (default 2)
      --max-checks N            IMAP searches before giving up (default 30)
      --output-format F         json (default), influx (line protocol for Telegraf) or nagios
      --smtp-host HOST          SMTP server (required)
      --smtp-port PORT          default 587
      --smtp-tls MODE           none, tls or starttls (default starttls)
      --smtp-username USER      AUTH (PLAIN or LOGIN, as the server offers) when given
      --smtp-password PW        or --smtp-password-file FILE, or $MTAREP_SMTP_PASSWORD
      --imap-host HOST          IMAP server (required)
      --imap-port PORT          default 143
      --imap-tls MODE           none, tls or starttls (default starttls)
      --imap-username USER      (required)
      --imap-password PW        or --imap-password-file FILE, or $MTAREP_IMAP_PASSWORD (required)
      --timeout S               hard bound on the whole run (default check-frequency x max-checks + 60;
                                at most 2073600, 24 days)
      --delete                  delete the mail once found
      --insecure                do not verify TLS certificates (says so on stderr)
      --warning S, --critical S nagios: total seconds above which the state is WARNING / CRITICAL
                                (--warning at most --critical)

Certificates are verified against the system's CAs and NODE_EXTRA_CA_CERTS. A password given on the
command line is visible to other users in the process list: prefer the file or the environment.
Exit codes (every format): 0 found in the inbox, 1 found in Junk or over --warning, 2 failed (the
output says at which stage and why) or over --critical, 3 bad options.
`,
    load: () => import('./commands/e2e.js'),
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return commands.find((c) => c.name === name);
}

/** `mtarep <name> --help`: the command's text with the common options added after its synopsis. */
export function commandHelp(spec: CommandSpec): string {
  const [synopsis, ...rest] = spec.help.split('\n\n');
  return [synopsis, ...rest].join('\n\n').replace(/\n*$/, '\n') + `\nCommon options:\n${commonHelp}`;
}

export function usage(): string {
  const label = (c: CommandSpec) => c.name + (c.positionals ? ` ${c.positionals.label}` : '');
  const width = Math.max(...commands.map((c) => label(c).length)) + 2;
  const lines = commands.map((c) => `  ${label(c).padEnd(width)}${c.summary}`);
  return `mtarep: monitor mail-server reputation and deliverability

Usage: mtarep <command> [options]

Commands:
${lines.join('\n')}

Every command takes --config PATH (default ./mtarep.yml) and --help.
Exit codes: 0 ok, 1 partial failure, 2 usage or config error, 3 collector lock held, 4 fatal,
5 mail refused as invalid (send).
`;
}
