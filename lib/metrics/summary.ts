/**
 * `gitdav status`'s screen: two scrapes of /metrics (a second apart) made into rates, quantiles and
 * totals, like Apache's server-status. Pure: samples in, lines out.
 */
import type { Sample } from './text-format.js';

export interface Scrape {
  /** When it was taken, ms since the epoch (the client's clock). */
  at: number;
  samples: Sample[];
}

type Labels = Record<string, string>;

function total(s: Sample[], name: string, where: (l: Labels) => boolean = () => true): number {
  let n = 0;
  for (const x of s) if (x.name === name && where(x.labels)) n += x.value;
  return n;
}

function has(s: Sample[], name: string): boolean {
  return s.some((x) => x.name === name);
}

/** A histogram's cumulative buckets, every label set added up: [upper bound, count], by bound. */
function buckets(s: Sample[], name: string): Array<[number, number]> {
  const byLe = new Map<number, number>();
  for (const x of s) {
    if (x.name !== `${name}_bucket`) continue;
    const le = x.labels.le === '+Inf' ? Infinity : Number(x.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + x.value);
  }
  return [...byLe].sort((a, b) => a[0] - b[0]);
}

/** The q-quantile as Prometheus' histogram_quantile estimates it (linear within a bucket); undefined without observations. */
export function quantile(q: number, cumulative: Array<[number, number]>): number | undefined {
  const count = cumulative.at(-1)?.[1] ?? 0;
  if (count <= 0) return undefined;
  const rank = q * count;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of cumulative) {
    if (c >= rank) {
      if (le === Infinity) return prevLe; // beyond the last bound: the bound is all that is known
      return c === prevCount ? le : prevLe + (le - prevLe) * ((rank - prevCount) / (c - prevCount));
    }
    [prevLe, prevCount] = [le, c];
  }
  return prevLe;
}

function minus(a: Array<[number, number]>, b: Array<[number, number]>): Array<[number, number]> {
  const before = new Map(b);
  return a.map(([le, c]) => [le, Math.max(0, c - (before.get(le) ?? 0))]);
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined) return '–';
  if (s < 1) return `${s * 1000 < 10 ? (s * 1000).toFixed(1) : Math.round(s * 1000)} ms`;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) [n, i] = [n / 1024, i + 1];
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((x) => String(x).padStart(2, '0')).join(':');
  return d ? `${d}d ${hms}` : hms;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const plural = (n: number, what: string) => `${int(n)} ${what}${Math.round(n) === 1 ? '' : 's'}`;
const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

/** The screen: one line per subject, labels in a column; `before` may be the same scrape (then no "now" rates). */
export function renderStatus(source: string, before: Scrape, now: Scrape): string {
  const a = before.samples;
  const b = now.samples;
  const span = (now.at - before.at) / 1000;
  const perSecond = (name: string, where?: (l: Labels) => boolean) => (span > 0 ? Math.max(0, total(b, name, where) - total(a, name, where)) / span : undefined);
  const started = total(b, 'process_start_time_seconds');
  const uptime = started ? now.at / 1000 - started : undefined;
  const sinceStart = (n: number) => (uptime && uptime > 0 ? n / uptime : 0);
  const lines: Array<[string, string]> = [];
  const add = (label: string, text: string) => lines.push([label, text]);

  add('uptime', uptime === undefined ? '–' : `${formatUptime(uptime)} (since ${new Date(started * 1000).toISOString().replace(/\.\d+Z$/, 'Z')})`);
  const requests = total(b, 'gitdav_http_requests_total');
  const reqNow = perSecond('gitdav_http_requests_total');
  add('requests', `${int(requests)} in all; ${reqNow === undefined ? '' : `${rate(reqNow)}/s now, `}${rate(sinceStart(requests))}/s since start`);
  const classes = ['1xx', '2xx', '3xx', '4xx', '5xx'].map((c) => [c, total(b, 'gitdav_http_requests_total', (l) => l.class === c)] as const).filter(([, n]) => n > 0);
  add('  by status', classes.length ? classes.map(([c, n]) => `${c} ${int(n)}`).join('   ') : '–');
  add('  in flight', `${int(total(b, 'gitdav_http_requests_in_flight'))} requests, ${int(total(b, 'gitdav_http_active_uploads'))} uploads receiving`);
  const latency = buckets(b, 'gitdav_http_request_duration_seconds');
  add('latency', `p50 ${formatSeconds(quantile(0.5, latency))}, p99 ${formatSeconds(quantile(0.99, latency))} since start`);
  const recent = minus(latency, buckets(a, 'gitdav_http_request_duration_seconds'));
  if (span > 0 && (recent.at(-1)?.[1] ?? 0) > 0) add('', `p50 ${formatSeconds(quantile(0.5, recent))}, p99 ${formatSeconds(quantile(0.99, recent))} in the last ${span.toFixed(1)} s`);
  add('connections', `${int(total(b, 'gitdav_http_open_connections'))} open`);
  if (has(b, 'gitdav_workers')) for (const [label, text] of workerLines(b, now.at / 1000)) add(label, text);
  const inNow = perSecond('gitdav_http_received_bytes_total');
  const outNow = perSecond('gitdav_http_sent_bytes_total');
  add('traffic', `${formatBytes(total(b, 'gitdav_http_received_bytes_total'))} in, ${formatBytes(total(b, 'gitdav_http_sent_bytes_total'))} out` + (inNow === undefined || outNow === undefined ? '' : `; now ${formatBytes(inNow)}/s in, ${formatBytes(outNow)}/s out`));
  if (has(b, 'gitdav_git_commits_total')) {
    const commits = total(b, 'gitdav_git_commits_total');
    const ops = total(b, 'gitdav_git_commit_operations_sum');
    const commitsNow = perSecond('gitdav_git_commits_total');
    if (!commits) add('commits', 'none yet (only the git backend commits)');
    else add('commits', `${int(commits)} in all; ${commitsNow === undefined ? '' : `${rate(commitsNow)}/s now, `}${rate(sinceStart(commits))}/s since start; ${(ops / commits).toFixed(1)} changes a commit`);
  }
  add('locks held', int(total(b, 'gitdav_locks_held')));
  const failures = b.filter((x) => x.name === 'gitdav_login_failures_total' && x.value > 0).map((x) => `${x.labels.reason} ${int(x.value)}`);
  add('login failures', failures.length ? failures.join('   ') : 'none');
  const every = has(b, 'gitdav_workers') ? ' (supervisor and workers)' : '';
  add('memory', `RSS ${formatBytes(total(b, 'process_resident_memory_bytes'))}, heap ${formatBytes(total(b, 'nodejs_heap_size_used_bytes'))} used${every}`);
  const delay = (q: string) => formatSeconds(b.find((x) => x.name === 'gitdav_eventloop_delay_seconds' && x.labels.quantile === q)?.value);
  add('event loop', `delay p50 ${delay('0.5')}, p99 ${delay('0.99')}, max ${delay('1')} (last 10 s window${every ? ', the worst worker' : ''})`);
  const caches = [...new Set(b.filter((x) => x.name === 'gitdav_cache_hits_total').map((x) => x.labels.cache!))]
    .map((cache) => {
      const hits = total(b, 'gitdav_cache_hits_total', (l) => l.cache === cache);
      const lookups = hits + total(b, 'gitdav_cache_misses_total', (l) => l.cache === cache);
      return { cache, hits, lookups };
    })
    .filter((c) => c.lookups > 0);
  // Several to a line, so the screen stays narrow.
  const items = caches.map((c) => `${c.cache} ${Math.floor((100 * c.hits) / c.lookups)}% of ${int(c.lookups)}`);
  if (!items.length) add('cache hits', 'no lookups yet');
  for (let i = 0; i < items.length; i += 3) add(i === 0 ? 'cache hits' : '', items.slice(i, i + 3).join(', '));

  const width = Math.max(...lines.map(([l]) => l.length)) + 2;
  const title = `gitdav status: ${source} at ${new Date(now.at).toISOString().replace(/\.\d+Z$/, 'Z')}`;
  return [title, ...lines.map(([l, t]) => `${l.padEnd(width)}${t}`)].join('\n') + '\n';
}

/**
 * With workers (a supervisor's scrape, lib/metrics/cluster.ts): how many, how they ended, reloads,
 * then a row per worker (by its `worker` label) and one for the supervisor.
 */
function workerLines(b: Sample[], now: number): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  const byHow = (name: string, label: string) =>
    b.filter((x) => x.name === name && x.value > 0).map((x) => `${x.labels[label]} ${int(x.value)}`).join(', ') || 'none';
  const running = total(b, 'gitdav_workers');
  const answered = total(b, 'gitdav_workers_scraped');
  add('workers', `${int(running)} running${answered < running ? `, ${int(answered)} answered` : ''}; ended: ${byHow('gitdav_worker_exits_total', 'how')}; reloads: ${byHow('gitdav_reloads_total', 'result')}`);
  const ids = [...new Set(b.filter((x) => x.name === 'gitdav_worker_scraped').map((x) => x.labels.worker!))].sort((x, y) => Number(x) - Number(y) || x.localeCompare(y));
  for (const id of ids) {
    const of = (name: string, more: Labels = {}) =>
      b.find((x) => x.name === name && x.labels.worker === id && Object.entries(more).every(([k, v]) => x.labels[k] === v))?.value;
    const started = of('gitdav_worker_start_time_seconds');
    const up = started === undefined ? '' : `up ${formatUptime(now - started)}, `;
    if (of('gitdav_worker_scraped') !== 1) {
      add(`  worker ${id}`, `${up}not answering (starting, stuck or leaving; its last counts stay in the totals)`);
      continue;
    }
    const rss = of('gitdav_worker_resident_memory_bytes');
    const p99 = of('gitdav_worker_eventloop_delay_seconds', { quantile: '0.99' });
    add(`  worker ${id}`, `${up}${plural(of('gitdav_worker_open_connections') ?? 0, 'connection')}, ${int(of('gitdav_worker_requests_in_flight') ?? 0)} in flight, RSS ${rss === undefined ? '–' : formatBytes(rss)}, loop p99 ${formatSeconds(p99)}`);
  }
  const own = b.find((x) => x.name === 'gitdav_supervisor_resident_memory_bytes')?.value;
  if (own !== undefined) add('  supervisor', `RSS ${formatBytes(own)}`);
  return lines;

  function add(label: string, text: string) {
    lines.push([label, text]);
  }
}
