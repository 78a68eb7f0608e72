/**
 * `h`, a tagged template for HTML like hono's `html`: every interpolated value is escaped unless it
 * is itself the output of `h`/`html`/JSX. Unlike `html` it allocates nothing per value, which is
 * what makes 2,000 overview rows cheap. Escapes & < > " ' (safe in text and quoted attributes).
 */
import { raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

const special = /[&<>"']/;
const specials = /[&<>"']/g;
const entity: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return special.test(s) ? s.replace(specials, (c) => entity[c]!) : s;
}

function part(v: unknown): string {
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined || typeof v === 'boolean') return '';
  if (Array.isArray(v)) {
    let out = '';
    for (const x of v) out += part(x);
    return out;
  }
  // Already-escaped output of h / html / JSX is kept as is; anything else is escaped as text.
  if (v instanceof String && (v as HtmlEscapedString).isEscaped === true) return v.toString();
  return escapeHtml(String(v));
}

export function h(strings: TemplateStringsArray, ...values: unknown[]): HtmlEscapedString {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1]!;
  return raw(out);
}
