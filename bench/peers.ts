/**
 * The three servers under test, each on its own 127.0.0.1 port with its own data dir under /tmp:
 * gitdav (folder backend, started as `node dist/lib/cli.js serve`), nginx (nginx-extras: dav +
 * dav_ext) and Apache (mod_dav + mod_dav_fs, mpm_event). Peers get self-contained config files, so
 * nothing in /etc is read or changed.
 */
import { existsSync, mkdirSync, writeFileSync, chownSync, readdirSync, lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTempDir, startTracked, stopTracked, waitForPort, type Tracked } from './proc.js';

export type PeerName = 'gitdav' | 'nginx' | 'apache';

export interface Peer {
  name: PeerName;
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  /** The folder the server serves; fixtures are written straight into it. */
  dataDir: string;
  /** The pid of the main process (the master for nginx and Apache). */
  pid: number;
  /** Hand files written into dataDir to the user the server runs as. */
  fixOwnership(): void;
  stop(): Promise<void>;
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

async function finish(name: PeerName, t: Tracked, port: number, dataDir: string, owner?: { uid: number; gid: number }): Promise<Peer> {
  try {
    await waitForPort(port, t);
  } catch (err) {
    await stopTracked(t);
    throw err;
  }
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    pid: t.child.pid!,
    fixOwnership: () => {
      if (owner) chownTree(dataDir, owner);
    },
    stop: () => stopTracked(t),
  };
}

export async function startGitdav(): Promise<Peer> {
  const cli = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
  if (!existsSync(cli)) throw new Error(`${cli} is missing (build first)`);
  const base = makeTempDir('gitdav');
  const dataDir = join(base, 'data');
  mkdirSync(dataDir);
  const port = await freePort();
  // Everything on the command line, and no GITDAV_* from our environment (GITDAV_HOST, a config file…).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GITDAV_')));
  const args = [cli, 'serve', '--backend', 'fs', '--root', dataDir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'];
  const t = startTracked('gitdav', process.execPath, args, { env });
  return finish('gitdav', t, port, dataDir);
}

export async function startNginx(): Promise<Peer> {
  if (!existsSync(NGINX)) throw new Error('nginx is not installed');
  if (!existsSync(NGINX_DAV_EXT)) throw new Error('nginx has no dav_ext module (install nginx-extras)');
  const base = makeTempDir('nginx');
  const dataDir = join(base, 'data');
  const tmp = join(base, 'tmp');
  for (const d of [dataDir, tmp, join(base, 'logs')]) mkdirSync(d, { recursive: true });
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
  return finish('nginx', t, port, dataDir, owner);
}

export async function startApache(): Promise<Peer> {
  if (!existsSync(APACHE)) throw new Error('apache2 is not installed');
  for (const m of ['mod_mpm_event.so', 'mod_dav.so', 'mod_dav_fs.so', 'mod_authz_core.so']) {
    if (!existsSync(join(APACHE_MODULES, m))) throw new Error(`apache2 has no ${m}`);
  }
  const base = makeTempDir('apache');
  const dataDir = join(base, 'data');
  const run = join(base, 'run');
  const lock = join(base, 'lock');
  for (const d of [dataDir, run, lock, join(base, 'logs')]) mkdirSync(d, { recursive: true });
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
  return finish('apache', t, port, dataDir, owner);
}

export const STARTERS: Record<PeerName, () => Promise<Peer>> = {
  gitdav: startGitdav,
  nginx: startNginx,
  apache: startApache,
};
