/**
 * POST /ack: acknowledge an issue. CSRF-protected twice (hono's origin check in server.ts and the
 * per-user form token here); accepted only for an id that `currentIssues()` derives from the data
 * stored right now or that a source holds open (any issue kind: SNDS, probes...), so no Redis key or
 * field is ever built from unchecked request text. The ack
 * appends an `acknowledged` issue event (who, which issue) in the same transaction.
 */
import type { Hono } from 'hono';
import { acknowledgeIssue, readOpenIssues } from '../../lib/issue-store.js';
import { currentIssues, formatAck } from '../../lib/issues.js';
import { ErrorPage } from '../../views/error.js';
import { page } from '../../views/layout.js';
import { backPath, type WebContext } from '../context.js';
import { guard, loadSnapshot } from '../data.js';
import type { WebEnv } from '../env.js';
import { checkedForm } from '../form.js';

export function ackRoutes(app: Hono<WebEnv>, w: WebContext): void {
  app.post('/ack', async (c) => {
    const user = c.get('user');
    const form = await checkedForm(c, w);
    if (form instanceof Response) return form;
    const id = form['id'];
    if (typeof id !== 'string' || id === '' || id.length > 512) {
      return c.html(page(<ErrorPage user={user} status={400} title="Bad request" message="No issue named." />), 400);
    }
    // Everything the answer needs is checked before anything is stored.
    const back = backPath(form['back']);
    if (back === null) {
      return c.html(page(<ErrorPage user={user} status={400} title="Bad request" message="The address to return to is not a page of this site. Nothing was stored." />), 400);
    }
    // A listing or block of the stored records, or any source's open issue (SNDS, probes, DNS, ...).
    const snap = await loadSnapshot(w.redis, w.k, w.config);
    const exists =
      currentIssues([...snap.ips.values()], [...snap.blocks.values()]).some((i) => i.id === id) ||
      [...(await guard('open issues', () => readOpenIssues(w.redis, w.k))).bySource.values()].some((s) => s.issues.some((i) => i.id === id));
    if (!exists) {
      return c.html(
        page(<ErrorPage user={user} status={409} title="No such issue" message="This issue does not exist any more (it may have been resolved by the last collector run). Nothing was stored." />),
        409,
      );
    }
    const at = w.now();
    // The ack and its `acknowledged` event are written together (lib/issue-store.ts).
    await guard('ack', () => acknowledgeIssue(w.redis, w.k, { id, by: user, at, ackValue: formatAck(user, at), maxLen: w.config.retention.events }));
    w.version.invalidate();
    w.log.info('issue acknowledged', { issue: id, user });
    return c.redirect(back, 303);
  });
}
