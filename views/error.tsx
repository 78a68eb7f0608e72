/** Error pages: Redis unavailable (503), not found (404), bad request. Messages never hold secrets. */
import { Layout } from './layout.js';

export function ErrorPage(p: { user: string; status: number; title: string; message: string; hint?: string }) {
  return (
    <Layout title={p.title} user={p.user} active="error">
      <section class="prose error-page">
        <h1>
          {p.status} · {p.title}
        </h1>
        <p>{p.message}</p>
        {p.hint !== undefined && <p class="muted">{p.hint}</p>}
        <p>
          <a href="/">Back to the overview</a>
        </p>
      </section>
    </Layout>
  );
}
