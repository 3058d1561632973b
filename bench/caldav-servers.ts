/**
 * The CalDAV servers of the bench, each on its own 127.0.0.1 port with its own temp dir, started,
 * restarted (same port, same data) and stopped through bench/proc.ts: gitdav with the git and with the
 * folder backend (`node dist/lib/cli.js serve`, no GITDAV_* variable), Xandikos (a git repository per
 * collection, aiohttp) and Radicale (multifilesystem storage, auth none, a config file in the temp
 * dir so /etc/radicale is not read). Each says where a calendar or an address book named NAME lives
 * (the bench makes them with MKCALENDAR or an extended MKCOL: all four serve CardDAV too) and how to
 * drop objects straight into its storage (files, or a native git commit; used only when a PUT upload
 * hits its time cap).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from './peers.js';
import { freePort, makeTempDir, removeTempDir, startTracked, stopTracked, waitForPort, type Tracked } from './proc.js';

export type CalName = 'git' | 'gitdav' | 'xandikos' | 'radicale';
export const CAL_ORDER: CalName[] = ['git', 'gitdav', 'xandikos', 'radicale'];
export const CAL_HEADERS: Record<CalName, string> = { git: 'gitdav git', gitdav: 'gitdav fs', xandikos: 'Xandikos', radicale: 'Radicale' };

export interface CalServer {
  name: CalName;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The current process (changes on restart). */
  pid(): number;
  version: string;
  /** Path of the calendar collection NAME, with a trailing slash. */
  calendar(name: string): string;
  /** Path of the address book NAME (made by an extended MKCOL), with a trailing slash. */
  addressBook(name: string): string;
  /**
   * Writes objects straight into the storage of an existing collection (its URL path, as calendar()
   * or addressBook() give it); absent where that is not possible.
   */
  bulkFill?(collection: string, items: StoredItem[]): void;
  /** gitdav git: its bare repository (for waiting on its background `git gc`). */
  gitDir?: string;
  /** Bytes under the server's temp dir (data, caches, config), as `du -sb` counts them. */
  diskBytes(): number | undefined;
  /** Stops the process and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops the server (and whatever it forked) and removes its temp dir. */
  stop(): Promise<void>;
}

const XANDIKOS = '/usr/bin/xandikos';
const RADICALE = '/usr/bin/radicale';
/** Debian's Python modules want Debian's Python (another python3 may come first on PATH). */
const PYTHON = '/usr/bin/python3';

function pyVersion(module: string): string {
  const r = spawnSync(PYTHON, ['-c', `import ${module}; print(getattr(${module}, '__version__', None) or getattr(${module}, 'VERSION', '?'))`], { encoding: 'utf8', timeout: 20_000 });
  const v = r.status === 0 ? r.stdout.trim() : '?';
  return v.replace(/^\((\d+), (\d+), (\d+)\)$/, '$1.$2.$3');
}

/** One process, restartable with the same command line; its temp dir goes when it stops. */
async function managed(
  name: CalName,
  base: string,
  port: number,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv | undefined,
  rest: Omit<CalServer, 'name' | 'url' | 'pid' | 'restart' | 'stop' | 'diskBytes'>,
): Promise<CalServer> {
  let t: Tracked;
  const start = async () => {
    t = startTracked(name, command, args, env ? { env } : {});
    try {
      await waitForPort(port, t, 30_000);
    } catch (err) {
      await stopTracked(t);
      throw err;
    }
  };
  try {
    await start();
  } catch (err) {
    removeTempDir(base);
    throw err;
  }
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: () => t.child.pid!,
    diskBytes: () => {
      const r = spawnSync('du', ['-sb', base], { encoding: 'utf8', timeout: 120_000 });
      return r.status === 0 ? Number(r.stdout.split('\t')[0]) : undefined;
    },
    restart: async () => {
      await stopTracked(t);
      await start();
    },
    stop: async () => {
      await stopTracked(t);
      removeTempDir(base);
    },
    ...rest,
  };
}

/** One object as the bulk fills write it: its resource name and its bytes. */
export interface StoredItem {
  name: string;
  body: string;
}

/** `/calendars/user/x/` → `calendars/user/x` (the servers here map URL paths straight onto storage paths). */
const relative = (collection: string) => decodeURIComponent(collection).replace(/^\/+|\/+$/g, '');

export function writeAll(dir: string, items: StoredItem[]): void {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist`);
  for (const it of items) writeFileSync(join(dir, it.name), it.body);
}

/** One commit adding `items` under `dir` on the branch HEAD names, by `git fast-import`. */
export function gitFill(gitDir: string, dir: string, items: StoredItem[]): void {
  const head = spawnSync('git', ['--git-dir', gitDir, 'symbolic-ref', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || 'refs/heads/main';
  const message = Buffer.from('bench: bulk fill\n');
  const parts: Buffer[] = [
    Buffer.from(`commit ${head}\ncommitter bench <bench@localhost> ${Math.floor(Date.now() / 1000)} +0000\ndata ${message.length}\n`),
    message,
    Buffer.from(`from ${head}^0\n`),
  ];
  for (const it of items) {
    const body = Buffer.from(it.body);
    parts.push(Buffer.from(`M 100644 inline ${dir}/${it.name}\ndata ${body.length}\n`), body, Buffer.from('\n'));
  }
  // gitdav commits its writes in bursts (up to ~2 s later): a commit landing while fast-import runs
  // moves the ref under it ("cannot lock ref", "Not updating"), and the fill is tried again on the new tip.
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync('git', ['--git-dir', gitDir, 'fast-import', '--quiet'], { input: Buffer.concat(parts), encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
    if (r.status === 0) return;
    if (attempt >= 5 || !/cannot lock ref|Not updating refs/.test(r.stderr)) throw new Error(`git fast-import into ${gitDir}: ${r.stderr}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
  }
}

async function gitdav(name: 'git' | 'gitdav'): Promise<CalServer> {
  const cli = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
  if (!existsSync(cli)) throw new Error(`${cli} is missing (build first)`);
  const backend = name === 'git' ? 'git' : 'fs';
  const base = makeTempDir(`caldav-${name}`);
  // fs: an existing empty folder; git: a path that does not exist yet, which the server makes a bare repository.
  const dataDir = join(base, backend === 'git' ? 'repo' : 'data');
  if (backend === 'fs') mkdirSync(dataDir);
  const port = await freePort();
  // As `gitdav serve` starts by default (a worker per CPU), unless BENCH_CALDAV_WORKERS says otherwise.
  const workers = process.env.BENCH_CALDAV_WORKERS ?? String(availableParallelism());
  const args = [cli, 'serve', '--backend', backend, '--root', dataDir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error', '--workers', workers];
  return managed(name, base, port, process.execPath, args, cleanEnv(), {
    version: 'this tree',
    gitDir: backend === 'git' ? dataDir : undefined,
    calendar: (c) => `/calendars/user/${c}/`,
    addressBook: (c) => `/addressbooks/user/${c}/`,
    // The folder backend serves what is on disk; the git backend's files live in commits: one native
    // commit on top of the branch (the server reads the ref per request, as with any other git client).
    bulkFill: backend === 'fs' ? (c, items) => writeAll(join(dataDir, relative(c)), items) : (c, items) => gitFill(dataDir, relative(c), items),
  });
}

async function xandikos(): Promise<CalServer> {
  if (!existsSync(XANDIKOS)) throw new Error('xandikos is not installed (apt-get install xandikos)');
  const base = makeTempDir('caldav-xandikos');
  const port = await freePort();
  const data = join(base, 'data');
  const args = [XANDIKOS, '-d', data, '-l', '127.0.0.1', '-p', String(port), '--defaults', '--current-user-principal', '/user/'];
  return managed('xandikos', base, port, PYTHON, args, undefined, {
    version: pyVersion('xandikos'),
    calendar: (c) => `/user/calendars/${c}/`,
    // --defaults makes /user/contacts/addressbook/; an extended MKCOL makes more beside it.
    addressBook: (c) => `/user/contacts/${c}/`,
    // Each collection is a git repository with a work tree: add the files and commit them.
    bulkFill: (c, items) => {
      const dir = join(data, relative(c));
      writeAll(dir, items);
      const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@localhost', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@localhost' };
      for (const cmd of [['add', '-A'], ['commit', '-q', '-m', 'bench: bulk fill']]) {
        const r = spawnSync('git', ['-C', dir, ...cmd], { encoding: 'utf8', env, timeout: 300_000 });
        if (r.status !== 0) throw new Error(`git ${cmd[0]} in ${dir}: ${r.stderr}`);
      }
    },
  });
}

async function radicale(): Promise<CalServer> {
  if (!existsSync(RADICALE)) throw new Error('radicale is not installed (apt-get install radicale)');
  const base = makeTempDir('caldav-radicale');
  const port = await freePort();
  const collections = join(base, 'collections');
  mkdirSync(collections);
  const conf = join(base, 'config');
  writeFileSync(
    conf,
    `[server]
hosts = 127.0.0.1:${port}
[auth]
type = none
[rights]
type = owner_only
[storage]
type = multifilesystem
filesystem_folder = ${collections}
[logging]
level = warning
`,
  );
  return managed('radicale', base, port, PYTHON, [RADICALE, '--config', conf], undefined, {
    version: pyVersion('radicale'),
    calendar: (c) => `/user/${c}/`,
    addressBook: (c) => `/user/${c}/`,
    // multifilesystem: one file per object in the collection's folder; its cache is rebuilt from them.
    bulkFill: (c, items) => writeAll(join(collections, 'collection-root', relative(c)), items),
  });
}

export const CAL_STARTERS: Record<CalName, () => Promise<CalServer>> = {
  git: () => gitdav('git'),
  gitdav: () => gitdav('gitdav'),
  xandikos,
  radicale,
};

/**
 * Each wanted server in CAL_ORDER, one at a time: started, measured by `measure`, stopped. One that
 * cannot start is skipped and named in `missing` (why); one whose measuring fails is noted in `notes`
 * and stopped like the others, so one broken peer never ends the section.
 */
export async function eachCalServer(
  o: { wanted: readonly CalName[]; missing: Partial<Record<CalName, string>>; versions: Partial<Record<CalName, string>>; notes: string[]; log: (line: string) => void },
  measure: (server: CalServer) => Promise<void>,
): Promise<void> {
  for (const name of CAL_ORDER) {
    if (!o.wanted.includes(name)) {
      o.missing[name] = 'not selected';
      continue;
    }
    let server: CalServer;
    try {
      server = await CAL_STARTERS[name]();
    } catch (err) {
      o.missing[name] = (err as Error).message.split('\n')[0]!;
      o.log(`${name} skipped: ${o.missing[name]}`);
      continue;
    }
    o.versions[name] = server.version;
    o.log(`${name} on ${server.url} (pid ${server.pid()})`);
    try {
      await measure(server);
    } catch (err) {
      o.notes.push(`${CAL_HEADERS[name]}: stopped early: ${(err as Error).message.split('\n')[0]}`);
      o.log(`${name} failed: ${(err as Error).stack}`);
    } finally {
      await server.stop();
    }
  }
}
