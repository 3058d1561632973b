/**
 * Commit messages a person understands (issue 14; docs/git-backend.md, "Bursts and commit messages"):
 * a subject from what a burst did (its net changes, ./net-changes.ts), a body listing the changed paths
 * (at most 50), then trailers. Pure.
 *
 * Subjects, first that fits: a calendar or address book layer's summary (`Add event "Dentist"`, one
 * change; several changes all of one kind: `Add 3 events to calendars/u/work/`, `Add 3 contacts to
 * addressbooks/u/contacts/`); `Restore x from 1a2b3c4`; `Rename a.txt to b.txt` / `Move a.txt to
 * d/a.txt` (one delete and one add of the same content, or as a MOVE said; the empty file's and an
 * empty folder's content only as a MOVE said); `Create folder a/b/c` (a new
 * chain of empty folders); one change: `Add x`, `Update x`, `Delete x`, `Add 202 files to tree/`,
 * `Delete tree/d4 (25 files)`, `Change properties of x`; many: `Add 202 files to tree/`, `Update 3
 * files in docs/`, `Add 1 file and 1 folder`, `Delete folders x, y`, `Delete 2 folders from d/`, mixed:
 * `Add 3, update 2, delete 1 in x/` (counted in files, a folder without files as one; under the
 * changes' common folder). Paths are shown without their leading slash and cut in the middle (between
 * graphemes) to keep a subject within 72 characters; anything a user supplied loses its control
 * characters (CR, LF, NUL), so it can neither end a line nor forge a trailer.
 */
import { cutGraphemes, graphemes } from '../../util/graphemes.js';
import { isMarker } from './burst.js';
import type { JournalRecord } from './record.js';

/** One path's net change over a burst (the tree before the burst against the tree after). */
export interface NetChange {
  /** Live path, `/a/b.txt`. */
  path: string;
  change: 'add' | 'update' | 'delete';
  kind: 'file' | 'dir';
  /** For a folder added or deleted whole: the files in it (placeholders and `.davprops` not counted; at most FILES_CAP). */
  files?: number;
  /** An update (or add) whose new content is a version this path had before: that version's commit. */
  restoredFrom?: string;
  /** Only the path's dead properties (`.davprops`) changed. */
  propsOnly?: boolean;
  /** The blob or tree id after an add or update, before a delete (where known): a rename keeps it. */
  oid?: string;
}

export interface BurstDescription {
  records: readonly JournalRecord[];
  changes: readonly NetChange[];
  /** Trailer lines to end the message with (`Gitdav-Journal: <journal id> 41`, …), already formatted. */
  trailers: readonly string[];
}

/** Files counted in a folder at most (a bigger folder's count reads `100000+`). */
export const FILES_CAP = 100_000;
const SUBJECT_MAX = 72;
const EMPTY_BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
const BODY_MAX = 50;
const AGENTS_MAX = 5;

/** The whole commit message: subject, blank line, body, blank line, trailers; ends with a newline. */
export function commitMessage(d: BurstDescription): string {
  const changes = d.changes.map((c) => ({ ...c, path: clean(c.path) }));
  const rename = renameOf(d.records, changes);
  const subject = summarySubject(d.records, changes) ?? (rename ? renameSubject(rename) : pathSubject(changes, d.records));
  return assemble(subject, capped(bodyLines(changes, rename)), trailerLines(d.records, d.trailers));
}

/**
 * A plain message from the records alone (`Change 3 paths`, the paths their effects touched, the
 * trailers), for when the net changes cannot be worked out (netChanges or commitMessage threw): a
 * commit message must never keep a burst from its commit. Reads nothing; does not throw.
 */
export function fallbackMessage(records: readonly JournalRecord[], trailers: readonly string[]): string {
  const paths = [...new Set(records.flatMap((r) => r.effects.map((e) => clean(e.path))))].sort();
  const subject = paths.length === 1 ? fit(([p]) => `Change ${p}`, [shown(paths[0]!)]) : `Change ${paths.length} paths`;
  return assemble(subject, capped(paths.map((p) => `* ${shown(p)}`)), trailerLines(records, trailers));
}

function assemble(subject: string, body: readonly string[], trailers: readonly string[]): string {
  return [subject, ...(body.length ? ['', ...body] : []), ...(trailers.length ? ['', ...trailers] : [])].join('\n') + '\n';
}

function trailerLines(records: readonly JournalRecord[], given: readonly string[]): string[] {
  // Another user's UNLOCK marker may sit in a burst (./burst.ts): it wrote nothing, so it names nobody.
  const writers = records.some((r) => !isMarker(r)) ? records.filter((r) => !isMarker(r)) : records;
  const users = distinct(writers.map((r) => r.user));
  const agents = distinct(writers.map((r) => r.userAgent)).slice(0, AGENTS_MAX);
  return [...users.map((u) => `Remote-User: ${u}`), ...agents.map((a) => `User-Agent: ${a}`), ...given.map(clean)];
}

function capped(lines: readonly string[]): string[] {
  return lines.length <= BODY_MAX ? [...lines] : [...lines.slice(0, BODY_MAX), `… and ${lines.length - BODY_MAX} more`];
}

/** Without control characters (CR, LF, NUL, …): a user-supplied string stays on its line. */
export function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, '');
}

function distinct(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((v): v is string => !!v).map(clean).filter((v) => v.length > 0))];
}

function shown(path: string): string {
  return path === '/' ? '/' : path.replace(/^\/+/, '');
}

function shownDir(path: string): string {
  return path === '/' ? '/' : `${shown(path)}/`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function commonDir(paths: readonly string[]): string {
  let common = parentOf(paths[0] ?? '/').split('/');
  for (const p of paths.slice(1)) {
    const segs = parentOf(p).split('/');
    let i = 0;
    while (i < common.length && i < segs.length && common[i] === segs[i]) i++;
    common = common.slice(0, i);
  }
  const dir = common.join('/');
  return dir === '' ? '/' : dir;
}

/** A subject made of a template and paths, with the longest paths cut in the middle until it fits. */
function fit(template: (paths: string[]) => string, paths: string[]): string {
  const cut = [...paths];
  for (let round = 0; round < 4; round++) {
    const over = length(template(cut)) - SUBJECT_MAX;
    if (over <= 0) break;
    let longest = 0;
    for (let i = 1; i < cut.length; i++) if (length(cut[i]!) > length(cut[longest]!)) longest = i;
    const p = graphemes(cut[longest] ?? '');
    if (p.length <= 12) break;
    const keep = Math.max(10, p.length - over - 1);
    const head = Math.ceil(keep / 2);
    cut[longest] = `${p.slice(0, head).join('')}…${p.slice(p.length - (keep - head)).join('')}`;
  }
  return template(cut);
}

/** Length as a reader counts it (graphemes), and cuts made on them: never half a surrogate pair. */
function length(s: string): number {
  return graphemes(s).length;
}

function count(n: number, one: string, many: string): string {
  return `${n >= FILES_CAP ? `${FILES_CAP}+` : n} ${n === 1 ? one : many}`;
}

function short(commit: string): string {
  return /^[0-9a-f]{8,64}$/i.test(commit) ? commit.slice(0, 7) : clean(commit);
}

const SUMMARY = /^(Add|Update|Delete|Create) (event|task|journal entry|calendar|contact|group|organization|address book) /;
const PLURAL: Record<string, string> = {
  event: 'events',
  task: 'tasks',
  'journal entry': 'journal entries',
  calendar: 'calendars',
  contact: 'contacts',
  group: 'groups',
  organization: 'organizations',
  'address book': 'address books',
};
const PREPOSITION: Record<string, string> = { Add: 'to', Update: 'in', Delete: 'from', Create: 'in' };
const VERB_OF: Record<NetChange['change'], string> = { add: 'Add', update: 'Update', delete: 'Delete' };

/** What a layer above said (CalDAV): one change's summary, or several of one kind counted. */
function summarySubject(records: readonly JournalRecord[], changes: readonly NetChange[]): string | null {
  const writes = records.filter((r) => r.effects.length > 0);
  // One request, and the layer above named it (`Move event "A"`: a rename is two net changes): its words.
  if (writes.length === 1 && writes[0]!.meta.summary && changes.length > 0) return ellipsis(clean(writes[0]!.meta.summary));
  if (changes.length === 1) {
    const c = changes[0]!;
    const own = writes.filter((r) => r.meta.summary && r.effects.some((e) => clean(e.path) === c.path || clean(r.meta.path) === c.path));
    const verb = VERB_OF[c.change];
    const said = [...own].reverse().find((r) => r.meta.summary!.startsWith(verb) || (c.change === 'add' && r.meta.summary!.startsWith('Create'))) ?? own[own.length - 1];
    if (!said) return null;
    // The net verb, with the newest title (an event added, then renamed: `Add event "Dentist"`).
    const verbOf = SUMMARY.exec(clean(said.meta.summary!));
    const newest = SUMMARY.exec(clean(own[own.length - 1]!.meta.summary!));
    if (verbOf && newest && verbOf[2] === newest[2]) return ellipsis(`${verbOf[1]} ${newest[2]} ${clean(own[own.length - 1]!.meta.summary!).slice(newest[0].length)}`);
    return ellipsis(clean(said.meta.summary!));
  }
  if (changes.length < 2 || writes.length === 0 || !writes.every((r) => r.meta.summary)) return null;
  const kinds = new Set(writes.map((r) => SUMMARY.exec(r.meta.summary!)?.slice(1, 3).join(' ') ?? ''));
  if (kinds.size !== 1 || kinds.has('')) return null;
  const [verb, noun] = [...SUMMARY.exec(writes[0]!.meta.summary!)!.slice(1, 3)] as [string, string];
  const dir = commonDir(changes.map((c) => c.path));
  const what = `${verb} ${changes.length} ${PLURAL[noun]}`;
  return dir === '/' ? what : fit(([d]) => `${what} ${PREPOSITION[verb]} ${d}`, [shownDir(dir)]);
}

function ellipsis(s: string): string {
  return cutGraphemes(s, SUBJECT_MAX);
}

interface Rename {
  from: NetChange;
  to: NetChange;
}

/** One delete and one add of the same content (or of what a MOVE record said it moved): a rename. */
function renameOf(records: readonly JournalRecord[], changes: readonly NetChange[]): Rename | null {
  if (changes.length !== 2) return null;
  const from = changes.find((c) => c.change === 'delete');
  const to = changes.find((c) => c.change === 'add');
  if (!from || !to || from.kind !== to.kind || from.path === to.path) return null;
  const moved = records.some((r) => r.meta.op === 'MOVE' && clean(r.meta.path) === from.path && clean(r.meta.to ?? '') === to.path);
  // Equal content alone says rename, except content every empty file or empty folder has (`rm a.log;
  // touch b.log` is no rename): there only a MOVE record does.
  const equal = from.oid !== undefined && from.oid === to.oid;
  const same = equal && !emptyContent(from);
  return (moved && (equal || from.oid === undefined || to.oid === undefined)) || same ? { from, to } : null;
}

function emptyContent(c: NetChange): boolean {
  return c.kind === 'file' ? c.oid === EMPTY_BLOB : !c.files;
}

function renameSubject({ from, to }: Rename): string {
  if (parentOf(from.path) === parentOf(to.path)) return fit(([a, b]) => `Rename ${a} to ${b}`, [shown(from.path), shown(to.path).split('/').pop()!]);
  return fit(([a, b]) => `Move ${a} to ${b}`, [shown(from.path), shown(to.path)]);
}

function pathSubject(changes: readonly NetChange[], records: readonly JournalRecord[]): string {
  if (changes.length === 0) {
    const first = records.find((r) => r.effects.length > 0);
    return first ? fit(([p]) => `Change ${p}`, [shown(clean(first.meta.path))]) : 'Change nothing';
  }
  const restore = restoreSubject(changes);
  if (restore) return restore;
  const folders = changes.every((c) => c.kind === 'dir' && c.change === 'add' && !c.files && !c.propsOnly);
  if (folders && isChain(changes)) return fit(([p]) => `Create folder ${p}`, [shown(changes[changes.length - 1]!.path)]);
  if (changes.length === 1) return oneSubject(changes[0]!);
  if (changes.every((c) => c.propsOnly)) return inDir(changes, (n, d) => `Change properties of ${count(n, 'item', 'items')}${d ? ` in ${d}` : ''}`);
  // Counted in files, where a folder added or deleted whole counts its files; a folder that has none
  // (empty, its count unknown, or only its properties changed) counts as one folder.
  const tally = { add: { files: 0, folders: 0 }, update: { files: 0, folders: 0 }, delete: { files: 0, folders: 0 } };
  for (const c of changes) {
    const t = tally[c.change];
    if (c.kind === 'file') t.files++;
    else if (!c.propsOnly && c.files) t.files += c.files;
    else t.folders++;
  }
  const items = (k: keyof typeof tally) => tally[k].files + tally[k].folders;
  const kinds = (['add', 'update', 'delete'] as const).filter((k) => items(k) > 0);
  if (kinds.length === 1) {
    const k = kinds[0]!;
    const { files, folders: dirs } = tally[k];
    const verb = k === 'add' && files === 0 ? 'Create' : VERB_OF[k];
    const prep = k === 'add' && files > 0 ? 'to' : k === 'delete' ? 'from' : 'in';
    // Folders only, side by side at the top: named (`Delete folders x, y`) while they fit.
    if (files === 0) {
      const named = `${verb} folders ${changes.map((c) => shown(c.path)).join(', ')}`;
      if (commonDir(changes.map((c) => c.path)) === '/' && changes.length <= 3 && length(named) <= SUBJECT_MAX) return named;
    }
    const what = [files ? count(files, 'file', 'files') : '', dirs ? count(dirs, 'folder', 'folders') : ''].filter((w) => w).join(' and ');
    return inDir(changes, (_n, d) => `${verb} ${what}${d ? ` ${prep} ${d}` : ''}`);
  }
  const parts = kinds.map((k, i) => `${i === 0 ? VERB_OF[k] : k} ${items(k) >= FILES_CAP ? `${FILES_CAP}+` : items(k)}`);
  return inDir(changes, (_n, d) => `${parts.join(', ')}${d ? ` in ${d}` : ''}`);
}

function inDir(changes: readonly NetChange[], make: (n: number, dir: string | undefined) => string): string {
  const dir = commonDir(changes.map((c) => c.path));
  return dir === '/' ? make(changes.length, undefined) : fit(([d]) => make(changes.length, d), [shownDir(dir)]);
}

/** Folders each the parent of the next (sorted by path): `mkdir -p a/b/c`. */
function isChain(changes: readonly NetChange[]): boolean {
  const paths = changes.map((c) => c.path).sort();
  return paths.every((p, i) => i === 0 || parentOf(p) === paths[i - 1]);
}

function restoreSubject(changes: readonly NetChange[]): string | null {
  const from = changes[0]!.restoredFrom;
  if (!from || !changes.every((c) => c.restoredFrom === from)) return null;
  if (changes.length === 1) return fit(([p]) => `Restore ${p} from ${short(from)}`, [shown(changes[0]!.path)]);
  return inDir(changes, (n, d) => `Restore ${count(n, 'file', 'files')}${d ? ` in ${d}` : ''} from ${short(from)}`);
}

function oneSubject(c: NetChange): string {
  const p = shown(c.path);
  if (c.propsOnly) return fit(([x]) => `Change properties of ${x}`, [p]);
  if (c.kind === 'file') return fit(([x]) => `${VERB_OF[c.change]} ${x}`, [p]);
  const files = c.files ?? 0;
  if (c.change === 'add') return files === 0 ? fit(([x]) => `Create folder ${x}`, [p]) : fit(([x]) => `Add ${count(files, 'file', 'files')} to ${x}`, [shownDir(c.path)]);
  if (c.change === 'delete') return files === 0 ? fit(([x]) => `Delete folder ${x}`, [p]) : fit(([x]) => `Delete ${x} (${count(files, 'file', 'files')})`, [p]);
  return fit(([x]) => `Replace ${x} (${count(files, 'file', 'files')})`, [shownDir(c.path)]);
}

const MARK: Record<NetChange['change'], string> = { add: 'A', update: 'M', delete: 'D' };

/** One line per changed path (`A x`, `M x`, `D x`, `R a -> b`), at most BODY_MAX. */
function bodyLines(changes: readonly NetChange[], rename: Rename | null): string[] {
  const lines = rename
    ? [`R ${shown(rename.from.path)} -> ${shown(rename.to.path)}`]
    : changes.map((c) => {
        const name = c.kind === 'dir' ? shownDir(c.path) : shown(c.path);
        const notes = [
          c.kind === 'dir' && c.files !== undefined && !c.propsOnly ? count(c.files, 'file', 'files') : '',
          c.propsOnly ? 'properties' : '',
          c.restoredFrom ? `restored from ${short(c.restoredFrom)}` : '',
        ].filter((s) => s);
        return `${MARK[c.change]} ${name}${notes.length ? ` (${notes.join(', ')})` : ''}`;
      });
  return lines;
}
