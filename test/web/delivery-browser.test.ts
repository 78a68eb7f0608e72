// The Delivery pages in a real browser (Debian chromium driven by playwright-core): sort in place with
// the URL kept, filter, the domain page's chart drawn by the local Highcharts, the maintenance switch
// posted by the browser's own form (Origin check and token), all without a console error under the CSP.
// Screenshots go to screenshots/ (gitignored).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserOptedOut, pageProblems } from '../helpers/browser.js';
import { domainStore } from '../../lib/probes/domains.js';
import { dayStats, judgeDomain, limitsOf } from '../../lib/probes/judge.js';
import type { ProbeRecord } from '../../lib/probes/model.js';
import { probeStore } from '../../lib/probes/store.js';
import { alice, dashboardInChromium, shots } from './browser-dashboard.js';
import { makeConfig, tempDir } from './fixtures.js';

const optedOut = browserOptedOut;
if (optedOut) {
  process.stderr.write('\n*** mtarep: the Delivery browser test is SKIPPED because MTAREP_SKIP_BROWSER=1 ***\n\n');
}

describe.skipIf(optedOut)(`Delivery pages in chromium${optedOut ? ' (SKIPPED: MTAREP_SKIP_BROWSER=1)' : ''}`, () => {
  const site = dashboardInChromium(async (t) => {
    const config = makeConfig(tempDir(), { probes: { from: 'probes@mon.test', smtp: { host: '127.0.0.1' }, imap: { host: '127.0.0.1', user: 'p', password: 'x-imap' } } }, t.prefix);
    const now = Date.now();
    const H = 3_600_000;
    await domainStore(t.redis, t.prefix).import([
      { line: 1, customer: 'acme', customerName: 'Acme', address: 'probe@acme.test', domain: 'acme.test' },
      { line: 2, customer: 'beta', customerName: 'Beta', address: 'probe@beta.test', domain: 'beta.test' },
      { line: 3, customer: 'gamma', customerName: 'Gamma', address: 'probe@gamma.test', domain: 'gamma.test' },
    ]);
    const recs: ProbeRecord[] = [];
    for (const [domain, rtt] of [['acme.test', 9], ['beta.test', 0], ['gamma.test', 400]] as const) {
      for (let h = 60; h >= 2; h -= 6) {
        const sentAt = now - h * H;
        const base = { token: `mtp-${domain}-${h}`, domain, address: `probe@${domain}`, sentAt, submittedAt: sentAt + 200, smtp: '250 ok' };
        recs.push(rtt === 0 ? { ...base, bounce: { at: sentAt + 5000, status: '5.1.1', diagnostic: 'user unknown' } } : { ...base, returnedAt: sentAt + rtt * 1000 + h * 100, folder: 'INBOX', junk: false });
      }
    }
    const ps = probeStore(t.redis, t.prefix);
    await ps.save(recs);
    const l = limitsOf(config.probes!);
    const of = (d: string) => recs.filter((r) => r.domain === d);
    const domains = ['acme.test', 'beta.test', 'gamma.test'];
    await ps.writeSummaries(domains.map((d) => judgeDomain(d, of(d), now, now, l, false)));
    await ps.writeStats(new Map(domains.map((d) => [d, dayStats(of(d), now, now, l)])), '2000-01-01');
    await ps.setState({ lastGoodReadAt: now });
    return config;
  });

  it('sorts and filters the list, draws the daily chart, switches maintenance', async () => {
    const ctx = await site.browser.newContext({ httpCredentials: alice, viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    const problems = pageProblems(page);

    await page.goto(new URL('/delivery', site.server.url).toString());
    const domainsShown = () => page.locator('#delivery tbody tr td:nth-child(3) a').allTextContents();
    // Failing first: beta (bounces) and gamma (late), then acme.
    expect(await domainsShown()).toEqual(['beta.test', 'gamma.test', 'acme.test']);
    await page.screenshot({ path: path.join(shots, 'delivery.png'), fullPage: true });

    // In-place sort keeps the URL; the status column's first click is "failing first".
    await page.click('th[data-key="pct"] a');
    expect(page.url()).toContain('sort=pct&dir=asc');
    expect(await domainsShown()).toEqual(['beta.test', 'gamma.test', 'acme.test']);
    await page.click('th[data-key="pct"] a');
    expect(page.url()).toContain('sort=pct&dir=desc');
    expect((await domainsShown())[0]).toBe('acme.test');
    await page.click('th[data-key="domain"] a');
    expect(await domainsShown()).toEqual(['acme.test', 'beta.test', 'gamma.test']);
    await page.click('th[data-key="status"] a');
    expect(page.url()).toContain('sort=status&dir=desc');
    expect((await domainsShown())[2]).toBe('acme.test');

    await page.fill('#filter', 'gamma');
    await expect.poll(() => page.locator('#delivery tbody tr:not([hidden])').count()).toBe(1);
    expect(await page.locator('#shown').textContent()).toBe('1 of 3 rows');
    expect(page.url()).toContain('q=gamma');

    // The domain page: the chart from the local Highcharts, its series and days.
    await page.click('#delivery tbody tr:not([hidden]) td:nth-child(3) a');
    await expect.poll(() => page.locator('#probe-days-chart .highcharts-container').count()).toBe(1);
    const legend = await page.locator('#probe-days-chart .highcharts-legend-item').allTextContents();
    expect(legend).toEqual(['on time', 'late', 'failed', 'max', 'average', 'min']);
    expect(await page.locator('#probe-days-chart .highcharts-xaxis-labels text').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(shots, 'delivery-domain.png'), fullPage: true });

    // Maintenance through the page's own form: the browser sends Origin and the token.
    await Promise.all([page.waitForNavigation(), page.click('form.maintenance button')]);
    expect(new URL(page.url()).pathname).toBe('/delivery/gamma.test');
    expect(await page.locator('form.maintenance').textContent()).toMatch(/maintenance on \(on since \d{4}-\d\d-\d\d \d\d:\d\d UTC by alice\)/);
    expect((await domainStore(site.t.redis, site.t.prefix).get('gamma.test'))!.maintenanceBy).toBe('alice');
    await page.goto(new URL('/delivery', site.server.url).toString());
    expect(await page.locator('#delivery tbody tr.sev-maint td:nth-child(3) a').allTextContents()).toEqual(['gamma.test']);

    expect(problems).toEqual([]);
    await ctx.close();
  });
});
