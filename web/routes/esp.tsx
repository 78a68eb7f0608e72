/**
 * The ESP page (GET /esp), its JSON (GET /api/esp) and the test-mail form (POST /esp/send: the
 * CSRF token as for acknowledgements, then the gateway, then back to the page showing the result).
 * Registered before the API's `/api/:fqdn` so that `/api/esp` is this one.
 */
import type { Hono } from 'hono';
import { EspGateway } from '../../lib/esp/gateway.js';
import { readEspReport } from '../../lib/esp/report.js';
import { ErrorPage } from '../../views/error.js';
import { EspPage } from '../../views/esp.js';
import { page } from '../../views/layout.js';
import type { WebContext } from '../context.js';
import { guard } from '../data.js';
import type { WebEnv } from '../env.js';
import { checkedForm } from '../form.js';
import { buildEspPage } from '../viewmodel/esp.js';

const headers = { 'Cache-Control': 'no-store' };

export function espRoutes(app: Hono<WebEnv>, w: WebContext): void {
  const report = () => guard('esp', () => readEspReport(w.redis, w.k, w.config.esp, w.now()));

  app.get('/esp', async (c) => {
    const user = c.get('user');
    const m = buildEspPage(await report(), w.now(), c.req.query('send'));
    return c.html(page(<EspPage user={user} m={m} csrf={w.csrf.tokenFor(user)} />), 200, headers);
  });

  app.get('/api/esp', async (c) => c.json(await report(), 200, headers));

  app.post('/esp/send', async (c) => {
    const user = c.get('user');
    const form = await checkedForm(c, w);
    if (form instanceof Response) return form;
    const to = typeof form['to'] === 'string' ? form['to'].trim() : '';
    const subject = typeof form['subject'] === 'string' && form['subject'].trim() !== '' ? form['subject'].trim().slice(0, 200) : 'mtarep test mail';
    if (!/^[^\s@<>]+@[^\s@<>]+$/.test(to) || to.length > 254) {
      return c.html(page(<ErrorPage user={user} status={400} title="Bad address" message="Give one e-mail address to send the test mail to." />), 400);
    }
    if (!w.config.esp || w.config.esp.providers.length === 0) {
      return c.html(page(<ErrorPage user={user} status={409} title="No ESP configured" message="Add esp.from and esp.providers to the config to send test mails." />), 409);
    }
    const gw = new EspGateway({ esp: w.config.esp, redis: w.redis, k: w.k, log: w.log, now: w.now });
    const res = await gw.send({ to, subject, text: `Test mail sent by mtarep (dashboard user ${user}) at ${w.now().toISOString()}.` });
    w.log.info('test mail sent from the dashboard', { user, to, outcome: res.outcome, provider: res.provider });
    return c.redirect(`/esp?send=${encodeURIComponent(res.id)}`, 303);
  });
}
