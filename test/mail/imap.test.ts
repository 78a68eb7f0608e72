/**
 * The IMAP reader against a real Dovecot (test/helpers/dovecot.ts): tls none / starttls / tls with a
 * self-signed certificate, login refused and host down as typed errors without the password, the
 * Junk folder by SPECIAL-USE, batched scans from a UID position, header search, source and delete.
 */
import fs from 'node:fs';
import net from 'node:net';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImap, type ImapSettings } from '../../lib/mail/imap.js';
import { encodeMailbox } from '../../lib/mail/imap-wire.js';
import { scanFolders, tokenFilter, type ScannedMail } from '../../lib/mail/match.js';
import { probeScanFilter } from '../../collector/probes/classify.js';
import { newToken } from '../../lib/mail/token.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { freePort } from '../helpers/net.js';

const user = 'probes@mon.test';
const third = 'third@mon.test';
/** Quote, backslash and non-ASCII: sent as a literal. */
const special = 'pä"ss\\wörd-42';
const password = 'imap-s3cret';
let dc: Dovecot;
let ca: string[];

beforeAll(async () => {
  dc = await startDovecot({
    users: [{ user, password }, { user: 'other@mon.test', password: 'x-other' }, { user: third, password: 'x-third' }, { user: 'del@mon.test', password: 'x-del' }, { user: 'spec@mon.test', password: special }],
    tls: true,
  });
  ca = [fs.readFileSync(dc.caFile!, 'utf8')];
});
afterAll(async () => {
  await dc?.stop();
});

const settings = (o: Partial<ImapSettings> = {}): ImapSettings => ({ host: '127.0.0.1', port: dc.port, tls: 'none', user, password, ...o });
const mail = (subject: string, extra = '') => `From: someone@dom.test\r\nTo: ${user}\r\nSubject: ${subject}\r\n${extra}\r\nbody\r\n`;

describe('IMAP reader', () => {
  it('connects with tls none, starttls and implicit tls (certificate verified)', async () => {
    for (const s of [settings(), settings({ tls: 'starttls', ca }), settings({ tls: 'tls', port: dc.tlsPort!, ca })]) {
      const r = await openImap(s);
      const folders = await r.folders();
      expect(folders.map((f) => f.path)).toContain('INBOX');
      await r.close();
    }
  });

  it('an untrusted certificate is an imap-connect error; insecure accepts it', async () => {
    await expect(openImap(settings({ tls: 'tls', port: dc.tlsPort! }))).rejects.toMatchObject({ stage: 'imap-connect' });
    const r = await openImap(settings({ tls: 'tls', port: dc.tlsPort!, insecure: true }));
    await r.close();
  });

  it('a refused login is imap-auth and never shows the password; a closed port is imap-connect', async () => {
    const e = await openImap(settings({ password: 'wrong-password-42' })).catch((x: unknown) => x);
    expect(e).toMatchObject({ stage: 'imap-auth' });
    expect(JSON.stringify({ m: (e as Error).message, s: String(e) })).not.toContain('wrong-password-42');
    const port = await freePort();
    await expect(openImap(settings({ port, timeoutMs: 2000 }))).rejects.toMatchObject({ stage: 'imap-connect' });
  });

  it('finds Junk by its \\Junk flag', async () => {
    const r = await openImap(settings());
    try {
      expect(await r.junkFolder()).toBe('Junk');
      expect((await r.folders()).find((f) => f.path === 'Junk')?.specialUse).toBe('\\Junk');
    } finally {
      await r.close();
    }
  });

  it('scans new messages in batches from a UID position, finds tokens in subject and header, deletes by UID', async () => {
    const u = 'other@mon.test';
    const t1 = newToken();
    const t2 = newToken();
    const t3 = newToken();
    dc.deliver(u, 'INBOX', mail(`Re: [mtarep probe] ${t1}`));
    dc.deliver(u, 'INBOX', mail('not a probe'));
    dc.deliver(u, 'INBOX', mail(`=?UTF-8?B?${Buffer.from(`AW: [mtarep probe] ${t2}`).toString('base64')}?=`));
    dc.deliver(u, 'Junk', mail('Fwd: hello', `X-Mtarep-Probe: ${t3}\r\n`));
    const r = await openImap(settings({ user: u, password: 'x-other' }));
    try {
      const seen: ScannedMail[] = [];
      const first = await scanFolders(r, ['INBOX', 'Junk'], {}, (m) => void seen.push(m), { batch: 2 });
      expect(first.scanned).toBe(4);
      expect(seen.map((m) => [m.folder, m.tokens])).toEqual([
        ['INBOX', [t1]],
        ['INBOX', []],
        ['INBOX', [t2]],
        ['Junk', [t3]],
      ]);
      // Nothing new: an empty pass.
      const again = await scanFolders(r, ['INBOX', 'Junk'], first.positions, () => {
        throw new Error('no message expected');
      });
      expect(again.scanned).toBe(0);
      dc.deliver(u, 'INBOX', mail('late one'));
      const third: ScannedMail[] = [];
      await scanFolders(r, ['INBOX'], first.positions, (m) => void third.push(m));
      expect(third.map((m) => m.parsed.get('subject'))).toEqual([['late one']]);
      // A changed UIDVALIDITY reads the folder again from the start.
      const reset: ScannedMail[] = [];
      await scanFolders(r, ['INBOX'], { INBOX: { uidValidity: '1', lastUid: 99 } }, (m) => void reset.push(m));
      expect(reset).toHaveLength(4);
      // Search by header, fetch the source, delete exactly one UID.
      const hits = await r.search('Junk', { header: ['X-Mtarep-Probe', t3] });
      expect(hits).toHaveLength(1);
      expect((await r.fetchSource('Junk', hits[0]!))!.toString()).toContain('Fwd: hello');
      await r.delete('INBOX', [seen[0]!.uid]);
      expect(await r.search('INBOX', { subject: t1 })).toEqual([]);
      expect(dc.count(u, 'INBOX')).toBe(3);
    } finally {
      await r.close();
    }
  });

  it('with a filter the server picks the messages: only those are fetched, every new one counts as scanned, the position moves past all', async () => {
    const t1 = newToken();
    const t2 = newToken();
    const t3 = newToken();
    const t4 = newToken();
    dc.deliver(third, 'INBOX', mail('weekly news'));
    dc.deliver(third, 'INBOX', mail(`Re: [mtarep probe] ${t1}`));
    dc.deliver(third, 'INBOX', mail('Automatic reply', `In-Reply-To: <${t2}@mon.test>\r\n`));
    dc.deliver(third, 'INBOX', mail(`=?UTF-8?B?${Buffer.from(`AW: [mtarep probe] ${t3}`).toString('base64')}?=`));
    dc.deliver(third, 'INBOX', mail('hello', `X-Mtarep-Probe: ${t4}\r\n`));
    dc.deliver(third, 'INBOX', 'From: MAILER-DAEMON@mx.dom.test\r\nTo: x@mon.test\r\nSubject: Undelivered Mail\r\n\r\nbody with the token only in the body\r\n');
    dc.deliver(third, 'INBOX', 'From: a@dom.test\r\nTo: x@mon.test\r\nSubject: report\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x--\r\n');
    dc.deliver(third, 'INBOX', mail('another newsletter mentioning nothing'));
    const r = await openImap(settings({ user: third, password: 'x-third' }));
    try {
      const tokens: ScannedMail[] = [];
      const st = await scanFolders(r, ['INBOX'], {}, (m) => void tokens.push(m), { filter: tokenFilter, batch: 2 });
      expect(st.scanned).toBe(8);
      expect(tokens.map((m) => m.tokens)).toEqual([[t1], [t2], [t3], [t4]]);
      const probes: ScannedMail[] = [];
      const all = await scanFolders(r, ['INBOX'], {}, (m) => void probes.push(m), { filter: probeScanFilter });
      expect(probes.map((m) => m.parsed.get('subject')?.[0])).toEqual([
        `Re: [mtarep probe] ${t1}`,
        'Automatic reply',
        expect.stringContaining('=?UTF-8?B?'),
        'hello',
        'Undelivered Mail',
        'report',
      ]);
      // Nothing new after the position, filtered or not.
      const again = await scanFolders(r, ['INBOX'], all.positions, () => {
        throw new Error('no message expected');
      }, { filter: probeScanFilter });
      expect(again.scanned).toBe(0);
      expect(all.positions['INBOX']!.lastUid).toBe(8);
    } finally {
      await r.close();
    }
  });

  it('scanned messages carry their internal date and size; a failing handler fails the scan, the reader stays usable', async () => {
    const u = 'del@mon.test';
    dc.deliver(u, 'Sent', mail('one'));
    dc.deliver(u, 'Sent', mail('two'));
    const r = await openImap(settings({ user: u, password: 'x-del' }));
    try {
      const seen: ScannedMail[] = [];
      await scanFolders(r, ['Sent'], {}, (m) => void seen.push(m));
      expect(seen).toHaveLength(2);
      for (const m of seen) {
        expect(m.internalDate).toBeInstanceOf(Date);
        expect(Math.abs(m.internalDate!.getTime() - Date.now())).toBeLessThan(600_000);
        expect(m.size).toBe(Buffer.byteLength(mail(m.parsed.get('subject')![0]!)));
      }
      await expect(
        scanFolders(r, ['Sent'], {}, () => {
          throw new Error('handler broke');
        }),
      ).rejects.toThrow('handler broke');
      expect((await r.folders()).map((f) => f.path)).toContain('Sent');
      expect(await r.fetchHeaders('Sent', [seen[1]!.uid])).toMatchObject([{ uid: seen[1]!.uid, folder: 'Sent' }]);
    } finally {
      await r.close();
    }
  });

  it('delete expunges exactly the given UIDs: other messages keep their flags, and one someone else flagged \\Deleted stays', async () => {
    const u = 'del@mon.test';
    const t = newToken();
    for (const s of [`Re: [mtarep probe] ${t}`, 'keep me', 'deleted by a person', 'read by a person', `Re: [mtarep probe] ${t} again`]) dc.deliver(u, 'INBOX', mail(s));
    const person = new ImapFlow({ host: '127.0.0.1', port: dc.port, secure: false, auth: { user: u, pass: 'x-del' }, logger: false, doSTARTTLS: false });
    await person.connect();
    try {
      await person.mailboxOpen('INBOX');
      await person.messageFlagsAdd('3', ['\\Deleted'], { uid: true });
      await person.messageFlagsAdd('4', ['\\Seen'], { uid: true });
      const r = await openImap(settings({ user: u, password: 'x-del' }));
      try {
        await r.delete('INBOX', [5, 1]);
      } finally {
        await r.close();
      }
      expect(dc.count(u, 'INBOX')).toBe(3);
      await person.mailboxOpen('INBOX');
      const flags = new Map<number, string[]>();
      for await (const m of person.fetch('1:*', { uid: true, flags: true }, { uid: true })) flags.set(m.uid, [...(m.flags ?? [])].sort());
      expect([...flags.entries()].sort((a, b) => a[0] - b[0])).toEqual([
        [2, []],
        [3, ['\\Deleted']],
        [4, ['\\Seen']],
      ]);
    } finally {
      await person.logout();
    }
  });

  it('logs in with a password that needs a literal; lists and reads a folder with a non-ASCII name', async () => {
    const u = 'spec@mon.test';
    dc.deliver(u, encodeMailbox('Unerwünscht'), mail('hallo'));
    const r = await openImap(settings({ user: u, password: special }));
    try {
      expect((await r.folders()).map((f) => f.path)).toContain('Unerwünscht');
      const seen: ScannedMail[] = [];
      await scanFolders(r, ['Unerwünscht'], {}, (m) => void seen.push(m));
      expect(seen.map((m) => m.parsed.get('subject'))).toEqual([['hallo']]);
    } finally {
      await r.close();
    }
  });

  it('a server that hangs up mid-command is an imap-search error saying so; one that greets with BYE is imap-connect', async () => {
    // Broken servers Dovecot cannot play: one hangs up on the first command after LOGIN, one greets with BYE.
    const server = net.createServer((sock) => {
      sock.write('* OK [CAPABILITY IMAP4rev1] hi\r\n');
      sock.on('data', (d) => {
        const [tag, cmd] = d.toString().split(' ');
        if (cmd === 'LOGIN') sock.write(`${tag} OK [CAPABILITY IMAP4rev1] in\r\n`);
        else sock.destroy();
      });
    });
    const byeServer = net.createServer((sock) => sock.end('* BYE too busy\r\n'));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    await new Promise<void>((res) => byeServer.listen(0, '127.0.0.1', res));
    const port = (server.address() as net.AddressInfo).port;
    const byePort = (byeServer.address() as net.AddressInfo).port;
    try {
      const r = await openImap(settings({ port }));
      const e = await r.scan('INBOX', {}, () => {}).catch((x: unknown) => x);
      expect(e).toMatchObject({ stage: 'imap-search' });
      expect((e as Error).message).toContain('connection closed by the server');
      await r.close();
      const b = await openImap(settings({ port: byePort })).catch((x: unknown) => x);
      expect(b).toMatchObject({ stage: 'imap-connect' });
      expect((b as Error).message).toContain('too busy');
    } finally {
      server.close();
      byeServer.close();
    }
  });
});

describe('IMAP reader against a server without UIDPLUS and LITERAL+', () => {
  const u = 'plain@mon.test';
  let old: Dovecot;
  beforeAll(async () => {
    // Neither UIDPLUS nor LITERAL+ (a literal waits for the server's "+") nor LIST-EXTENDED.
    old = await startDovecot({ users: [{ user: u, password: special }], capabilities: 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE NAMESPACE CHILDREN SPECIAL-USE' });
  });
  afterAll(async () => {
    await old?.stop();
  });

  it('deletes with a plain EXPUNGE only when no other message is flagged \\Deleted; otherwise refuses with the reason and touches nothing', async () => {
    for (const s of ['probe one', 'other', 'probe two', 'probe three']) old.deliver(u, 'INBOX', mail(s));
    const r = await openImap({ host: '127.0.0.1', port: old.port, tls: 'none', user: u, password: special });
    const person = new ImapFlow({ host: '127.0.0.1', port: old.port, secure: false, auth: { user: u, pass: special }, logger: false });
    await person.connect();
    try {
      expect(person.capabilities.has('UIDPLUS')).toBe(false);
      expect(await r.junkFolder()).toBe('Junk');
      await r.delete('INBOX', [1]);
      expect(old.count(u, 'INBOX')).toBe(3);
      await person.mailboxOpen('INBOX');
      await person.messageFlagsAdd('2', ['\\Deleted'], { uid: true });
      const e = await r.delete('INBOX', [3]).catch((x: unknown) => x);
      expect(e).toMatchObject({ stage: 'imap-search' });
      expect((e as Error).message).toMatch(/UIDPLUS.*1 other message/);
      expect(old.count(u, 'INBOX')).toBe(3);
      await person.mailboxOpen('INBOX');
      const flags = new Map<number, string[]>();
      for await (const m of person.fetch('1:*', { uid: true, flags: true }, { uid: true })) flags.set(m.uid, [...(m.flags ?? [])]);
      expect(flags.get(2)).toEqual(['\\Deleted']);
      expect(flags.get(3)).toEqual([]);
    } finally {
      await person.logout();
      await r.close();
    }
  });
});
