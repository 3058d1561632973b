/**
 * Results as rows of cells (one per server), printed as Markdown tables: each table picks its rows,
 * its server columns and the ratios it shows, so one set of measurements prints side by side twice.
 */
import { BENCH_WORKERS, type PeerName } from './peers.js';

export interface Cell {
  value?: number;
  note?: string;
}

export type TableId = 'issue' | 'peers' | 'git';

export interface Row {
  label: string;
  /** Digits after the point. */
  digits: number;
  /** The tables that print this row. */
  tables: TableId[];
  cells: Partial<Record<PeerName, Cell>>;
}

/** A section's row maker: each row it makes is added to `rows`, printed in `tables`. */
export function rowMaker(rows: Row[], tables: TableId[]): (label: string, digits?: number) => Row {
  return (label, digits = 0) => {
    const r: Row = { label, digits, tables, cells: {} };
    rows.push(r);
    return r;
  };
}

export interface TableSpec {
  columns: { peer: PeerName; header: string }[];
  ratios: { a: PeerName; b: PeerName; header: string }[];
}

export const COLUMN_HEADERS: Record<PeerName, string> = {
  git: 'gitdav git',
  baseline: 'git, commit/PUT',
  gitdav: 'gitdav fs',
  gitdavN: `gitdav fs ×${BENCH_WORKERS}`,
  gitN: `gitdav git ×${BENCH_WORKERS}`,
  nginx: 'nginx',
  apache: 'apache',
  floor: `node floor ×${BENCH_WORKERS}`,
  floorBest: `node best ×${BENCH_WORKERS}`,
};

export const TABLES: Record<TableId, TableSpec> = {
  // Issue 13's table: gitdav as started by default (a worker per CPU) against nginx and Apache.
  issue: {
    // The node floor columns (bench/node-floor.ts) are filled for the GET rows and RSS only: what Node
    // itself does with the same files, so the ratios to them say how much of the gap is gitdav's.
    columns: (['nginx', 'apache', 'floor', 'floorBest', 'gitdavN', 'gitN'] as const).map((peer) => ({ peer, header: COLUMN_HEADERS[peer] })),
    ratios: [
      { a: 'gitdavN', b: 'nginx', header: 'fs/nginx' },
      { a: 'gitdavN', b: 'apache', header: 'fs/Apache' },
      { a: 'gitN', b: 'nginx', header: 'git/nginx' },
      { a: 'gitN', b: 'apache', header: 'git/Apache' },
      { a: 'floorBest', b: 'nginx', header: 'best/nginx' },
      { a: 'gitdavN', b: 'floorBest', header: 'fs/best' },
      { a: 'gitN', b: 'floorBest', header: 'git/best' },
      { a: 'gitdavN', b: 'floor', header: 'fs/floor' },
    ],
  },
  peers: {
    columns: (['gitdav', 'gitdavN', 'nginx', 'apache'] as const).map((peer) => ({ peer, header: COLUMN_HEADERS[peer] })),
    ratios: [
      { a: 'gitdav', b: 'nginx', header: 'fs/nginx' },
      { a: 'gitdav', b: 'apache', header: 'fs/apache' },
      { a: 'gitdavN', b: 'gitdav', header: `fs×${BENCH_WORKERS}/fs` },
      { a: 'gitdavN', b: 'nginx', header: `fs×${BENCH_WORKERS}/nginx` },
      { a: 'gitdavN', b: 'apache', header: `fs×${BENCH_WORKERS}/apache` },
    ],
  },
  git: {
    columns: (['git', 'gitN', 'baseline', 'gitdav', 'nginx'] as const).map((peer) => ({ peer, header: COLUMN_HEADERS[peer] })),
    ratios: [
      { a: 'gitN', b: 'git', header: `git×${BENCH_WORKERS}/git` },
      { a: 'git', b: 'baseline', header: 'git/commit-per-PUT' },
      { a: 'git', b: 'gitdav', header: 'git/fs' },
      { a: 'git', b: 'nginx', header: 'git/nginx' },
    ],
  },
};

export function fmt(c: Cell | undefined, digits: number, notMeasured = 'n/a'): string {
  if (!c) return notMeasured;
  if (c.value === undefined) return c.note ?? 'n/a';
  return c.value.toFixed(digits) + (c.note ? ` (${c.note})` : '');
}

export function ratio(a: Cell | undefined, b: Cell | undefined): string {
  if (a?.value === undefined || b?.value === undefined || b.value === 0) return 'n/a';
  return `${(a.value / b.value).toFixed(2)}×`;
}

/** Whether any server of this table ran (BENCH_PEERS may leave a table empty). */
export function tableRan(id: TableId, running: Set<PeerName>): boolean {
  return TABLES[id].columns.some((c) => running.has(c.peer));
}

/**
 * One Markdown table. A server that ran but was not asked for a row shows `–`; one that did not
 * run at all shows `n/a`.
 */
export function renderTable(id: TableId, rows: Row[], running: Set<PeerName>): string {
  const spec = TABLES[id];
  const header = ['metric', ...spec.columns.map((c) => c.header), ...spec.ratios.map((r) => r.header)];
  const body = rows
    // A row no server was measured for (its stage did not run) is left out.
    .filter((r) => r.tables.includes(id) && Object.keys(r.cells).length > 0)
    .map((r) => [
      r.label,
      ...spec.columns.map((c) => fmt(r.cells[c.peer], r.digits, running.has(c.peer) ? '–' : 'n/a')),
      ...spec.ratios.map((q) => (r.cells[q.a] && r.cells[q.b] ? ratio(r.cells[q.a], r.cells[q.b]) : '–')),
    ]);
  return markdownTable(header, body);
}

/** A Markdown table, padded: the first column left-aligned, the others right-aligned. */
export function markdownTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 1) + '-' : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), rule, ...body.map(line)].join('\n');
}
