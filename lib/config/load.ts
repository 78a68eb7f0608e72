/**
 * Loading mtarep.yml: read, parse YAML, validate with the schema, normalize, then check the files it
 * names. Every problem becomes one line naming the key path; nothing here exits the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type * as z from 'zod';
import { configSchema } from './schema.js';
import { bearerTokenProblems, normalizeConfig, type Config, type Problem } from './normalize.js';
import { resolveProbeSecrets } from './probes.js';
import { parseYamlSubset } from './yaml-subset.js';
import { fileErrorText, readSecretFile } from '../files.js';

export type { Config, Problem } from './normalize.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: Problem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(file: string, p: Problem): string {
  return `${path.basename(file)}: ${p.path ? p.path + ': ' : ''}${p.message}`;
}

function formatPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(String(p))) out += (out ? '.' : '') + String(p);
    else out += `["${String(p)}"]`;
  }
  return out;
}

type Issue = z.core.$ZodIssue;

/** Flatten zod issues into one problem per line, picking the union branch the input was meant for. */
function toProblems(issues: readonly Issue[], prefix: PropertyKey[] = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ path: formatPath([...at, k]), message: 'unknown key' });
    } else if (issue.code === 'invalid_union' && issue.errors.length === 0 && 'options' in issue && Array.isArray(issue.options)) {
      // A discriminated union whose tag matched no branch (e.g. an unknown esp provider name).
      const tag = 'discriminator' in issue ? String(issue.discriminator) : '';
      const given = (issue.input as Record<string, unknown> | undefined)?.[tag];
      out.push({
        path: formatPath(at),
        message: `${given === undefined ? 'is required' : `"${String(given)}" is unknown`}: must be one of ${issue.options.map(String).join(', ')}`,
      });
    } else if (issue.code === 'invalid_union') {
      const branches = issue.errors.filter(
        (b) => !(b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0),
      );
      // Every branch a one-issue miss at the value itself (a type or a literal: `a zone name or
      // false`): one line naming what each branch takes, not the first branch's own words.
      const wants = issue.errors.map((b) => (b.length === 1 && b[0]!.path.length === 0 ? branchWant(b[0]!) : null));
      if (wants.length > 0 && wants.every((w) => w !== null)) {
        const what = [...new Set(wants)].join(' or ');
        out.push({ path: formatPath(at), message: issue.input === undefined ? `is required (${what})` : `must be ${what}, not ${describeValue(issue.input, at)}` });
      } else if (branches.length > 0) {
        out.push(...toProblems(branches[0]!, at));
      } else {
        const expected = issue.errors
          .map((b) => (b[0] && b[0].code === 'invalid_type' ? describeType(b[0].expected) : null))
          .filter((x): x is string => x !== null);
        out.push({ path: formatPath(at), message: `must be ${[...new Set(expected)].join(' or ')}` });
      }
    } else if (issue.code === 'invalid_key') {
      out.push(
        ...toProblems(issue.issues, at).map((p) => ({ ...p, message: `key ${p.message.replace(/^must/, 'must')}` })),
      );
    } else if (issue.code === 'too_small' && issue.origin === 'number' && issue.message.startsWith('Too small')) {
      out.push({ path: formatPath(at), message: `must be ${issue.inclusive ? 'at least' : 'greater than'} ${String(issue.minimum)}` });
    } else if (issue.code === 'too_big' && issue.origin === 'number' && issue.message.startsWith('Too big')) {
      out.push({ path: formatPath(at), message: `must be at most ${String(issue.maximum)}` });
    } else if (issue.code === 'invalid_type') {
      out.push({ path: formatPath(at), message: typeMessage(issue.expected, issue.input, at) });
    } else {
      out.push({ path: formatPath(at), message: issue.message });
    }
  }
  return out;
}

function describeType(t: string): string {
  switch (t) {
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return t;
  }
}

/** What one branch of a union takes, when it says so in one issue at the value itself; null otherwise. */
function branchWant(i: Issue): string | null {
  if (i.code === 'invalid_type') return describeType(i.expected);
  if (i.code === 'invalid_value' && i.values.length > 0) return i.values.map((v) => (typeof v === 'string' ? `"${v}"` : String(v))).join(' or ');
  return null;
}

/**
 * A key whose value may be a secret (password, snds_key, dqs_key, api_key, signing_key, secret,
 * bearer_token...), anywhere on the path: its value is never repeated in a message. Broad on
 * purpose: naming a harmless value's type only costs nothing.
 */
const secretKey = /pass|secret|token|key|auth|cred/i;
const isSecretPath = (at: readonly PropertyKey[]) => at.some((p) => typeof p === 'string' && secretKey.test(p));

/** A value of the wrong type, for a message: its type, and the value itself only where it cannot be a secret. */
function describeValue(v: unknown, at: readonly PropertyKey[]): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'boolean' || (typeof v === 'number' && !Number.isFinite(v))) return String(v);
  if (isSecretPath(at)) return `a ${typeof v}`;
  if (typeof v === 'string') return `the string "${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return `the ${typeof v} ${String(v)}`;
}

/** The message of a value of the wrong type (or a missing one). */
function typeMessage(expected: string, input: unknown, at: readonly PropertyKey[]): string {
  if (input === undefined) return `is required (${describeType(expected)})`;
  // 1e400 reads as Infinity: not a figure anything can use.
  if (expected === 'number' && typeof input === 'number') return `must be a finite number, not ${String(input)}`;
  const base = `must be ${describeType(expected)}, not ${describeValue(input, at)}`;
  // An unquoted run of digits or `yes` is read by YAML as a number or a boolean (a long number even
  // loses digits): the fix is quotes.
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) return `${base} (put it in quotes)`;
  return base;
}

/**
 * yaml's message without the position it appends (` at line 5, column 1:` and a code frame, which
 * could show a secret's line): the position is the problem's path. A duplicate key is named.
 */
function yamlMessage(e: { code: string; message: string; pos: [number, number] }, text: string): string {
  const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (e.code === 'DUPLICATE_KEY') {
    const key = /^\s*("[^"\n]*"|'[^'\n]*'|[^:#\n]+?)\s*:/.exec(text.slice(e.pos[0], e.pos[0] + 200))?.[1];
    if (key !== undefined) return `the key ${key.length > 60 ? key.slice(0, 60) + '…' : key} appears twice in the same mapping`;
  }
  return first;
}

/** The path of the first value that holds itself (`a: &x [*x]`), or null: yaml builds such loops, and every walk over them would never end. */
function cyclePath(v: unknown, at: PropertyKey[], open = new Set<object>()): PropertyKey[] | null {
  if (v === null || typeof v !== 'object') return null;
  if (open.has(v)) return at;
  open.add(v);
  const entries: [PropertyKey, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  for (const [k, x] of entries) {
    const found = cyclePath(x, [...at, k], open);
    if (found !== null) return found;
  }
  open.delete(v);
  return null;
}

/**
 * Keys a JavaScript object cannot hold as data (`__proto__` would set the prototype: a host named so
 * would vanish without a word). Found anywhere in the document, each is a problem naming its path.
 */
function reservedKeys(v: unknown, at: PropertyKey[]): Problem[] {
  if (v === null || typeof v !== 'object') return [];
  if (Array.isArray(v)) return v.flatMap((x, i) => reservedKeys(x, [...at, i]));
  const out: Problem[] = [];
  if (Object.prototype.hasOwnProperty.call(v, '__proto__')) {
    out.push({ path: formatPath([...at, '__proto__']), message: 'the name __proto__ cannot be used (rename it)' });
  }
  for (const [k, x] of Object.entries(v)) out.push(...reservedKeys(x, [...at, k]));
  return out;
}

/**
 * Parse and validate config text. Pure: checks no files. Throws ConfigError listing every problem.
 * `file` is used to resolve relative paths and to name the file in messages.
 */
export function parseConfig(text: string, file: string): Config {
  const abs = path.resolve(file);
  // Plain config text is read by the fast subset reader; anything else (and every error) by yaml.
  let data: unknown = parseYamlSubset(text);
  if (data === undefined) {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        abs,
        doc.errors.map((e) => ({
          path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
          message: `YAML: ${yamlMessage(e, text)}`,
        })),
      );
    }
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // yaml throws a ReferenceError for an alias bomb (and for an alias to nothing): bad input, not a crash.
      throw new ConfigError(abs, [{ path: '', message: `YAML: ${(e as Error).message.split('\n')[0]} (too many or broken aliases)` }]);
    }
    const loop = cyclePath(data, []);
    if (loop !== null) {
      throw new ConfigError(abs, [{ path: formatPath(loop), message: 'YAML: an alias refers to a value that holds it (a loop)' }]);
    }
    if (data === null || data === undefined) data = {};
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new ConfigError(abs, [{ path: '', message: 'the top level must be a mapping of keys to values' }]);
    }
  }
  const reserved = reservedKeys(data, []);
  if (reserved.length > 0) throw new ConfigError(abs, reserved);
  // jitless: zod would compile a fast path for each object schema with `new Function` on its first
  // parse; a config is parsed once per process, and that compile (which no code cache keeps) cost
  // more than the parse itself.
  const parsed = configSchema.safeParse(data, { reportInput: true, jitless: true });
  if (!parsed.success) throw new ConfigError(abs, toProblems(parsed.error.issues));
  const { config, problems } = normalizeConfig(parsed.data, abs);
  if (problems.length > 0) throw new ConfigError(abs, problems);
  return config;
}

/** The file checks: every file the config names exists where mtarep needs it. */
export function checkFiles(config: Config): Problem[] {
  const problems: Problem[] = [];
  const usesSsh = config.hosts.some((h) => h.ssh);
  if (config.ssh.keyFile !== undefined && usesSsh) {
    if (!isReadableFile(config.ssh.keyFile)) {
      problems.push({ path: 'ssh_key', message: `cannot read ${config.ssh.keyFile}` });
    }
    if (!isReadableFile(config.ssh.knownHosts)) {
      problems.push({
        path: 'ssh_known_hosts',
        message: `cannot read ${config.ssh.knownHosts} (host keys are always verified; fill it with ssh-keyscan)`,
      });
    }
  }
  // data_dir is created at start (mkdir -p): what stands in the way is a file at it or above it.
  const blocker = nonFolderOnPath(config.dataDir);
  if (blocker !== null) {
    problems.push({
      path: 'data_dir',
      message: blocker === config.dataDir ? `${blocker} is a file, not a folder` : `cannot create ${config.dataDir}: ${blocker} is a file, not a folder`,
    });
  }
  if (config.errorLog !== undefined) {
    const st = statOf(config.errorLog);
    if (st?.isDirectory()) {
      problems.push({ path: 'error_log', message: `${config.errorLog} is a folder: give the path of the log file` });
    } else if (st !== null && !isWritable(config.errorLog)) {
      problems.push({ path: 'error_log', message: `cannot write ${config.errorLog}` });
    } else if (st === null && !isDir(path.dirname(config.errorLog)) && !inDataDir(config, path.dirname(config.errorLog))) {
      problems.push({ path: 'error_log', message: `folder ${path.dirname(config.errorLog)} does not exist` });
    }
  }
  // A missing file is created at first start (user admin); one that exists must be a readable file, or
  // the dashboard would run with nobody able to log in.
  // Under a data_dir that cannot be made, the default htpasswd's problem is that one: said once.
  const auth = blocker !== null && inDataDir(config, path.dirname(config.httpAuthFile)) ? undefined : httpAuthFileProblem(config);
  if (auth) problems.push(auth);
  return problems;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The file's text; a ConfigError naming the first line that is not UTF-8 (a file saved as Latin-1, say):
 * read leniently, its bytes would turn into U+FFFD and reach host names and keys unnoticed.
 */
function utf8Text(bytes: Buffer, abs: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      try {
        strictUtf8.decode(bytes.subarray(start, i));
      } catch {
        break;
      }
      line++;
      start = i + 1;
    }
    throw new ConfigError(abs, [{ path: `line ${line}`, message: 'is not UTF-8 text: save the file as UTF-8' }]);
  }
}

/** The nearest existing path at or above `dir` when it is not a folder (mkdir -p would fail on it), else null. */
function nonFolderOnPath(dir: string): string | null {
  for (let p = dir; ; p = path.dirname(p)) {
    const st = statOf(p);
    if (st !== null) return st.isDirectory() ? null : p;
    if (path.dirname(p) === p) return null;
  }
}

function statOf(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

function isWritable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** data_dir and what is under it are mtarep's own: created at first start. */
function inDataDir(config: Config, p: string): boolean {
  return p === config.dataDir || p.startsWith(config.dataDir + path.sep);
}

/**
 * What keeps mtarep from reading or creating http_auth_file, or undefined: a folder (or anything
 * not a file) at its path, a path through a file, a missing folder outside data_dir. Used by
 * checkFiles and by `mtarep passwd` (whose config is loaded without the file checks).
 */
export function httpAuthFileProblem(config: Config): Problem | undefined {
  const file = config.httpAuthFile;
  const problem = (message: string): Problem => ({ path: 'http_auth_file', message });
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return problem(`${file} is a folder, not an htpasswd file`);
    if (!st.isFile()) return problem(`${file} is not a regular file`);
    return isReadableFile(file) ? undefined : problem(`cannot read ${file}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return problem(`cannot use ${file}: ${fileErrorText(e)}`);
  }
  const dir = path.dirname(file);
  return isDir(dir) || inDataDir(config, dir) ? undefined : problem(`folder ${dir} does not exist`);
}

/** Read, validate and check a config file. Throws ConfigError. */
export function loadConfig(file: string, opts: { checkFiles?: boolean } = {}): Config {
  const abs = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(abs);
  } catch (e) {
    const why = fileErrorText(e);
    throw new ConfigError(abs, [{ path: '', message: `cannot read ${abs}: ${why}` }]);
  }
  const config = parseConfig(utf8Text(bytes, abs), abs);
  const secretProblems = readSecrets(config, process.env, { files: opts.checkFiles !== false });
  if (secretProblems.length > 0) throw new ConfigError(abs, secretProblems);
  if (config.probes) {
    const problems = resolveProbeSecrets(config.probes, readSecretFile, process.env);
    if (problems.length > 0) throw new ConfigError(abs, problems);
  }
  if (opts.checkFiles !== false) {
    const problems = checkFiles(config);
    if (problems.length > 0) throw new ConfigError(abs, problems);
  }
  return config;
}

/** Environment variables that hold secrets (they win over the config file's keys). */
export const secretEnv = { metricsBearerToken: 'MTAREP_METRICS_BEARER_TOKEN' } as const;

/**
 * Fill the secrets that may live outside the config file: `*_file` keys (read here, trailing line
 * break dropped) and environment variables. Changes `config` in place; returns the problems.
 */
export function readSecrets(config: Config, env: NodeJS.ProcessEnv, opts: { files: boolean }): Problem[] {
  const problems: Problem[] = [];
  const fromEnv = env[secretEnv.metricsBearerToken];
  if (fromEnv !== undefined && fromEnv !== '') {
    problems.push(...bearerTokenProblems(fromEnv, `$${secretEnv.metricsBearerToken}`));
    config.metrics.bearerToken = fromEnv;
  } else if (config.metrics.bearerTokenFile !== undefined && opts.files) {
    const file = config.metrics.bearerTokenFile;
    try {
      const token = readSecretFile(file);
      problems.push(...bearerTokenProblems(token, `metrics.bearer_token_file (${file})`));
      config.metrics.bearerToken = token;
    } catch (e) {
      problems.push({ path: 'metrics.bearer_token_file', message: `cannot read ${file}: ${fileErrorText(e)}` });
    }
  }
  return problems;
}

function isReadableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.R_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
