// The page frame and the host chart in a real browser (Debian chromium driven by playwright-core): at
// phone width (390 px) the header's items stay inside its dark bar and only a wide table scrolls
// sideways, never the page; at desktop width the header is one 40 px line as before; the Delivery
// filter's hint fits its field; the host chart writes times as the page does (24-hour, UTC, to the
// minute); a host's details table fits its card at phone width. Screenshots go to screenshots/
// (gitignored).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserOptedOut, pageProblems } from '../helpers/browser.js';
import { domainStore } from '../../lib/probes/domains.js';
import { alice, dashboardInChromium, shots } from './browser-dashboard.js';
import { keys, makeConfig, sampleData, store, storeHourlyHistory, tempDir, useClock } from './fixtures.js';

const optedOut = browserOptedOut;
if (optedOut) {
  process.stderr.write('\n*** mtarep: the layout browser test is SKIPPED because MTAREP_SKIP_BROWSER=1 ***\n\n');
}

type Box = { left: number; right: number; top: number; bottom: number; width: number };
const edges = (b: { x: number; y: number; width: number; height: number } | null): Box => ({ left: b!.x, right: b!.x + b!.width, top: b!.y, bottom: b!.y + b!.height, width: b!.width });

/** The header's box and each of its items' boxes (brand, every nav link, the user), in page pixels. */
async function headerBoxes(page: Page): Promise<{ header: Box; items: (Box & { text: string })[] }> {
  const header = page.locator('header.top');
  const items = [];
  for (const e of await header.locator('.brand, nav a, .user').all()) items.push({ text: (await e.textContent())!.trim(), ...edges(await e.boundingBox()) });
  return { header: edges(await header.boundingBox()), items };
}

/** How far the document itself scrolls sideways (0: not at all). The page's own script, as a string: no DOM types here. */
const sideways = (page: Page) => page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');

describe.skipIf(optedOut)(`page frame and charts in chromium${optedOut ? ' (SKIPPED: MTAREP_SKIP_BROWSER=1)' : ''}`, () => {
  const site = dashboardInChromium(async (t) => {
    const config = makeConfig(tempDir(), { probes: { from: 'probes@mon.test', smtp: { host: '127.0.0.1' }, imap: { host: '127.0.0.1', user: 'p', password: 'x-imap' } } }, t.prefix);
    const k = keys(t.prefix);
    useClock(new Date());
    await store(t.redis, k, sampleData());
    // Two days of hourly history, on whole minutes plus some milliseconds (as the collector stamps them).
    await storeHourlyHistory(t.redis, k, '192.0.2.10', Math.floor(Date.now() / 3_600_000) * 3_600_000 + 829);
    await domainStore(t.redis, t.prefix).import([{ line: 1, customer: 'acme', customerName: 'Acme Hosting and Webdesign Ltd', address: 'mtarep-probe@customer-domain.example', domain: 'customer-domain.example' }]);
    return config;
  });

  it('at 390 px the header items lie inside the header bar and only the tables scroll sideways', async () => {
    const ctx = await site.browser.newContext({ httpCredentials: alice, viewport: { width: 390, height: 800 } });
    const page = await ctx.newPage();
    const problems = pageProblems(page);
    for (const [name, url] of [['overview', '/'], ['delivery', '/delivery'], ['host', '/host/mta1'], ['events', '/events']] as const) {
      await page.goto(site.server.url + url.slice(1));
      await page.screenshot({ path: path.join(shots, `phone-${name}.png`) });
      const { header, items } = await headerBoxes(page);
      expect(items.map((i) => i.text)).toEqual(['mtarep', 'Overview', 'Delivery', 'Graphs', 'ESP', 'Events', 'Help', 'Version', 'alice']);
      for (const i of items) {
        expect(i.left, `${name}: ${i.text} left`).toBeGreaterThanOrEqual(header.left);
        expect(i.right, `${name}: ${i.text} right`).toBeLessThanOrEqual(header.right);
        expect(i.top, `${name}: ${i.text} top`).toBeGreaterThanOrEqual(header.top);
        expect(i.bottom, `${name}: ${i.text} bottom`).toBeLessThanOrEqual(header.bottom);
      }
      expect(header.right, name).toBeLessThanOrEqual(390);
      expect(await sideways(page), `${name}: the page scrolls sideways`).toBe(0);
    }
    // The overview's table is wider than the phone: it scrolls in its own box.
    await page.goto(site.server.url);
    const table = (await page.evaluate(`(() => { const e = document.querySelector('#overview'); return { scroll: e.scrollWidth, client: e.clientWidth, right: e.getBoundingClientRect().right }; })()`)) as { scroll: number; client: number; right: number };
    expect(table.scroll).toBeGreaterThan(table.client);
    expect(table.right).toBeLessThanOrEqual(390);
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it("the host page's details table fits its card at 390 px, time column whole; at 1280 px its labels keep their 140 px column", async () => {
    /** Each details table against its card's inside: edges, its own sideways scroll, its time cells. */
    const measure = `[...document.querySelectorAll('table.details')].map((t) => {
      const card = t.closest('.ipcard'), s = getComputedStyle(card), c = card.getBoundingClientRect();
      const inner = c.right - parseFloat(s.borderRightWidth) - parseFloat(s.paddingRight);
      const times = [...t.querySelectorAll('td.muted')].map((td) => ({ right: td.getBoundingClientRect().right, text: td.textContent }));
      return { right: t.getBoundingClientRect().right, inner, scroll: t.scrollWidth, client: t.clientWidth, label: t.querySelector('th').getBoundingClientRect().width, times };
    })`;
    type Details = { right: number; inner: number; scroll: number; client: number; label: number; times: { right: number; text: string }[] }[];
    for (const width of [390, 1280]) {
      const ctx = await site.browser.newContext({ httpCredentials: alice, viewport: { width, height: 900 } });
      const page = await ctx.newPage();
      await page.goto(`${site.server.url}host/mta1`);
      await page.screenshot({ path: path.join(shots, `host-details-${width}.png`), fullPage: true });
      const tables = (await page.evaluate(measure)) as Details;
      expect(tables.length).toBeGreaterThan(0);
      for (const t of tables) {
        expect(t.right, `${width} px: table inside its card`).toBeLessThanOrEqual(t.inner + 0.5);
        expect(t.scroll, `${width} px: the table scrolls sideways`).toBeLessThanOrEqual(t.client);
        expect(t.times.length).toBeGreaterThan(0);
        for (const c of t.times) {
          expect(c.text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
          expect(c.right, `${width} px: ${c.text} cut off`).toBeLessThanOrEqual(t.right + 0.5);
        }
        if (width === 1280) expect(t.label).toBe(140);
      }
      expect(await sideways(page)).toBe(0);
      await ctx.close();
    }
  });

  it('at 1280 px the header is one 40 px line, as it always was', async () => {
    const ctx = await site.browser.newContext({ httpCredentials: alice, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(site.server.url);
    const { header, items } = await headerBoxes(page);
    expect(header.bottom - header.top).toBe(40);
    // One line: every item's middle at the bar's middle.
    for (const i of items) expect(Math.abs((i.top + i.bottom) / 2 - (header.top + header.bottom) / 2), i.text).toBeLessThan(2);
    expect(await sideways(page)).toBe(0);
    await ctx.close();
  });

  it('the Delivery filter shows its whole hint, at 1280 and 390 px', async () => {
    for (const width of [1280, 390]) {
      const ctx = await site.browser.newContext({ httpCredentials: alice, viewport: { width, height: 800 } });
      const page = await ctx.newPage();
      await page.goto(`${site.server.url}delivery`);
      // The hint's width in the field's own font against the room inside the field.
      const fit = (await page.evaluate(`(() => {
        const input = document.querySelector('#filter');
        const s = getComputedStyle(input);
        const c = document.createElement('canvas').getContext('2d');
        c.font = s.fontStyle + ' ' + s.fontWeight + ' ' + s.fontSize + ' ' + s.fontFamily;
        return { text: c.measureText(input.placeholder).width, room: input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight) };
      })()`)) as { text: number; room: number };
      expect(fit.text, `${width} px`).toBeLessThanOrEqual(fit.room);
      await ctx.close();
    }
  });

  it('the host chart writes times as the page does: 24-hour, UTC, to the minute', async () => {
    const ctx = await site.browser.newContext({ httpCredentials: alice, viewport: { width: 1280, height: 900 }, timezoneId: 'America/New_York' });
    const page = await ctx.newPage();
    const problems = pageProblems(page);
    await page.goto(`${site.server.url}host/mta1`);
    const chart = page.locator('[data-chart="history"]').first();
    await expect.poll(() => chart.locator('.highcharts-xaxis-labels text').count()).toBeGreaterThan(2);
    const labels = await chart.locator('.highcharts-xaxis-labels text').allTextContents();
    for (const l of labels) expect(l).toMatch(/^(\d{2}:\d{2}|\d{4}-\d{2}-\d{2})$/);
    // UTC, not the browser's zone: the labels' hours are the UTC hours of the data.
    const hours = labels.filter((l) => /^\d{2}:\d{2}$/.test(l));
    expect(hours.length).toBeGreaterThan(0);
    for (const h of hours) expect(h.endsWith(':00')).toBe(true);
    // The newest point's tooltip: its time as the page writes it.
    const newest = (JSON.parse((await chart.getAttribute('data-history'))!) as { score: [number, number][] }).score.at(-1)![0];
    const expected = `${new Date(newest).toISOString().slice(0, 10)} ${new Date(newest).toISOString().slice(11, 16)} UTC`;
    await chart.scrollIntoViewIfNeeded();
    const plot = edges(await chart.locator('.highcharts-plot-background').boundingBox());
    await page.mouse.move(plot.left + plot.width / 2, (plot.top + plot.bottom) / 2);
    await page.mouse.move(plot.right - 1, (plot.top + plot.bottom) / 2, { steps: 5 });
    await expect.poll(() => page.locator('.highcharts-tooltip').allTextContents(), { timeout: 10_000 }).toContainEqual(expect.stringContaining(expected));
    await page.screenshot({ path: path.join(shots, 'host-chart.png'), fullPage: true });
    expect(problems).toEqual([]);
    await ctx.close();
  });
});
