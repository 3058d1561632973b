/**
 * Issue 15's CardDAV targets and their verdicts from one run's figures: a pure function
 * (test/unit/bench-carddav-targets.test.ts), no I/O. gitdav (each backend) must be at least 5× the
 * faster of Xandikos and Radicale on the upload and on both addressbook-queries, and on git its
 * sync-collection after one change must not grow with the address book. A figure that was not
 * measured makes its target n/a, never PASS or FAIL.
 */
import type { Verdict } from './targets.js';

export type CardWho = 'git' | 'fs' | 'xandikos' | 'radicale';
export const CARD_PEERS = ['xandikos', 'radicale'] as const;
const NAME: Record<CardWho, string> = { git: 'gitdav git', fs: 'gitdav fs', xandikos: 'Xandikos', radicale: 'Radicale' };

export interface CardFigures {
  /** cards/s, higher is better. */
  upload?: Partial<Record<CardWho, number>>;
  /** p50 ms, lower is better. */
  queryName?: Partial<Record<CardWho, number>>;
  queryEmail?: Partial<Record<CardWho, number>>;
  /** sync-collection after one change, p50 ms, on the big and on the small address book. */
  syncBig?: Partial<Record<CardWho, number>>;
  syncSmall?: Partial<Record<CardWho, number>>;
}

export interface CardVerdict {
  verdict: Verdict;
  who: 'git' | 'fs';
  text: string;
  detail: string;
}

export const SPEEDUP = 5;
/** sync big ÷ small at most this, or at most SYNC_SLACK_MS apart (sub-millisecond noise is no growth). */
export const SYNC_RATIO = 1.5;
export const SYNC_SLACK_MS = 1;

const usable = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x) && x > 0;
const num = (x: number, unit: string) => `${x.toFixed(x >= 100 ? 0 : 1)} ${unit}`;

/** A ratio target against the faster peer (the higher rate, or the lower time) of those measured. */
function vsFasterPeer(who: 'git' | 'fs', fig: Partial<Record<CardWho, number>> | undefined, higher: boolean, text: string, unit: string): CardVerdict {
  const mine = fig?.[who];
  const peers = CARD_PEERS.filter((p) => usable(fig?.[p]));
  if (!usable(mine) || !peers.length) {
    const what = [!usable(mine) ? NAME[who] : '', !peers.length ? 'Xandikos and Radicale' : ''].filter(Boolean).join(' and ');
    return { verdict: 'n/a', who, text, detail: `${what}: not measured` };
  }
  const best = peers.reduce((a, b) => ((higher ? fig![b]! > fig![a]! : fig![b]! < fig![a]!) ? b : a));
  const theirs = fig![best]!;
  const r = higher ? mine / theirs : theirs / mine;
  const how = higher ? `${NAME[who]} ${num(mine, unit)} ÷ ${NAME[best]} ${num(theirs, unit)}` : `${NAME[best]} ${num(theirs, unit)} ÷ ${NAME[who]} ${num(mine, unit)}`;
  const only = peers.length < CARD_PEERS.length ? ` (the only peer measured)` : ' (the faster peer)';
  return { verdict: r >= SPEEDUP ? 'PASS' : 'FAIL', who, text, detail: `${how}${only} = ${r.toFixed(2)}× (want ≥ ${SPEEDUP}×)` };
}

function syncIndependent(f: CardFigures, big: number, small: number): CardVerdict {
  const text = `sync-collection after one change independent of the address book's size (${big.toLocaleString('en-US')} vs ${small.toLocaleString('en-US')} cards)`;
  const a = f.syncBig?.git;
  const b = f.syncSmall?.git;
  if (!usable(a) || !usable(b)) return { verdict: 'n/a', who: 'git', text, detail: 'gitdav git: not measured' };
  const pass = a / b <= SYNC_RATIO || a - b <= SYNC_SLACK_MS;
  return {
    verdict: pass ? 'PASS' : 'FAIL',
    who: 'git',
    text,
    detail: `${num(a, 'ms')} ÷ ${num(b, 'ms')} = ${(a / b).toFixed(2)}× (want ≤ ${SYNC_RATIO}×, or at most ${SYNC_SLACK_MS} ms apart)`,
  };
}

export function cardVerdicts(f: CardFigures, big: number, small: number): CardVerdict[] {
  const n = big.toLocaleString('en-US');
  return [
    ...(['git', 'fs'] as const).flatMap((who) => [
      vsFasterPeer(who, f.upload, true, `upload of ${n} contacts (8 clients) ≥ ${SPEEDUP}× the faster peer`, 'cards/s'),
      vsFasterPeer(who, f.queryName, false, `addressbook-query by name, p50, ${n} cards, ≥ ${SPEEDUP}× the faster peer`, 'ms'),
      vsFasterPeer(who, f.queryEmail, false, `addressbook-query by e-mail, p50, ${n} cards, ≥ ${SPEEDUP}× the faster peer`, 'ms'),
    ]),
    syncIndependent(f, big, small),
  ];
}

export function renderCardVerdicts(vs: CardVerdict[]): string[] {
  const count = (v: Verdict) => vs.filter((x) => x.verdict === v).length;
  return [
    ...vs.map((v) => `- ${v.verdict.padEnd(4)} ${v.who === 'fs' ? 'fs ' : 'git'} ${v.text}: ${v.detail}`),
    '',
    `CardDAV targets: ${count('PASS')} PASS, ${count('FAIL')} FAIL, ${count('n/a')} n/a (of ${vs.length})`,
  ];
}
