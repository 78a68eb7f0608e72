/** The version page: mtarep's own version and its runtime, all local (no call to the internet). */
import { Layout } from './layout.js';

export function VersionPage(p: { user: string; version: string; node: string; redis: string }) {
  return (
    <Layout title="Version" user={p.user} active="version">
      <section class="prose">
        <h1>Version</h1>
        <dl class="facts">
          <dt>mtarep</dt>
          <dd class="mono">{p.version}</dd>
          <dt>Node.js</dt>
          <dd class="mono">{p.node}</dd>
          <dt>Redis</dt>
          <dd class="mono">{p.redis}</dd>
        </dl>
        <p class="muted">mtarep does not check for updates on its own; compare with the release notes of your source.</p>
      </section>
    </Layout>
  );
}
