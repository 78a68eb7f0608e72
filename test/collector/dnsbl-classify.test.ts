import { describe, expect, it } from 'vitest';
import { classifyAnswer, classifyFailure, removalLinkFor, ruleFor, selfTestHealth, selfTested } from '../../lib/checks/dnsbl-classify.js';
import { configFrom } from '../helpers/collector-config.js';

const zone = (z: unknown) => configFrom({ rbls: [z] }).zones[0]!;
const zen = zone('zen.spamhaus.org');
const generic = zone('bl.unknown-zone.test');

describe('code tables', () => {
  it('picks the most specific rule first', () => {
    const z = zone({ zone: 'x.example.test', codes: { '127.0.0.0/8': 'broad', '127.0.0.5': 'exact', '127.0.0.0/24': 'mid' } });
    expect(ruleFor('127.0.0.5', z.codes)?.label).toBe('exact');
    expect(ruleFor('127.0.0.6', z.codes)?.label).toBe('mid');
    expect(ruleFor('127.1.0.6', z.codes)?.label).toBe('broad');
    expect(ruleFor('10.0.0.1', z.codes)).toBeUndefined();
  });

  it('classifies Spamhaus ZEN codes, errors and odd answers', () => {
    expect(classifyAnswer(['127.0.0.2', '127.0.0.11'], zen.codes)).toEqual({
      state: 'listed',
      codes: ['127.0.0.2', '127.0.0.11'],
      labels: ['SBL', 'PBL (Spamhaus maintained)'],
    });
    expect(classifyAnswer(['127.255.255.255'], zen.codes)).toMatchObject({ state: 'error', reason: expect.stringMatching(/too many queries/) });
    expect(classifyAnswer(['127.255.255.252'], zen.codes).state).toBe('error');
    expect(classifyAnswer(['127.0.0.8'], zen.codes)).toMatchObject({ state: 'unknown', labels: [] });
    expect(classifyAnswer(['192.0.2.1'], zen.codes)).toMatchObject({ state: 'unknown', reason: expect.stringMatching(/outside 127/) });
    // The most cautious state wins over a listing.
    expect(classifyAnswer(['127.0.0.2', '127.255.255.254'], zen.codes).state).toBe('error');
    expect(classifyAnswer([], zen.codes).state).toBe('not_listed');
  });

  it('uses the generic RFC 5782 table for unknown zones: 127.0.0.1 is not a listing', () => {
    expect(classifyAnswer(['127.0.0.2'], generic.codes).state).toBe('listed');
    expect(classifyAnswer(['127.0.0.1'], generic.codes).state).toBe('unknown');
    expect(classifyAnswer(['127.0.1.2'], generic.codes).state).toBe('unknown');
  });

  it('reads a reputation scale: bad is a listing, neutral and good are not', () => {
    const rep = zone('rep.mailspike.net');
    expect(classifyAnswer(['127.0.0.10'], rep.codes)).toMatchObject({ state: 'listed', labels: ['bad reputation (H5)'] });
    expect(classifyAnswer(['127.0.0.18'], rep.codes).state).toBe('not_listed');
  });

  it('lets config override a default code', () => {
    const z = zone({ zone: 'zen.spamhaus.org', codes: { '127.0.0.10': 'not_listed' } });
    expect(classifyAnswer(['127.0.0.10'], z.codes).state).toBe('not_listed');
    expect(classifyAnswer(['127.0.0.2'], z.codes).state).toBe('listed');
  });
});

describe('lookup failures', () => {
  it('only NXDOMAIN and NODATA are not_listed', () => {
    expect(classifyFailure('NXDOMAIN', 'x').state).toBe('not_listed');
    expect(classifyFailure('NODATA', 'x').state).toBe('not_listed');
    // One shared verdict for every "no record" (most answers of a run), frozen so no caller can change it.
    expect(classifyFailure('NXDOMAIN', 'a')).toBe(classifyFailure('NODATA', 'b'));
    expect(Object.isFrozen(classifyFailure('NXDOMAIN', 'a'))).toBe(true);
    expect(Object.isFrozen(classifyFailure('NXDOMAIN', 'a').codes)).toBe(true);
    for (const k of ['TIMEOUT', 'SERVFAIL', 'REFUSED', 'NETWORK', 'OTHER'] as const) {
      expect(classifyFailure(k, `why ${k}`)).toEqual({ state: 'error', codes: [], labels: [], reason: `why ${k}` });
    }
  });
});

describe('self-test', () => {
  const listed = { answers: ['127.0.0.2'] };
  const nx = { kind: 'NXDOMAIN' as const, message: 'nx' };
  it('is healthy when 127.0.0.2 is listed and 127.0.0.1 is not', () => {
    expect(selfTestHealth(listed, nx, zen, 4)).toEqual({ healthy: true });
  });
  it('catches a zone that lists everything, nothing, errors, or does not answer', () => {
    expect(selfTestHealth(listed, listed, zen, 4)).toMatchObject({ healthy: false, reason: expect.stringMatching(/lists everything/) });
    expect(selfTestHealth(nx, nx, zen, 4)).toMatchObject({ healthy: false, reason: expect.stringMatching(/lists nothing/) });
    expect(selfTestHealth({ answers: ['127.255.255.254'] }, nx, zen, 4)).toMatchObject({ healthy: false, reason: expect.stringMatching(/public or open resolver/) });
    expect(selfTestHealth({ kind: 'TIMEOUT', message: 'timeout' }, nx, zen, 6)).toMatchObject({
      healthy: false,
      unreachable: true,
      reason: expect.stringMatching(/IPv6 self-test ::ffff:127.0.0.2 failed: timeout/),
    });
    expect(selfTestHealth(listed, { kind: 'SERVFAIL', message: 'sf' }, zen, 4)).toMatchObject({ healthy: false, unreachable: true });
  });
  it('accepts any known code of a reputation scale for the test point', () => {
    const rep = zone('rep.mailspike.net');
    expect(selfTestHealth({ answers: ['127.0.0.17'] }, nx, rep, 4).healthy).toBe(true);
    expect(selfTestHealth({ answers: ['127.0.0.17'] }, nx, zone({ zone: 'b.example.test', codes: { '127.0.0.17': 'not_listed' } }), 4).healthy).toBe(false);
  });
  it('accepts a reputation scale rating 127.0.0.1 as neutral or good, not as bad', () => {
    const rep = zone('rep.mailspike.net');
    expect(selfTestHealth({ answers: ['127.0.0.10'] }, { answers: ['127.0.0.14'] }, rep, 4).healthy).toBe(true);
    expect(selfTestHealth({ answers: ['127.0.0.10'] }, { answers: ['127.0.0.11'] }, rep, 4)).toMatchObject({ healthy: false, reason: expect.stringMatching(/lists everything/) });
    expect(selfTestHealth(listed, { answers: ['127.255.255.254'] }, zen, 4)).toMatchObject({ healthy: false, reason: expect.stringMatching(/127\.0\.0\.1 answered 127\.255\.255\.254: .*public or open resolver/) });
  });
  it('exempts score zones and zones with self_test: false', () => {
    expect(selfTested(zone('score.senderscore.com'))).toBe(false);
    expect(selfTested(zone({ zone: 'x.example.test', self_test: false }))).toBe(false);
    expect(selfTested(zen)).toBe(true);
  });
});

describe('removal links', () => {
  it('fills the IP in where the link expects it', () => {
    expect(removalLinkFor('https://a.test/lookup?ip=', '192.0.2.1')).toBe('https://a.test/lookup?ip=192.0.2.1');
    expect(removalLinkFor('https://a.test/{ip}/x', '2001:db8::1')).toBe('https://a.test/2001%3Adb8%3A%3A1/x');
    expect(removalLinkFor('https://a.test/remove', '192.0.2.1')).toBe('https://a.test/remove');
    expect(removalLinkFor(undefined, '192.0.2.1')).toBeUndefined();
  });
});
