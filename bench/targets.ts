/**
 * The targets of issue 13 as data, and their PASS/FAIL verdicts from one run's figures: a pure
 * function (test/unit/bench-targets.test.ts), no I/O. A figure that was not measured (a server that
 * did not run, a section left out, a failed request) makes its target `n/a`, never PASS or FAIL.
 *
 * `fs` and `git` are gitdav's folder and git backends as the run started them (a worker per CPU by
 * default); `nginx`, `apache` and `radicale` the peers in the same run.
 */

export type Who = 'fs' | 'git' | 'nginx' | 'apache' | 'radicale';

/** Rates (higher is better) and times/sizes (lower is better), as `Figures` holds them. */
export const HIGHER_IS_BETTER = ['get1', 'get100', 'propfindProps', 'propfindAllprop', 'bigPaged'] as const;
export const LOWER_IS_BETTER = [
  'oneProps',
  'oneAllprop',
  'bigTtfb',
  'bigTotal',
  'bigRss',
  'idleRss',
  'webdavPeakRss',
  'calUploadRss',
  'calQuery',
  'calMultiget',
  'calSync',
  'calRestart',
] as const;
export type Metric = (typeof HIGHER_IS_BETTER)[number] | (typeof LOWER_IS_BETTER)[number];

/** One run's figures: metric → server → value (req/s, MB/s, ms, MB; bigPaged 1 = paged, 0 = not). */
export type Figures = Partial<Record<Metric, Partial<Record<Who, number>>>>;

/**
 * The figures of a section's rows: for each (metric, row), each server's value under the name the
 * targets know it by (`peers`: a row's cell name → fs, git, nginx, …).
 */
export function figuresOf<P extends string>(rows: [Metric, { cells: Partial<Record<P, { value?: number }>> }][], peers: [P, Who][]): Figures {
  const figures: Figures = {};
  for (const [metric, row] of rows) {
    for (const [peer, who] of peers) {
      const v = row.cells[peer]?.value;
      if (v !== undefined) (figures[metric] ??= {})[who] = v;
    }
  }
  return figures;
}

export interface Target {
  /** What the issue asks, in words. */
  text: string;
  metric: Metric;
  who: 'fs' | 'git';
  /**
   * Absent: the figure itself is compared with `bound`. Present: the ratio to that peer's figure,
   * oriented so that above 1× is always better (A ÷ B for rates, B ÷ A for times), must reach `bound`.
   */
  vs?: Who;
  /** `<` for an absolute upper bound, `<=`/`>=` inclusive bounds. Ratios always use `>=`. */
  op: '<' | '<=' | '>=';
  bound: number;
  unit: string;
}

export type Verdict = 'PASS' | 'FAIL' | 'n/a';

export interface TargetResult {
  target: Target;
  verdict: Verdict;
  /** The compared quantity (the figure, or the ratio); undefined when n/a. */
  actual?: number;
  /** Human-readable: figures, ratio and bound. */
  detail: string;
}

const BOTH = ['fs', 'git'] as const;
const NAME: Record<Who, string> = { fs: 'gitdav fs', git: 'gitdav git', nginx: 'nginx', apache: 'Apache', radicale: 'Radicale' };

function each(f: (who: 'fs' | 'git') => Target[]): Target[] {
  return BOTH.flatMap(f);
}

/** Issue 13's targets, in the order the issue lists them. */
export const TARGETS: Target[] = [
  { text: 'GET 1 MiB req/s ≥ 1.0× nginx', metric: 'get1', who: 'fs', vs: 'nginx', op: '>=', bound: 1.0, unit: 'req/s' },
  { text: 'GET 1 MiB req/s ≥ 0.8× nginx', metric: 'get1', who: 'git', vs: 'nginx', op: '>=', bound: 0.8, unit: 'req/s' },
  { text: 'GET 100 MiB MB/s ≥ 0.9× nginx', metric: 'get100', who: 'fs', vs: 'nginx', op: '>=', bound: 0.9, unit: 'MB/s' },
  { text: 'GET 100 MiB MB/s ≥ 0.7× nginx', metric: 'get100', who: 'git', vs: 'nginx', op: '>=', bound: 0.7, unit: 'MB/s' },
  ...each((who) => [
    { text: 'PROPFIND Depth 1, 1,000 files, bench props: req/s ≥ 2× Apache', metric: 'propfindProps', who, vs: 'apache', op: '>=', bound: 2, unit: 'req/s' },
    { text: 'PROPFIND Depth 1, 1,000 files, allprop: req/s ≥ 2× Apache', metric: 'propfindAllprop', who, vs: 'apache', op: '>=', bound: 2, unit: 'req/s' },
    { text: 'one PROPFIND Depth 1 (bench props) alone no slower than Apache', metric: 'oneProps', who, vs: 'apache', op: '>=', bound: 1, unit: 'ms' },
    { text: 'one PROPFIND Depth 1 (allprop) alone no slower than Apache', metric: 'oneAllprop', who, vs: 'apache', op: '>=', bound: 1, unit: 'ms' },
  ]),
  ...each((who) => [
    { text: '100,000 files, allprop PROPFIND Depth 1: first byte at once (< 1 s)', metric: 'bigTtfb', who, op: '<', bound: 1000, unit: 'ms' },
    { text: '100,000 files, allprop PROPFIND Depth 1: complete < 3 s', metric: 'bigTotal', who, op: '<', bound: 3000, unit: 'ms' },
    { text: '100,000 files: peak RSS per process < 150 MB', metric: 'bigRss', who, op: '<', bound: 150, unit: 'MB' },
    { text: '100,000 files: browser listing (GET) is paged', metric: 'bigPaged', who, op: '>=', bound: 1, unit: '' },
  ]),
  ...each((who) => [
    { text: 'idle RSS per process (supervisor and each worker) < 50 MB', metric: 'idleRss', who, op: '<', bound: 50, unit: 'MB' },
    { text: 'peak RSS per process during the whole WebDAV bench < 100 MB', metric: 'webdavPeakRss', who, op: '<', bound: 100, unit: 'MB' },
    { text: 'peak RSS per process during the 10,000-event CalDAV upload < 250 MB', metric: 'calUploadRss', who, op: '<', bound: 250, unit: 'MB' },
  ]),
  ...each((who) => [
    { text: 'CalDAV 10,000 events: one-month calendar-query p50 < 20 ms', metric: 'calQuery', who, op: '<', bound: 20, unit: 'ms' },
    { text: 'CalDAV 10,000 events: one-month calendar-query ≥ 10× as fast as Radicale', metric: 'calQuery', who, vs: 'radicale', op: '>=', bound: 10, unit: 'ms' },
    { text: 'CalDAV 10,000 events: calendar-multiget of 100 p50 < 10 ms', metric: 'calMultiget', who, op: '<', bound: 10, unit: 'ms' },
    { text: 'CalDAV 10,000 events: sync-collection after one change p50 < 20 ms', metric: 'calSync', who, op: '<', bound: 20, unit: 'ms' },
    { text: 'CalDAV 10,000 events: first calendar-query after a restart ≤ Radicale', metric: 'calRestart', who, vs: 'radicale', op: '>=', bound: 1, unit: 'ms' },
  ]),
];

const lowerIsBetter = (m: Metric) => (LOWER_IS_BETTER as readonly string[]).includes(m);
const usable = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

function num(x: number, unit: string): string {
  if (unit === '') return x >= 1 ? 'yes' : 'no';
  const digits = Math.abs(x) >= 100 ? 0 : 1;
  return `${x.toFixed(digits)} ${unit}`;
}

function compare(actual: number, op: Target['op'], bound: number): boolean {
  return op === '<' ? actual < bound : op === '<=' ? actual <= bound : actual >= bound;
}

export function evaluateTarget(t: Target, f: Figures): TargetResult {
  const mine = f[t.metric]?.[t.who];
  if (!t.vs) {
    if (!usable(mine)) return { target: t, verdict: 'n/a', detail: `${NAME[t.who]}: not measured` };
    const pass = compare(mine, t.op, t.bound);
    const want = t.unit === '' ? num(t.bound, t.unit) : `${t.op} ${num(t.bound, t.unit)}`;
    return { target: t, verdict: pass ? 'PASS' : 'FAIL', actual: mine, detail: `${NAME[t.who]} ${num(mine, t.unit)} (want ${want})` };
  }
  const theirs = f[t.metric]?.[t.vs];
  if (!usable(mine) || !usable(theirs)) {
    const what = [!usable(mine) ? NAME[t.who] : '', !usable(theirs) ? NAME[t.vs] : ''].filter(Boolean).join(' and ');
    return { target: t, verdict: 'n/a', detail: `${what}: not measured` };
  }
  // Oriented so that above 1× is better: A ÷ B for rates, B ÷ A for times.
  const lower = lowerIsBetter(t.metric);
  const [num0, den] = lower ? [theirs, mine] : [mine, theirs];
  if (den === 0) return { target: t, verdict: 'n/a', detail: `${NAME[lower ? t.who : t.vs]} measured 0 ${t.unit}` };
  const r = num0 / den;
  const pass = compare(r, '>=', t.bound);
  const how = lower ? `${NAME[t.vs]} ${num(theirs, t.unit)} ÷ ${NAME[t.who]} ${num(mine, t.unit)}` : `${NAME[t.who]} ${num(mine, t.unit)} ÷ ${NAME[t.vs]} ${num(theirs, t.unit)}`;
  return { target: t, verdict: pass ? 'PASS' : 'FAIL', actual: r, detail: `${how} = ${r.toFixed(2)}× (want ≥ ${t.bound}×)` };
}

export function evaluateTargets(f: Figures, targets: Target[] = TARGETS): TargetResult[] {
  return targets.map((t) => evaluateTarget(t, f));
}

export function summarise(results: TargetResult[]): Record<Verdict, number> {
  const count: Record<Verdict, number> = { PASS: 0, FAIL: 0, 'n/a': 0 };
  for (const r of results) count[r.verdict]++;
  return count;
}

/** The targets section: one line per target, then the counts. */
export function renderTargets(results: TargetResult[]): string[] {
  const c = summarise(results);
  return [
    ...results.map((r) => `- ${r.verdict.padEnd(4)} ${r.target.who === 'fs' ? 'fs ' : 'git'} ${r.target.text}: ${r.detail}`),
    '',
    `targets: ${c.PASS} PASS, ${c.FAIL} FAIL, ${c['n/a']} n/a (of ${results.length})`,
  ];
}
