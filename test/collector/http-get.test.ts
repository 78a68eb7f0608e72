/** The collector's bounded HTTP GET against a real loopback HTTP server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getText, HttpGetError } from '../../lib/net/http-get.js';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.js';

let http: TestHttpServer;
beforeAll(async () => {
  http = await startHttpServer({
    // Length announced: refused before reading.
    '/big': { body: 'x'.repeat(5000), headers: { 'content-length': '5000' } },
    // No length announced: the limit is found while reading.
    '/big-chunked': { body: 'x'.repeat(5000), headers: { 'transfer-encoding': 'chunked' } },
    '/fits': { body: '\uFEFF{"a":"é"}' },
  });
});
afterAll(async () => {
  await http.close();
});

describe('getText', () => {
  it.each(['big', 'big-chunked'])('refuses a body larger than maxBytes (%s), naming the source, not the URL', async (path) => {
    const err = await getText(fetch, `${http.url}${path}?key=s3cret`, { timeoutMs: 30_000, describe: 'SNDS data.aspx', maxBytes: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpGetError);
    expect(err).toMatchObject({ kind: 'size', message: 'SNDS data.aspx: answer larger than 1000 bytes' });
  });

  it('decodes a body within the limit as UTF-8, without a byte-order mark', async () => {
    const res = await getText(fetch, `${http.url}fits`, { timeoutMs: 30_000, describe: 'x', maxBytes: 1000 });
    expect(res.body).toBe('{"a":"é"}');
    expect(JSON.parse(res.body)).toEqual({ a: 'é' });
  });
});
