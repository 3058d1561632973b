/**
 * Server configuration from, in rising precedence: defaults, a JSON config file (`--config FILE` or
 * GITDAV_CONFIG), environment variables (GITDAV_*), and command-line flags.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import type { LogLevel } from '../backends/util/log.js';
import type { DavLimits } from './dav/context.js';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits.js';
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from './auth/backoff.js';
import { DAV_LIMIT_DEFAULTS } from './dav/limit-defaults.js';
import { isValidUserName } from './auth/htpasswd.js';
import { DEFAULT_SYMLINK_POLICY, SYMLINK_POLICIES, type SymlinkPolicy } from '../backends/fs/containment.js';
import { DEFAULT_FLIGHT_LIMITS, type FlightLimits } from '../backends/util/flight-recorder.js';
import { DEFAULT_PROCESS_LIMITS, processLimitProblem, type ProcessLimits } from './process-limits.js';

export interface ServerConfig {
  root: string;
  backend: 'git' | 'fs';
  host: string;
  port: number;
  /** Allow listening on a non-loopback address without authentication. */
  insecure: boolean;
  /** Serve CalDAV (principals, calendar homes) on this mount. */
  caldav: boolean;
  /** Serve CardDAV (address books under /addressbooks/) beside CalDAV; off when CalDAV is off. */
  carddav: boolean;
  /** The single-user server's CalDAV user: /principals/<user>/, /calendars/<user>/ (with users, each their own). */
  user: string;
  /** Their address (calendar-user-address-set). */
  email: string;
  logLevel: LogLevel;
  /** DAV limits (XML, PUT, Depth, ranges), connection limits (headers, timeouts, per address), logins, the flight recorder, workers' heap. */
  limits: Partial<DavLimits & ConnectionLimits & LoginLimits & FlightLimits & ProcessLimits>;
  /** Grace period for in-flight requests on SIGTERM, ms. */
  shutdownGraceMs: number;
  /** HTTPS: PEM certificate (chain) and key files, read again on SIGHUP. */
  tlsCert?: string;
  tlsKey?: string;
  /** Multi-user servers: the Basic realm, and the domain of each user's calendar address. */
  realm: string;
  emailDomain: string;
  /** Multi-user servers: where a user's data lives, if not ROOT/users/<name> (config file only). */
  mounts?: Record<string, string>;
  /** SSO in front: the header a reverse proxy names the logged-in user in (e.g. Remote-User)... */
  proxyUserHeader?: string;
  /** ...believed only from these proxy addresses, which also name the client in X-Forwarded-For (login back-off). */
  trustedProxies: string[];
  /** Multi-user servers: requests without a login may read (only read) this user's tree. */
  anonymousRead?: string;
  /** Folder backend: which symbolic links are followed (backends/fs/containment.ts). */
  symlinks: SymlinkPolicy;
  /**
   * Git backend: bytes of inflated blobs kept as files per repository; 0: none; unset: the backend's
   * default (DEFAULT_BLOB_CACHE_BYTES in backends/git/blob-cache.ts, which the supervisor never loads).
   */
  blobCacheBytes?: number;
  /** Git backend: a burst (one commit) closes after this long with no write from its user, ms (0: a commit per write batch). */
  burstWindowMs?: number;
  /** Git backend: a burst closes once its first write is this old, ms. */
  burstMaxAgeMs?: number;
  /** Git backend: junk patterns (gitignore syntax) stored beside the repository and never committed; unset: the default list. */
  ignore?: string[];
  /** Serve without changing anything (a backup, a mirror): every method that writes gets 403. */
  readOnly: boolean;
  /** Statistics in Prometheus' text format at http://metricsHost:metricsPort/metrics; none when unset. */
  metricsPort?: number;
  /** Loopback by default: the metrics listener has no login and no TLS (another address needs insecure). */
  metricsHost: string;
  /** Worker processes (lib/cluster/): 1 is the one-process server; more run under a supervisor. */
  workers: number;
  /** How long an old worker may take after a reload to finish what is in flight (uploads included), ms. */
  drainTimeoutMs: number;
  /**
   * Set only by the supervisor for its workers (never read from argv, env or a file): the folder's
   * server.pid, the temp area and the login back-off belong to the supervisor.
   */
  supervised?: boolean;
}

export const DEFAULTS: ServerConfig = {
  root: './data',
  backend: 'git',
  host: '127.0.0.1',
  port: 8080,
  insecure: false,
  caldav: true,
  carddav: true,
  user: 'user',
  email: 'user@localhost',
  logLevel: 'info',
  limits: {},
  shutdownGraceMs: 30_000,
  realm: 'gitdav',
  emailDomain: 'localhost',
  trustedProxies: [],
  symlinks: DEFAULT_SYMLINK_POLICY,
  readOnly: false,
  metricsHost: '127.0.0.1',
  workers: Math.min(256, availableParallelism()),
  drainTimeoutMs: 3_600_000,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Every key a config file may hold: the one list both the file check and the type agree on (a new
 * ServerConfig field does not compile until it is named here).
 */
const CONFIG_KEYS: Record<Exclude<keyof ServerConfig, 'supervised'>, true> = {
  root: true,
  backend: true,
  host: true,
  port: true,
  insecure: true,
  caldav: true,
  carddav: true,
  user: true,
  email: true,
  logLevel: true,
  limits: true,
  shutdownGraceMs: true,
  tlsCert: true,
  tlsKey: true,
  realm: true,
  emailDomain: true,
  mounts: true,
  proxyUserHeader: true,
  trustedProxies: true,
  anonymousRead: true,
  symlinks: true,
  blobCacheBytes: true,
  burstWindowMs: true,
  burstMaxAgeMs: true,
  ignore: true,
  readOnly: true,
  metricsPort: true,
  metricsHost: true,
  workers: true,
  drainTimeoutMs: true,
};

const FLAGS: Record<string, keyof ServerConfig> = {
  '--root': 'root',
  '--backend': 'backend',
  '--host': 'host',
  '--port': 'port',
  '--log-level': 'logLevel',
  '--user': 'user',
  '--email': 'email',
  '--tls-cert': 'tlsCert',
  '--tls-key': 'tlsKey',
  '--realm': 'realm',
  '--email-domain': 'emailDomain',
  '--proxy-user-header': 'proxyUserHeader',
  '--trusted-proxies': 'trustedProxies',
  '--anonymous-read': 'anonymousRead',
  '--symlinks': 'symlinks',
  '--blob-cache-bytes': 'blobCacheBytes',
  '--burst-window-ms': 'burstWindowMs',
  '--burst-max-age-ms': 'burstMaxAgeMs',
  '--metrics-port': 'metricsPort',
  '--metrics-host': 'metricsHost',
  '--workers': 'workers',
};

const ENV: Record<string, keyof ServerConfig> = {
  GITDAV_ROOT: 'root',
  GITDAV_BACKEND: 'backend',
  GITDAV_HOST: 'host',
  GITDAV_PORT: 'port',
  GITDAV_LOG_LEVEL: 'logLevel',
  GITDAV_INSECURE: 'insecure',
  GITDAV_CALDAV: 'caldav',
  GITDAV_CARDDAV: 'carddav',
  GITDAV_USER: 'user',
  GITDAV_EMAIL: 'email',
  GITDAV_TLS_CERT: 'tlsCert',
  GITDAV_TLS_KEY: 'tlsKey',
  GITDAV_REALM: 'realm',
  GITDAV_EMAIL_DOMAIN: 'emailDomain',
  GITDAV_PROXY_USER_HEADER: 'proxyUserHeader',
  GITDAV_TRUSTED_PROXIES: 'trustedProxies',
  GITDAV_ANONYMOUS_READ: 'anonymousRead',
  GITDAV_SYMLINKS: 'symlinks',
  GITDAV_BLOB_CACHE_BYTES: 'blobCacheBytes',
  GITDAV_BURST_WINDOW_MS: 'burstWindowMs',
  GITDAV_BURST_MAX_AGE_MS: 'burstMaxAgeMs',
  GITDAV_READ_ONLY: 'readOnly',
  GITDAV_METRICS_PORT: 'metricsPort',
  GITDAV_METRICS_HOST: 'metricsHost',
  GITDAV_WORKERS: 'workers',
};

/** Options that take no value: the setting each one sets, and to what. */
const SWITCHES: Record<string, [keyof ServerConfig, boolean]> = { '--insecure': ['insecure', true], '--no-caldav': ['caldav', false], '--no-carddav': ['carddav', false], '--read-only': ['readOnly', true] };

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const flags: Record<string, unknown> = {};
  let configFile = env.GITDAV_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const flag = SWITCHES[name];
    if (flag) {
      flags[flag[0]] = flag[1];
      continue;
    }
    if (!name.startsWith('-')) throw new ConfigError(`unexpected argument "${arg}" (the folder to serve is --root DIR)`);
    if (name !== '--config' && !FLAGS[name]) throw new ConfigError(`unknown option ${name}${hint(name, [...Object.keys(FLAGS), '--config', ...Object.keys(SWITCHES)])}`);
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new ConfigError(`${name} needs a value`);
    if (name === '--config') configFile = value;
    else flags[FLAGS[name]!] = value;
  }
  const fromFile = configFile ? readConfigFile(configFile) : {};
  const fromEnv: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(ENV)) if (env[k] !== undefined && env[k] !== '') fromEnv[key] = env[k];
  return validate({ ...DEFAULTS, ...fromFile, ...fromEnv, ...flags });
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  let fromFile: Record<string, unknown>;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    fromFile = parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not a JSON object: ${(err as Error).message}`);
  }
  // A misspelt key would silently leave its default in force: refused, as an unknown limit is.
  for (const key of Object.keys(fromFile)) {
    if (!Object.hasOwn(CONFIG_KEYS, key)) throw new ConfigError(`config file ${path}: unknown key "${key}"${hint(key, Object.keys(CONFIG_KEYS))}`);
  }
  return fromFile;
}

/** ` (did you mean "x"?)` when one known name is a near miss (case, or a typo or two), else ''. */
export function hint(word: string, known: string[]): string {
  const near = nearest(word, known);
  return near ? ` (did you mean ${near.startsWith('-') ? near : `"${near}"`}?)` : '';
}

function nearest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(word.length / 3));
  for (const k of known) {
    if (k.toLowerCase() === word.toLowerCase()) return k;
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d <= bestDistance) [best, bestDistance] = [k, d - 1];
  }
  return best;
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment); names are short. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function validate(raw: Record<string, unknown>): ServerConfig {
  const port = Number(raw.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid port "${String(raw.port)}"`);
  if (raw.backend !== 'fs' && raw.backend !== 'git') throw new ConfigError(`unknown backend "${String(raw.backend)}" (available: git, fs)`);
  const levels = ['debug', 'info', 'warn', 'error', 'silent'];
  if (!levels.includes(String(raw.logLevel))) throw new ConfigError(`log level must be one of ${levels.join(', ')}`);
  const insecure = raw.insecure === true || raw.insecure === 'true' || raw.insecure === '1';
  const readOnly = raw.readOnly === true || raw.readOnly === 'true' || raw.readOnly === '1';
  const caldav = !(raw.caldav === false || raw.caldav === 'false' || raw.caldav === '0');
  // Address books hang off CalDAV's principal: without CalDAV there is no principal to find them from.
  const carddav = caldav && !(raw.carddav === false || raw.carddav === 'false' || raw.carddav === '0');
  const user = String(raw.user);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(user) || user.startsWith('.')) throw new ConfigError(`user "${user}" must be letters, digits, . _ - (it names folders)`);
  const tlsCert = raw.tlsCert === undefined ? '' : String(raw.tlsCert);
  const tlsKey = raw.tlsKey === undefined ? '' : String(raw.tlsKey);
  if (!tlsCert !== !tlsKey) throw new ConfigError('--tls-cert and --tls-key go together');
  const realm = String(raw.realm);
  if (!/^[\x20-\x7e]{1,64}$/.test(realm) || realm.includes('"') || realm.includes('\\')) throw new ConfigError('the realm must be printable ASCII without quotes or backslashes');
  const mounts = raw.mounts as Record<string, string> | undefined;
  if (mounts !== undefined && (typeof mounts !== 'object' || Object.values(mounts).some((v) => typeof v !== 'string'))) {
    throw new ConfigError('mounts must map user names to folders');
  }
  const proxyUserHeader = raw.proxyUserHeader === undefined || raw.proxyUserHeader === '' ? undefined : String(raw.proxyUserHeader);
  if (proxyUserHeader !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(proxyUserHeader)) throw new ConfigError(`"${proxyUserHeader}" is not a header name`);
  const trustedProxies = (Array.isArray(raw.trustedProxies) ? raw.trustedProxies.map(String) : String(raw.trustedProxies ?? '').split(',')).map((a) => a.trim()).filter(Boolean);
  const notAddress = trustedProxies.find((a) => isIP(a) === 0);
  if (notAddress !== undefined) throw new ConfigError(`--trusted-proxies: "${notAddress}" is not an IP address`);
  if (proxyUserHeader && trustedProxies.length === 0) throw new ConfigError('--proxy-user-header needs --trusted-proxies (the proxy addresses to believe it from)');
  const anonymousRead = raw.anonymousRead === undefined || raw.anonymousRead === '' ? undefined : String(raw.anonymousRead);
  if (anonymousRead !== undefined && !isValidUserName(anonymousRead)) throw new ConfigError(`--anonymous-read "${anonymousRead}" is not a user name`);
  const symlinks = String(raw.symlinks) as SymlinkPolicy;
  if (!SYMLINK_POLICIES.includes(symlinks)) throw new ConfigError(`symlinks must be one of ${SYMLINK_POLICIES.join(', ')}`);
  // Digits only (a number from a config file, or a string from argv or env): " ", "0x10", "1e9" or true are refused, not read as 0, 16 or 1.
  const rawBlob = raw.blobCacheBytes;
  const blobCacheBytes = rawBlob === undefined || rawBlob === '' ? undefined : typeof rawBlob === 'number' || (typeof rawBlob === 'string' && /^\d+$/.test(rawBlob)) ? Number(rawBlob) : NaN;
  if (blobCacheBytes !== undefined && (!Number.isSafeInteger(blobCacheBytes) || blobCacheBytes < 0)) throw new ConfigError(`--blob-cache-bytes must be a whole number of bytes (0 turns the cache off), not "${String(raw.blobCacheBytes)}"`);
  const burstWindowMs = optionalMs('--burst-window-ms', raw.burstWindowMs);
  const burstMaxAgeMs = optionalMs('--burst-max-age-ms', raw.burstMaxAgeMs);
  const ignore = raw.ignore === undefined ? undefined : Array.isArray(raw.ignore) && raw.ignore.every((l: unknown) => typeof l === 'string') ? (raw.ignore as string[]) : undefined;
  if (raw.ignore !== undefined && ignore === undefined) throw new ConfigError('ignore must be a list of patterns (gitignore syntax), e.g. [".DS_Store", "*.swp"]');
  const metricsPort = raw.metricsPort === undefined || raw.metricsPort === '' ? undefined : Number(raw.metricsPort);
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) throw new ConfigError(`invalid metrics port "${String(raw.metricsPort)}"`);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) throw new ConfigError(`--metrics-port must differ from --port (${port}): the metrics have a listener of their own`);
  const metricsHost = String(raw.metricsHost);
  if (!metricsHost) throw new ConfigError('--metrics-host needs an address');
  const workers = Number(raw.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new ConfigError(`--workers must be a whole number from 1 to 256, not "${String(raw.workers)}"`);
  const drainTimeoutMs = timerMs('drainTimeoutMs', raw.drainTimeoutMs);
  const shutdownGraceMs = timerMs('shutdownGraceMs', raw.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs);
  return {
    root: String(raw.root),
    backend: raw.backend,
    host: String(raw.host),
    port,
    insecure,
    caldav,
    carddav,
    user,
    email: String(raw.email),
    logLevel: raw.logLevel as LogLevel,
    limits: validLimits(raw.limits),
    shutdownGraceMs,
    tlsCert: tlsCert || undefined,
    tlsKey: tlsKey || undefined,
    realm,
    emailDomain: String(raw.emailDomain),
    mounts,
    proxyUserHeader,
    trustedProxies,
    anonymousRead,
    symlinks,
    blobCacheBytes,
    burstWindowMs,
    burstMaxAgeMs,
    ignore,
    readOnly,
    metricsPort,
    metricsHost,
    workers,
    drainTimeoutMs,
  };
}

/** A duration in whole milliseconds (digits only, as --blob-cache-bytes), or undefined when unset. */
function optionalMs(flag: string, value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value)) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 86_400_000) throw new ConfigError(`${flag} must be a whole number of milliseconds up to a day, not "${String(value)}"`);
  return n;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `limits` from the config file: known keys only, each a non-negative integer. */
function validLimits(raw: unknown): Partial<DavLimits & ConnectionLimits & LoginLimits & FlightLimits & ProcessLimits> {
  if (raw === undefined) return {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('limits must be an object');
  const known = new Set([...Object.keys(DAV_LIMIT_DEFAULTS), ...Object.keys(DEFAULT_CONNECTION_LIMITS), ...Object.keys(DEFAULT_LOGIN_LIMITS), ...Object.keys(DEFAULT_FLIGHT_LIMITS), ...Object.keys(DEFAULT_PROCESS_LIMITS)]);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!known.has(k)) throw new ConfigError(`unknown limit "${k}"${hint(k, [...known]) || ` (known: ${[...known].join(', ')})`}`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ConfigError(`limit ${k} must be a non-negative integer`);
    const problem = Object.hasOwn(DEFAULT_PROCESS_LIMITS, k) ? processLimitProblem(k as keyof ProcessLimits, v) : undefined;
    if (problem) throw new ConfigError(problem);
    out[k] = v;
  }
  return out as Partial<DavLimits & ConnectionLimits & LoginLimits & FlightLimits & ProcessLimits>;
}

/** The longest delay Node's setTimeout keeps (a longer one fires after 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

/** A delay in milliseconds a timer can wait: a whole number from 0 to MAX_TIMER_MS. */
function timerMs(key: string, value: unknown): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMER_MS) throw new ConfigError(`${key} must be a whole number of milliseconds from 0 to ${MAX_TIMER_MS} (about 24.8 days), not "${String(value)}"`);
  return ms;
}
