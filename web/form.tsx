/**
 * A form POSTed from a dashboard page: its fields once the CSRF token in it is the user's, or the
 * "Form expired" page (403) to answer with. Every form route starts with it.
 *
 *   const form = await checkedForm(c, w);
 *   if (form instanceof Response) return form;
 */
import type { Context } from 'hono';
import { ErrorPage } from '../views/error.js';
import { page } from '../views/layout.js';
import type { WebContext } from './context.js';
import type { WebEnv } from './env.js';

export async function checkedForm(c: Context<WebEnv>, w: WebContext): Promise<Record<string, string | File> | Response> {
  const user = c.get('user');
  const form = await c.req.parseBody();
  if (w.csrf.check(user, form['csrf'])) return form;
  return c.html(
    page(<ErrorPage user={user} status={403} title="Form expired" message="The form's security token is missing or wrong. Reload the page and try again." />),
    403,
  );
}
