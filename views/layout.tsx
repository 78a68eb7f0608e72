/**
 * The page frame every dashboard page shares: header with navigation and the logged-in user, the one
 * stylesheet and the page's scripts (files only: the CSP allows no inline script). hono/jsx escapes
 * every interpolated value.
 */
import type { Child } from 'hono/jsx';

export interface LayoutProps {
  title: string;
  user: string;
  active: 'overview' | 'delivery' | 'graphs' | 'esp' | 'events' | 'help' | 'version' | 'host' | 'issue' | 'error';
  scripts?: string[];
  children?: Child;
}

const nav: [LayoutProps['active'], string, string][] = [
  ['overview', '/', 'Overview'],
  ['delivery', '/delivery', 'Delivery'],
  ['graphs', '/graphs', 'Graphs'],
  ['esp', '/esp', 'ESP'],
  ['events', '/events', 'Events'],
  ['help', '/help', 'Help'],
  ['version', '/version', 'Version'],
];

export function Layout(p: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{p.title} · mtarep</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/app.css" />
        {(p.scripts ?? []).map((s) => (
          <script src={s} defer></script>
        ))}
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">
            mtarep
          </a>
          <nav>
            {nav.map(([key, href, label]) => (
              <a href={href} class={key === p.active ? 'active' : undefined}>
                {label}
              </a>
            ))}
          </nav>
          <span class="user" title="logged in as">
            {p.user}
          </span>
        </header>
        <main>{p.children}</main>
      </body>
    </html>
  );
}

/** A JSX tree as a complete HTML document. */
export function page(node: unknown): string {
  return '<!doctype html>' + String(node);
}
