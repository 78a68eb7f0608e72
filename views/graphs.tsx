/**
 * The graphs page: the original's column chart of sent / bounced / deferred / expired / fbl per
 * graph domain for one day (Highcharts, served locally), with the same numbers as a table.
 */
import type { CounterType } from '../lib/keys.js';
import { Layout } from './layout.js';

/** The day's delivery counters per graph domain (built by web/viewmodel/graphs.ts). */
export interface CountersModel {
  /** YYYY-MM-DD shown and in the date picker; YYYYMMDD in Redis keys. */
  day: string;
  prev: string;
  next: string;
  domains: string[];
  series: { name: CounterType; data: number[] }[];
  total: number;
}

export function GraphsPage(p: { user: string; m: CountersModel }) {
  const { m } = p;
  return (
    <Layout title="Graphs" user={p.user} active="graphs" scripts={['/assets/highcharts.js', '/assets/charts.js']}>
      <form class="tools" method="get" action="/graphs">
        <a href={`/graphs?day=${m.prev}`}>← {m.prev}</a>
        <label>
          Day <input type="date" name="day" value={m.day} />
        </label>
        <button type="submit">Show</button>
        <a href={`/graphs?day=${m.next}`}>{m.next} →</a>
      </form>
      {m.domains.length === 0 ? (
        <p class="notice">
          No <code>graph_domains</code> configured: list the recipient domains to chart (gmail.com, yahoo.com, …) in mtarep.yml.
        </p>
      ) : (
        <>
          {m.total === 0 && (
            <p class="notice">
              No counters for {m.day}. They are the <code>&lt;id&gt;:&lt;YYYYMMDD&gt;:&lt;type&gt;</code> hashes written by the maillog
              reader or your own log shipper.
            </p>
          )}
          <div id="counters-chart" class="chart" data-chart="counters" data-day={m.day} data-categories={JSON.stringify(m.domains)} data-series={JSON.stringify(m.series)}></div>
          <table class="grid numbers">
            <thead>
              <tr>
                <th>Domain</th>
                {m.series.map((s) => (
                  <th class="num">{s.name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {m.domains.map((d, i) => (
                <tr>
                  <td>{d}</td>
                  {m.series.map((s) => (
                    <td class="num">{s.data[i]}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Layout>
  );
}
