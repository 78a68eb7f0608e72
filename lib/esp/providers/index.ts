/** The adapter for each configured provider: one entry per vendor, built from its config. */
import type { EspProviderConfig } from '../../config/esp.js';
import type { FetchFn } from '../http.js';
import type { ProviderAdapter } from '../types.js';
import { mailgunAdapter } from './mailgun.js';
import { mandrillAdapter } from './mandrill.js';
import { sendgridAdapter } from './sendgrid.js';
import { smtpAdapter } from './smtp.js';

export function adapterFor(p: EspProviderConfig, opts: { timeoutMs: number; fetch: FetchFn }): ProviderAdapter {
  switch (p.name) {
    case 'sendgrid':
      return sendgridAdapter(p, opts);
    case 'mailgun':
      return mailgunAdapter(p, opts);
    case 'mandrill':
      return mandrillAdapter(p, opts);
    case 'smtp':
      return smtpAdapter(p, opts);
  }
}
