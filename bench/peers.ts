/**
 * The servers under test, each on its own 127.0.0.1 port with its own data dir under /tmp:
 * gitdav with the folder backend and with the git backend (both `node dist/lib/cli.js serve`), the
 * commit-per-request baseline (the git backend with `maxBatch: 1`, bench/git-baseline.ts), nginx
 * (nginx-extras: dav + dav_ext) and Apache (mod_dav + mod_dav_fs, mpm_event). Peers get
 * self-contained config files, so nothing in /etc is read or changed.
 */
import { existsSync, mkdirSync, writeFileSync, chownSync, readdirSync, lstatSync, rmSync, statSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fetchOnce } from './load.js';
import { freePort, makeTempDir, startTracked, stopTracked, waitForPort, type Tracked } from './proc.js';

/**
 * `gitdav` is the folder backend (the name the first tables used); `git` the git backend; `baseline` git
 * with a commit per request; `gitdavN` and `gitN` the same two with a supervisor and one worker per CPU.
 */
export type PeerName = 'gitdav' | 'gitdavN' | 'git' | 'gitN' | 'baseline' | 'nginx' | 'apache' | 'floor' | 'floorBest';

/** The bare-Node reference servers (bench/node-floor.ts): GET and HEAD, and a durable PUT (the bursts section). */
export const FLOOR_PEERS: readonly PeerName[] = ['floor', 'floorBest'];

/** Workers of the `…N` peers: one per CPU, the server's own default. */
export const BENCH_WORKERS = availableParallelism();

export interface Peer {
  name: PeerName;
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  /** The folder the server serves (fixtures are written straight into it), or the bare git repository. */
  dataDir: string;
  /** 'git': files exist only in commits, so fixtures go in through WebDAV. */
  storage: 'folder' | 'git';
  /** One Node process (so VmHWM is its whole peak), not a master (or supervisor) with workers. */
  node: boolean;
  /** The pid of the main process (the master for nginx and Apache). */
  pid: number;
  /** Hand files written into dataDir to the user the server runs as. */
  fixOwnership(): void;
  /** Size of a stored file as the storage itself says (on disk, or the blob in the branch tip); undefined if absent. */
  storedSize(path: string): number | undefined;
  /** Drops a big file the bench wrote (git: a DELETE, a commit; the blob stays in history). */
  removeFile(path: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Fills a server's data dir before it starts (folder servers: files written into it; git servers:
 * the bare repository made at that path, e.g. by `git fast-import`), so a big fixture needs no PUTs.
 */
export type Prepare = (dataDir: string, storage: 'folder' | 'git') => void;

interface Options {
  storage?: 'folder' | 'git';
  node?: boolean;
  owner?: { uid: number; gid: number };
}

const NGINX = '/usr/sbin/nginx';
const NGINX_DAV_EXT = '/usr/lib/nginx/modules/ngx_http_dav_ext_module.so';
const APACHE = '/usr/sbin/apache2';
const APACHE_MODULES = '/usr/lib/apache2/modules';

const isRoot = process.getuid?.() === 0;

function www(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'www-data'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'www-data'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), owner);
}

async function finish(name: PeerName, t: Tracked, port: number, dataDir: string, { storage = 'folder', node = false, owner }: Options = {}): Promise<Peer> {
  try {
    await waitForPort(port, t);
  } catch (err) {
    await stopTracked(t);
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    url,
    dataDir,
    storage,
    node,
    pid: t.child.pid!,
    fixOwnership: () => {
      if (owner) chownTree(dataDir, owner);
    },
    storedSize: (path) => (storage === 'git' ? gitBlobSize(dataDir, path) : existsSync(dataDir + path) ? statSync(dataDir + path).size : undefined),
    removeFile: async (path) => {
      if (storage === 'git') {
        const r = await fetchOnce(url + path, 'DELETE');
        if (r.status !== 204 && r.status !== 200) throw new Error(`DELETE ${path} answered ${r.status}`);
      } else {
        rmSync(dataDir + path, { force: true });
      }
    },
    stop: () => stopTracked(t),
  };
}

/** `git cat-file -s main:path`: the size of the blob the branch tip holds at `path`. */
function gitBlobSize(gitDir: string, path: string): number | undefined {
  const r = spawnSync('git', ['--git-dir', gitDir, 'cat-file', '-s', `main:${path.replace(/^\//, '')}`], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** Our own environment minus GITDAV_* (GITDAV_HOST, a config file…): everything goes on the command line. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GITDAV_')));
}

/** `gitdav serve` with `workers` processes (1: one process, no supervisor). */
function startCli(name: PeerName, backend: 'fs' | 'git', workers = 1) {
  return async (prepare?: Prepare): Promise<Peer> => {
    const cli = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
    if (!existsSync(cli)) throw new Error(`${cli} is missing (build first)`);
    const base = makeTempDir(name);
    // fs: an existing empty folder; git: a path that does not exist yet, which the server makes a bare repository.
    const dataDir = join(base, backend === 'git' ? 'repo' : 'data');
    if (backend === 'fs') mkdirSync(dataDir);
    prepare?.(dataDir, backend === 'git' ? 'git' : 'folder');
    const port = await freePort();
    const args = [cli, 'serve', '--backend', backend, '--root', dataDir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error', '--workers', String(workers)];
    const t = startTracked(name, process.execPath, args, { env: cleanEnv() });
    return finish(name, t, port, dataDir, { storage: backend === 'git' ? 'git' : 'folder', node: workers === 1 });
  };
}

/** gitdav, folder backend. */
export const startGitdav = startCli('gitdav', 'fs');
/** gitdav, git backend with group commit (the default). */
export const startGitdavGit = startCli('git', 'git');
/** The same two with a worker per CPU. */
export const startGitdavWorkers = startCli('gitdavN', 'fs', BENCH_WORKERS);
export const startGitdavGitWorkers = startCli('gitN', 'git', BENCH_WORKERS);

/** The git backend with one commit per request: bench/git-baseline.js in its own process (its own RSS). */
export async function startBaseline(): Promise<Peer> {
  const script = fileURLToPath(new URL('./git-baseline.js', import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} is missing (build first)`);
  const base = makeTempDir('baseline');
  const dataDir = join(base, 'repo');
  const port = await freePort();
  const t = startTracked('baseline', process.execPath, [script, '--root', dataDir, '--port', String(port)], { env: cleanEnv() });
  return finish('baseline', t, port, dataDir, { storage: 'git', node: true });
}

/**
 * The bare-Node reference (bench/node-floor.ts) with a worker per CPU like gitdav's default: `pipe`
 * (createReadStream().pipe(res)) or `best` (synchronous reads, one reused buffer: file-body.ts).
 */
function startFloor(name: PeerName, mode: 'pipe' | 'best') {
  return async (prepare?: Prepare): Promise<Peer> => {
    const script = fileURLToPath(new URL('./node-floor.js', import.meta.url));
    if (!existsSync(script)) throw new Error(`${script} is missing (build first)`);
    const dataDir = join(makeTempDir(name), 'data');
    mkdirSync(dataDir);
    prepare?.(dataDir, 'folder');
    const port = await freePort();
    const t = startTracked(name, process.execPath, [script, '--root', dataDir, '--port', String(port), '--workers', String(BENCH_WORKERS), '--mode', mode], { env: cleanEnv() });
    return finish(name, t, port, dataDir, { node: BENCH_WORKERS === 1 });
  };
}

export async function startNginx(prepare?: Prepare): Promise<Peer> {
  if (!existsSync(NGINX)) throw new Error('nginx is not installed');
  if (!existsSync(NGINX_DAV_EXT)) throw new Error('nginx has no dav_ext module (install nginx-extras)');
  const base = makeTempDir('nginx');
  const dataDir = join(base, 'data');
  const tmp = join(base, 'tmp');
  for (const d of [dataDir, tmp, join(base, 'logs')]) mkdirSync(d, { recursive: true });
  prepare?.(dataDir, 'folder');
  const owner = www();
  const port = await freePort();
  const conf = join(base, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${NGINX_DAV_EXT};
${owner ? 'user www-data www-data;' : ''}
worker_processes auto;
daemon off;
master_process on;
pid ${base}/nginx.pid;
error_log ${base}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 5s;
  keepalive_requests 100000;
  ${existsSync('/etc/nginx/mime.types') ? 'include /etc/nginx/mime.types;' : ''}
  default_type application/octet-stream;
  client_max_body_size 0;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dataDir};
    dav_methods PUT DELETE MKCOL COPY MOVE;
    dav_ext_methods PROPFIND OPTIONS;
    create_full_put_path on;
    dav_access user:rw group:rw all:r;
  }
}
`,
  );
  if (owner) chownTree(base, owner);
  const t = startTracked('nginx', NGINX, ['-p', base, '-e', `${base}/logs/error.log`, '-c', conf]);
  return finish('nginx', t, port, dataDir, { owner });
}

export async function startApache(prepare?: Prepare): Promise<Peer> {
  if (!existsSync(APACHE)) throw new Error('apache2 is not installed');
  for (const m of ['mod_mpm_event.so', 'mod_dav.so', 'mod_dav_fs.so', 'mod_authz_core.so']) {
    if (!existsSync(join(APACHE_MODULES, m))) throw new Error(`apache2 has no ${m}`);
  }
  const base = makeTempDir('apache');
  const dataDir = join(base, 'data');
  const run = join(base, 'run');
  const lock = join(base, 'lock');
  for (const d of [dataDir, run, lock, join(base, 'logs')]) mkdirSync(d, { recursive: true });
  prepare?.(dataDir, 'folder');
  const owner = www();
  const port = await freePort();
  const conf = join(base, 'apache2.conf');
  writeFileSync(
    conf,
    `ServerRoot ${base}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${run}/apache2.pid
DefaultRuntimeDir ${run}
ErrorLog ${base}/logs/error.log
LogLevel warn
${owner ? 'User www-data\nGroup www-data' : ''}
LoadModule mpm_event_module ${APACHE_MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${APACHE_MODULES}/mod_authz_core.so
LoadModule dav_module ${APACHE_MODULES}/mod_dav.so
LoadModule dav_fs_module ${APACHE_MODULES}/mod_dav_fs.so
${existsSync(join(APACHE_MODULES, 'mod_mime.so')) && existsSync('/etc/mime.types') ? `LoadModule mime_module ${APACHE_MODULES}/mod_mime.so\nTypesConfig /etc/mime.types` : ''}
StartServers 2
ServerLimit 16
ThreadsPerChild 25
MaxRequestWorkers 150
MinSpareThreads 25
MaxSpareThreads 75
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
EnableSendfile On
EnableMMAP On
LimitRequestBody 0
DAVLockDB ${lock}/DAVLock
DocumentRoot ${dataDir}
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory ${dataDir}>
  Dav On
  Options None
  AllowOverride None
  Require all granted
</Directory>
`,
  );
  if (owner) chownTree(base, owner);
  const t = startTracked('apache', APACHE, ['-d', base, '-f', conf, '-DFOREGROUND']);
  return finish('apache', t, port, dataDir, { owner });
}

export const STARTERS: Record<PeerName, (prepare?: Prepare) => Promise<Peer>> = {
  gitdav: startGitdav,
  gitdavN: startGitdavWorkers,
  gitN: startGitdavGitWorkers,
  git: startGitdavGit,
  baseline: startBaseline,
  nginx: startNginx,
  apache: startApache,
  floor: startFloor('floor', 'pipe'),
  floorBest: startFloor('floorBest', 'best'),
};
