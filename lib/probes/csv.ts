/**
 * mxtrax's domain CSV: `Customer.friendlyname,Customer.codename,MailDomain.testuser,MailDomain.domainname`,
 * the header row optional. Pure: text in, valid rows and invalid lines (number and reason) out. Each
 * physical line is parsed on its own (csv-parse), so one broken line never hides the others.
 */
import { parse } from 'csv-parse/sync';
import { isAddress } from '../net/names.js';

export const csvHeader = ['Customer.friendlyname', 'Customer.codename', 'MailDomain.testuser', 'MailDomain.domainname'];

export interface CsvDomainRow {
  line: number;
  customerName: string;
  customer: string;
  address: string;
  domain: string;
}

export interface CsvResult {
  rows: CsvDomainRow[];
  invalid: { line: number; reason: string }[];
  /** Non-blank lines other than the header: rows + invalid. */
  dataLines: number;
  header: boolean;
}

/** A domain name as mxtrax's validation accepted it (lower case, dotted, LDH labels). */
export function isDomainName(d: string): boolean {
  return /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/.test(d);
}

/** Check one entry; the address may be a local part (mxtrax's testuser) or a whole address at the domain. */
export function checkEntry(
  customerName: string,
  customer: string,
  testuser: string,
  domainIn: string,
): { ok: true; address: string; domain: string } | { ok: false; reason: string } {
  const domain = domainIn.trim().toLowerCase().replace(/\.$/, '');
  if (!customer.trim()) return { ok: false, reason: 'empty customer code (column 2)' };
  if (!isDomainName(domain)) return { ok: false, reason: `malformed domain "${domainIn}"` };
  const user = testuser.trim();
  if (!user) return { ok: false, reason: 'empty test user (column 3)' };
  const address = (user.includes('@') ? user : `${user}@${domain}`).toLowerCase();
  if (!isAddress(address)) return { ok: false, reason: `malformed address "${address}"` };
  if (address.slice(address.lastIndexOf('@') + 1) !== domain) {
    return { ok: false, reason: `address ${address} is not at domain ${domain}` };
  }
  void customerName;
  return { ok: true, address, domain };
}

export function parseDomainsCsv(text: string): CsvResult {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const out: CsvResult = { rows: [], invalid: [], dataLines: 0, header: false };
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let fields: string[];
    try {
      const rec = parse(raw, { relax_column_count: true, trim: true }) as string[][];
      fields = rec[0] ?? [];
    } catch (e) {
      out.dataLines++;
      out.invalid.push({ line, reason: `not valid CSV: ${(e as Error).message.replace(/^Invalid Record Length: |\s*\(.*$/g, '').split('\n')[0]}` });
      return;
    }
    if (out.dataLines === 0 && !out.header && fields.map((f) => f.toLowerCase()).join(',') === csvHeader.join(',').toLowerCase()) {
      out.header = true;
      return;
    }
    out.dataLines++;
    if (fields.length !== 4) {
      out.invalid.push({ line, reason: `wrong column count: ${fields.length} instead of 4 (${csvHeader.join(',')})` });
      return;
    }
    const [customerName, customer, testuser, domain] = fields as [string, string, string, string];
    const c = checkEntry(customerName, customer, testuser, domain);
    if (!c.ok) {
      out.invalid.push({ line, reason: c.reason });
      return;
    }
    out.rows.push({ line, customerName: customerName.trim(), customer: customer.trim(), address: c.address, domain: c.domain });
  });
  return out;
}
