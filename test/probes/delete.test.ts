/**
 * Deleting matched probes from the mailbox (probes.imap.delete_matched): a deletion that fails stays
 * on the store's to-delete list and is done at the next round; entries whose UIDs no longer name the
 * messages they were read as (the folder recreated: another UIDVALIDITY) or whose folder is gone are
 * dropped from the list without touching anything. Against Dovecot, with the connection cut by a
 * relay in the middle of the delete.
 */
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiveImap, type ImapReceiveOptions } from '../../collector/probes/receive.js';
import { probeStore } from '../../lib/probes/store.js';
import { captureLog } from '../helpers/capture-log.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startTcpTap, type TcpTap } from '../helpers/tcp-tap.js';

const user = 'probes@mon.test';
const password = 'pw-delete';
let dc: Dovecot;
let r: TestRedis;
let tap: TcpTap;

const message = (n: number) => `From: probe@a.test\r\nTo: ${user}\r\nSubject: message ${n}\r\nMessage-ID: <m${n}@a.test>\r\n\r\nbody ${n}\r\n`;

/** UIDVALIDITY and UIDs of INBOX, read by an independent client. */
async function inbox(): Promise<{ uidValidity: string; uids: number[] }> {
  const c = new ImapFlow({ host: '127.0.0.1', port: dc.port, secure: false, auth: { user, pass: password }, logger: false, doSTARTTLS: false });
  await c.connect();
  try {
    const box = await c.mailboxOpen('INBOX');
    const uids = (await c.search({ all: true }, { uid: true })) || [];
    return { uidValidity: String(box.uidValidity), uids: [...uids].sort((a, b) => a - b) };
  } finally {
    await c.logout();
  }
}

function options(port: number, log = captureLog()): ImapReceiveOptions {
  return {
    settings: { host: '127.0.0.1', port, tls: 'none', user, password, timeoutMs: 30_000 },
    folders: ['INBOX'],
    deleteMatched: true,
    probeFrom: user,
    now: () => Date.now(),
    log,
  };
}

beforeAll(async () => {
  dc = await startDovecot({ users: [{ user, password }] });
  r = await testRedis();
  tap = await startTcpTap(dc.port, '127.0.0.1', { cutOn: /UID STORE/i });
  for (let n = 1; n <= 4; n++) dc.deliver(user, 'INBOX', message(n));
});
afterAll(async () => {
  await tap?.close();
  await r?.close();
  await dc?.stop();
});

describe('deleting matched probes', () => {
  it('a deletion cut off by the network stays on the list and is done at the next round', async () => {
    const store = probeStore(r.redis, r.prefix);
    const { uidValidity, uids } = await inbox();
    expect(uids).toHaveLength(4);
    const entries: [string, string, number][] = [
      ['INBOX', uidValidity, uids[0]!],
      ['INBOX', uidValidity, uids[1]!],
    ];
    await store.commitReceive([], {}, entries);

    // Through the relay: the connection is cut when the delete's UID STORE goes out.
    const log = captureLog();
    await expect(receiveImap(store, options(tap.port, log))).rejects.toThrow();
    expect(log.text()).toContain('tried again at the next round');
    expect(tap.chunks.some((c) => /UID STORE/i.test(c))).toBe(true);
    expect(dc.count(user, 'INBOX')).toBe(4);
    expect((await store.pendingDeletes()).sort((a, b) => a[2] - b[2])).toEqual(entries);

    // The next round, straight to the server: done, and the list is empty.
    const next = await receiveImap(store, options(dc.port));
    expect(next.deleted).toBe(0); // deletions of earlier rounds are not this round's count
    expect(await store.pendingDeletes()).toEqual([]);
    expect(dc.count(user, 'INBOX')).toBe(2);
    expect((await inbox()).uids).toEqual(uids.slice(2));
  });

  it('entries of a recreated folder (another UIDVALIDITY) or of a folder that is gone are dropped, touching nothing', async () => {
    const store = probeStore(r.redis, r.prefix);
    const { uidValidity, uids } = await inbox();
    expect(uids).toHaveLength(2);
    await store.commitReceive([], {}, [
      ['INBOX', String(Number(uidValidity) + 1), uids[0]!],
      ['Gone', uidValidity, uids[1]!],
    ]);
    const log = captureLog();
    await receiveImap(store, options(dc.port, log));
    expect(await store.pendingDeletes()).toEqual([]);
    expect(dc.count(user, 'INBOX')).toBe(2);
    expect(log.text()).toContain('its UIDVALIDITY changed');
    expect(log.text()).toContain('the folder no longer exists');
  });
});
