/**
 * A form POSTed from a dashboard page: its fields once the body reads as a form and the CSRF token in
 * it is the user's; else the page to answer with: "Form could not be read" (400, or 415 for a body that
 * is not a form at all) or "Form expired" (403). Every form route starts with it, so no route reads a
 * body another way and none acts on a body it could not read.
 *
 *   const form = await checkedForm(c, w);
 *   if (form instanceof Response) return form;
 */
import type { Context } from 'hono';
import { ErrorPage } from '../views/error.js';
import { page } from '../views/layout.js';
import type { WebContext } from './context.js';
import type { WebEnv } from './env.js';

/** What a browser sends a form as (a page's forms use the first). */
const formTypes: readonly string[] = ['application/x-www-form-urlencoded', 'multipart/form-data'];

type Fields = Record<string, string | File>;

/** Why a body is not a form: the answer's status, what the page says, what the log says. */
interface Unreadable {
  unreadable: true;
  status: 400 | 415;
  message: string;
  reason: string;
}

/** The fields of the request's body, or why there are none. */
async function readForm(c: Context<WebEnv>): Promise<{ fields: Fields } | Unreadable> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!formTypes.includes(type)) {
    return {
      unreadable: true,
      status: 415,
      message: 'The request was not sent as a form (application/x-www-form-urlencoded or multipart/form-data). Nothing was done.',
      reason: type === '' ? 'no Content-Type' : `Content-Type ${type.slice(0, 100)}`,
    };
  }
  // Read before parsing, outside the try: a body over the limit or a connection lost on the way is
  // the app's error handler's (413, ...), not the client's form. hono caches the bytes for parseBody.
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength === 0) return { unreadable: true, status: 400, message: 'The request carried no form fields. Nothing was done.', reason: 'empty body' };
  try {
    return { fields: await c.req.parseBody() };
  } catch {
    // undici's formData() fails with a TypeError for any malformed body (a bad multipart boundary, a
    // part without headers, ...): the client's fault, said in one line, without a stack.
    return { unreadable: true, status: 400, message: `The form could not be read: the body is not valid ${type}. Nothing was done.`, reason: `malformed ${type}` };
  }
}

export async function checkedForm(c: Context<WebEnv>, w: WebContext): Promise<Fields | Response> {
  const user = c.get('user');
  const form = await readForm(c);
  if ('unreadable' in form) {
    w.log.warn('form refused: the body could not be read', { path: c.req.path, user, reason: form.reason });
    return c.html(
      page(<ErrorPage user={user} status={form.status} title="Form could not be read" message={form.message} hint="Reload the page and send the form again." />),
      form.status,
    );
  }
  if (w.csrf.check(user, form.fields['csrf'])) return form.fields;
  return c.html(
    page(<ErrorPage user={user} status={403} title="Form expired" message="The form's security token is missing or wrong. Reload the page and try again." />),
    403,
  );
}
