/**
 * The overview page's props (built by web/viewmodel/overview.ts): one row per MTA IP, the columns,
 * the summary line and the issue modals. Types only; the views own them.
 */
import type { Cell } from '../lib/checks/types.js';
import type { Ack } from '../lib/issues.js';
import type { RunSummary } from '../lib/model.js';
import type { Severity } from '../lib/severity.js';
import type { IssueView } from './issue.js';

export type { Cell };

export type SortKey = string;

export type SortDir = 'asc' | 'desc';

/** A column of the table: the fixed ones and each check plugin's (lib/checks/), in `order`. */
export interface ColumnHead {
  key: string;
  header: string;
  order: number;
  /** Drawn by the check's plugin (a Cell); else one of the fixed columns. */
  plugin: boolean;
  numeric?: boolean;
}

export interface IssueRef {
  id: string;
  domId: string;
  label: string;
  ack?: Ack;
  /** A listing on a non-critical zone (a warning, drawn lighter than a critical one). */
  minor?: boolean;
}

export interface OverviewRow {
  host: string;
  fqdn: string;
  ip: string | null;
  severity: Severity;
  /** Set when the host's IPs could not be resolved. */
  resolveError?: string;
  /** The check plugins' cells by column key. */
  cells: Record<string, Cell>;
  blocks: IssueRef[];
  /** What the blocks cell says beside (or instead of) the badges: "no blocks" only after a good maillog read. */
  blocksNote: Cell | null;
  listings: IssueRef[];
  /** What the listings cell says when nothing is listed: "unlisted" only when the IP was checked. */
  listingsNote: Cell;
  /** Zones that could not be checked for this IP (error, unknown answer, unhealthy zone). */
  cannotTell: string[];
  checked: Cell & { iso: string | null };
  sort: Record<string, string | number>;
}

export interface Summary {
  hosts: number;
  ips: number;
  listed: number;
  blocked: number;
  acknowledged: number;
  issues: number;
  errors: number;
  bySeverity: Record<Severity['level'], number>;
  lastRun: (RunSummary & { age: string }) | null;
}

export interface OverviewModel {
  firstTime: boolean;
  rows: OverviewRow[];
  issues: IssueView[];
  summary: Summary;
  /** Columns between IP and Checked, in display order. */
  columns: ColumnHead[];
  sort: SortKey;
  dir: SortDir;
  problems: string[];
}
