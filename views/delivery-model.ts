/**
 * Props of the Delivery pages (views/delivery.tsx, views/delivery-domain.tsx), built by
 * web/viewmodel/delivery-page.ts: display text, a state per cell and a sort value per column. The
 * views own these types (they never import web/).
 */
import type { ProbeState } from '../lib/probes/model.js';

export const deliverySortKeys = [
  'status',
  'customer',
  'domain',
  'address',
  'maintenance',
  'state',
  'rtt',
  'on_time',
  'late',
  'overdue',
  'lost',
  'bounced',
  'spam',
  'send_failed',
  'pct',
] as const;
export type DeliverySortKey = (typeof deliverySortKeys)[number];
export type SortDir = 'asc' | 'desc';

/** The row's colour: failing red, some probes not back or late amber, nothing judged yet hatched, maintenance grey. */
export type DeliveryLevel = 'error' | 'warning' | 'unknown' | 'ok' | 'maint';

/** The counted states shown as columns (pending is in the title of the state cell). */
export const countColumns = ['on_time', 'late', 'overdue', 'lost', 'bounced', 'spam', 'send_failed'] as const;
export type CountColumn = (typeof countColumns)[number];

export interface DeliveryRow {
  domain: string;
  address: string;
  customer: string;
  customerName: string;
  level: DeliveryLevel;
  failing: boolean;
  /** Which limits were passed (empty when not failing). */
  reasons: string[];
  maintenance: boolean;
  /** "on since 2026-05-02 11:00 UTC by alice" / "off since … by …" / '' when never switched. */
  maintenanceNote: string;
  /** `rtt`: the last probe's round trip, else (still out, or not back) the newest measured one, said in `rttNote`. */
  last: { state: ProbeState; text: string; sent: string; rtt: string; rttNote?: string } | null;
  counts: Record<CountColumn | 'pending', number>;
  judged: number;
  onTimePct: string;
  avgRtt: string;
  sort: Record<DeliverySortKey, string | number>;
}

export interface DeliveryPageModel {
  /** A `probes:` section is configured. */
  configured: boolean;
  rows: DeliveryRow[];
  sort: DeliverySortKey;
  dir: SortDir;
  summary: { domains: number; failing: number; maintenance: number; notJudged: number };
  /** The judgement window as text ("24 h"). */
  window: string;
  lastRound: { text: string; status: string; title: string; receiveError: string | null } | null;
  /** Data version (the page reloads itself when it moves, as the overview does). */
  version: string;
}

export interface ProbeRow {
  token: string;
  state: ProbeState;
  stateText: string;
  sent: string;
  returned: string;
  rtt: string;
  folder: string;
  reason: string;
  /** The ESP that sent it (probes.via: esp), '' when sent over SMTP. */
  provider: string;
  smtp: string;
}

/** One day of the chart and table: null delivery times when nothing came back that day. */
export interface ChartDay {
  date: string;
  min_s: number | null;
  avg_s: number | null;
  max_s: number | null;
  on_time: number;
  late: number;
  failed: number;
  total: number;
  all_done: boolean;
}

export interface DomainPageModel {
  configured: boolean;
  row: DeliveryRow;
  window: string;
  maxReturn: string;
  judgedAt: string;
  probes: ProbeRow[];
  /** Some probe went through an ESP: the provider column is shown. */
  showProvider: boolean;
  days: ChartDay[];
  /** Days charted (the ?days= choice) and the range. */
  span: number;
  from: string;
  to: string;
}

/** "on time", "send failed", ... */
export const stateText: Record<ProbeState, string> = {
  pending: 'pending',
  on_time: 'on time',
  late: 'late',
  overdue: 'overdue',
  lost: 'lost',
  bounced: 'bounced',
  spam: 'spam',
  send_failed: 'send failed',
};

/** The cell colour of a probe state (app.css `c-*`). */
export const stateClass: Record<ProbeState, 'good' | 'warn' | 'bad' | 'none'> = {
  pending: 'none',
  on_time: 'good',
  late: 'warn',
  overdue: 'warn',
  lost: 'bad',
  bounced: 'bad',
  spam: 'warn',
  send_failed: 'bad',
};
