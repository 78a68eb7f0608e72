/**
 * The Events page (GET /events), its JSON (GET /api/events?since=) and the "send a test alert" form
 * (POST /events/test: the CSRF token as for acknowledgements, then the channel's sender as
 * `mtarep alerts test` uses it, the result recorded in the delivery log, then back to the page showing
 * it). Registered before the API's `/api/:fqdn` so that `/api/events` is this one.
 */
import type { Hono } from 'hono';
import { channelsOf, sendTests } from '../../lib/alerts/channels.js';
import { readAlertHealth, recordTests, testDigestId } from '../../lib/alerts/delivery-log.js';
import { readDeliveries } from '../../lib/alerts/outbox.js';
import { readTimeline } from '../../lib/alerts/timeline.js';
import type { OpenIssue } from '../../lib/events.js';
import { readOpenIssues } from '../../lib/issue-store.js';
import { secretsOf } from '../../lib/log.js';
import { readAcks } from '../../lib/store/index.js';
import { ErrorPage } from '../../views/error.js';
import { EventsPage } from '../../views/events.js';
import { page } from '../../views/layout.js';
import type { WebContext } from '../context.js';
import { guard } from '../data.js';
import type { WebEnv } from '../env.js';
import { checkedForm } from '../form.js';
import { apiItem, buildEventsPage, eventsHref, parseEventsQuery, timelineQuery } from '../viewmodel/events.js';

const headers = { 'Cache-Control': 'no-store' };

export function eventsRoutes(app: Hono<WebEnv>, w: WebContext): void {
  const { config, redis, k } = w;

  app.get('/events', async (c) => {
    const user = c.get('user');
    const parsed = parseEventsQuery(c.req.query(), 'page');
    if (!parsed.ok) {
      return c.html(page(<ErrorPage user={user} status={400} title="Bad filter" message={`Query parameter ${parsed.parameter}: ${parsed.message}.`} />), 400, headers);
    }
    const p = parsed.params;
    const now = w.now();
    const [timeline, health, open, acks, tests] = await guard('events', () =>
      Promise.all([
        readTimeline(redis, k, timelineQuery(p, true)),
        readAlertHealth(redis, k, now),
        readOpenIssues(redis, k),
        readAcks(redis, k),
        p.test !== undefined ? readDeliveries(redis, k, 100).then((d) => d.records.filter((r) => r.digestId === p.test && r.test === true)) : Promise.resolve(null),
      ]),
    );
    const openById = new Map<string, OpenIssue>();
    for (const s of open.bySource.values()) for (const i of s.issues) openById.set(i.id, i);
    const m = buildEventsPage({
      params: p,
      items: timeline.items,
      more: timeline.more,
      health,
      open: openById,
      acks,
      channels: channelsOf(config),
      hosts: config.hosts.map((h) => h.name),
      tests,
      now,
    });
    const back = eventsHref(p, p.before);
    return c.html(page(<EventsPage user={user} m={m} csrf={w.csrf.tokenFor(user)} back={back} />), 200, headers);
  });

  app.get('/api/events', async (c) => {
    const parsed = parseEventsQuery(c.req.query(), 'api');
    if (!parsed.ok) return c.json({ error: 'bad parameter', parameter: parsed.parameter, message: parsed.message }, 400, headers);
    const p = parsed.params;
    // With `since`: what came after it, oldest first (a consumer catching up). Without: the newest.
    const catchUp = p.since !== undefined || p.after !== undefined;
    const r = await guard('events', () => readTimeline(redis, k, timelineQuery(p, !catchUp)));
    const items = catchUp ? r.items : [...r.items].reverse();
    const newest = items[items.length - 1]?.id ?? p.after ?? null;
    // `more`: items beyond this page (after `next` when catching up; older than the first otherwise).
    return c.json({ items: items.map(apiItem), next: newest, more: r.more }, 200, headers);
  });

  app.post('/events/test', async (c) => {
    const user = c.get('user');
    const form = await checkedForm(c, w);
    if (form instanceof Response) return form;
    const channel = form['channel'];
    const known = channelsOf(config);
    if (typeof channel !== 'string' || !known.some((ch) => ch.id === channel)) {
      return c.html(
        page(<ErrorPage user={user} status={400} title="Unknown channel" message="No alert channel of that id is configured (the channels are listed on the Events page). Nothing was sent." />),
        400,
      );
    }
    const at = w.now();
    // One attempt: the button tells what happens right now (the outbox retries real alerts itself).
    const results = await sendTests(config, at, channel, { now: w.now, webhook: { attempts: 1 } });
    const digestId = testDigestId(at);
    const records = await guard('test alert', () => recordTests(redis, k, results, { digestId, at, by: user, secrets: secretsOf(config) }));
    w.version.invalidate();
    for (const r of records) w.log.info('test alert sent from the dashboard', { user, channel: r.channelLabel, outcome: r.status, result: r.result });
    return c.redirect(`/events?test=${digestId}`, 303);
  });
}
