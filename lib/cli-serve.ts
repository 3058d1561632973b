/** `gitdav serve [options]`: configuration, the checks before listening, and startup errors in one line. */
import { resolve } from 'node:path';
import { ConfigError, loadConfig, type ServerConfig } from './config.js';
import { createLogger } from '../backends/util/log.js';
import { DEFAULT_FLIGHT_LIMITS, FlightRecorder } from '../backends/util/flight-recorder.js';
import { isMultiUser } from './auth/users-file.js';
import type { MetricsListener, ServerMetrics } from './metrics/index.js';
import type { Flight } from './flight/process.js';
import { describeStartError } from './start-errors.js';
import { checkRoot, refusalOf } from './serve-checks.js';
import { heapFlagsMissing } from './process-limits.js';
import { requireCjs } from '../backends/util/require-cjs.js';

export { describeStartError };

/**
 * Packages the start checks are there (found, not loaded), so that a damaged install fails at once in
 * one line, before any worker starts, not as a worker's stack trace or at a login later: the CommonJS
 * packages, loaded with require (backends/util/require-cjs.ts; some only by workers, or on first
 * need), and the ES-module packages imported on first use (docs/operations.md, "Memory").
 */
const REQUIRED_PACKAGES = ['koa', 'saxes', 'ipaddr.js', 'piscina', 'prom-client'];
const IMPORTED_LATER = ['bcryptjs'];
/** Whether the package resolves from here the way it is loaded (found, not loaded). */
function resolves(name: string, how: 'require' | 'import'): boolean {
  try {
    if (how === 'require') requireCjs.resolve(name);
    else import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

export const SERVE_USAGE = `usage: gitdav serve [--root DIR] [--backend git|fs] [--host ADDR] [--port N]
                    [--config FILE] [--log-level debug|info|warn|error|silent] [--insecure]
                    [--no-caldav] [--no-carddav] [--user NAME] [--email ADDRESS]
                    [--tls-cert FILE --tls-key FILE] [--realm TEXT] [--email-domain DOMAIN]
                    [--proxy-user-header NAME --trusted-proxies ADDR,...] [--anonymous-read NAME]
                    [--symlinks follow-inside|refuse] [--read-only]
                    [--metrics-port N [--metrics-host ADDR]] [--workers N] [--blob-cache-bytes N]`;

export const SERVE_HELP = `Serves DIR (default ./data) over WebDAV on http://127.0.0.1:8080/: a git repository (created if
DIR is empty; every change a commit), or with --backend fs a plain folder (one server per folder;
--symlinks: follow-inside, the default, follows a symbolic link only to a place inside the folder
holding it, and only for reading; refuse follows none).
CalDAV is on unless --no-caldav: /principals/NAME/, /calendars/NAME/ and a default calendar for the
user NAME (default: user) are made on first start; point calendar clients at the server's root URL.
CardDAV comes with it unless --no-carddav: /addressbooks/NAME/ and a default address book,
/addressbooks/NAME/contacts/, for contacts clients (the same root URL).
Once DIR/.htpasswd exists (gitdav user add), every request needs a login (HTTP Basic) and each user
has their own repository, DIR/users/NAME, with their own principal, calendars and address books;
gitdav share mounts one user's folder, calendar or address book into another's tree, read-only or
(--write) read-write (/shared/OWNER/…, or /calendars/GRANTEE/OWNER~NAME/ for a calendar,
/addressbooks/GRANTEE/OWNER~NAME/ for an address book).
With --tls-cert/--tls-key the server speaks HTTPS (SIGHUP reads the files again).
--workers N (default: the number of CPUs) runs N worker processes under a supervisor that holds the
port and replaces a worker that dies; SIGHUP to it, or "gitdav reload --root DIR", reads the
configuration and TLS files again and replaces the workers without dropping a connection (old
workers finish what is in flight, for up to "drainTimeoutMs", default an hour). --workers 1: one
process, as before.
--blob-cache-bytes N (git backend; default 1073741824, 1 GiB, per repository; 0: off) keeps blobs
read as plain files in <repository>/gitdav/blob-cache, so a GET of one streams a file, not zlib.
Its last 5,000 log records, debug level included, are kept in memory and written to
<state folder>/flight/ on a crash, on SIGUSR2 or by "gitdav dump --root DIR" (limits.flight*).
With --proxy-user-header a reverse proxy that did the login names the user (believed only from
--trusted-proxies); each user gets a repository as above. --anonymous-read NAME lets requests
without a login read (only read) NAME's tree. --read-only serves DIR without changing it (a backup,
a mirror): every request that would write gets 403.
With --metrics-port N, statistics in Prometheus' text format at http://127.0.0.1:N/metrics (a
listener of its own, without login or TLS: --metrics-host other than loopback needs --insecure);
gitdav status shows them on one screen.
Every option can also come from a JSON config file (its keys are the options in camelCase, e.g.
"logLevel", plus "limits") or GITDAV_ROOT, GITDAV_BACKEND, GITDAV_HOST,
GITDAV_PORT, GITDAV_LOG_LEVEL, GITDAV_INSECURE, GITDAV_CALDAV, GITDAV_USER, GITDAV_EMAIL,
GITDAV_TLS_CERT, GITDAV_TLS_KEY, GITDAV_REALM, GITDAV_EMAIL_DOMAIN, GITDAV_PROXY_USER_HEADER,
GITDAV_TRUSTED_PROXIES, GITDAV_ANONYMOUS_READ, GITDAV_SYMLINKS, GITDAV_READ_ONLY, GITDAV_METRICS_PORT,
GITDAV_METRICS_HOST, GITDAV_WORKERS, GITDAV_BLOB_CACHE_BYTES, GITDAV_CONFIG.
Listening on a non-loopback address needs TLS and users, or --insecure.`;

/** Runs the server; resolves -1 while it runs (signals end it), or an exit code when it could not start. */
export async function runServe(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${SERVE_USAGE}\n\n${SERVE_HELP}\n`);
    return 0;
  }
  let config: ServerConfig;
  try {
    config = loadConfig(args, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gitdav: ${err.message}\nrun "gitdav serve --help" for the options\n`);
    return 2;
  }
  const refused = refusalOf(config);
  if (refused) {
    process.stderr.write(`gitdav: ${refused}\n`);
    return 2;
  }
  const rootProblem = await checkRoot(config.root);
  if (rootProblem) {
    process.stderr.write(`gitdav: ${rootProblem}\n`);
    return 1;
  }
  // A damaged install fails the start here, in one line (REQUIRED_PACKAGES).
  const absent = [...REQUIRED_PACKAGES.filter((name) => !resolves(name, 'require')), ...IMPORTED_LATER.filter((name) => !resolves(name, 'import'))];
  if (absent.length > 0) {
    process.stderr.write(`gitdav: ${absent.join(', ')} cannot be found: reinstall gitdav's dependencies (npm ci)\n`);
    return 1;
  }
  // More than one worker: a supervisor holds the port and runs the workers (lib/cluster/).
  // The server's code is imported here, not at the top: a supervisor never loads it (docs/operations.md, "Memory").
  if (config.workers > 1) return (await import('./cluster/supervisor.js')).runSupervisor(config, args);
  const { startServer } = await import('./server.js');
  const multiUser = isMultiUser(config.root) || !!config.proxyUserHeader;
  const tls = !!config.tlsCert;
  const recorder = (config.limits.flightRecords ?? DEFAULT_FLIGHT_LIMITS.flightRecords) > 0 ? new FlightRecorder(config.limits) : undefined;
  const logger = createLogger(config.logLevel, undefined, recorder);
  // V8 sizes the heap at start: the config file's limits reach a worker's command line, not this process's.
  const missing = heapFlagsMissing(config.limits, process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0) logger.warn('heap limits not applied: with one process, give node the flags (docs/operations.md, "Memory")', { missing });
  // Metrics first: their port in use fails the start before anything is bound or opened.
  let metrics: { server: ServerMetrics; listener: MetricsListener } | undefined;
  if (config.metricsPort !== undefined) {
    const { createServerMetrics, describeMetricsListenError, listenMetrics } = await import('./metrics/index.js');
    const server = createServerMetrics();
    try {
      metrics = { server, listener: await listenMetrics(config.metricsHost, config.metricsPort, server.source) };
    } catch (err) {
      server.close();
      process.stderr.write(`gitdav: ${describeMetricsListenError(err, config.metricsHost, config.metricsPort)}\n`);
      return 1;
    }
  }
  let running;
  try {
    running = await startServer(config, logger, metrics?.server);
  } catch (err) {
    await metrics?.listener.close();
    process.stderr.write(`gitdav: ${describeStartError(err, config)}\n`);
    if (config.logLevel === 'debug') process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
  // Crashes and stray rejections are logged and dumped (lib/flight/process.ts); with no recorder, a
  // stray rejection is still only logged: requests are isolated by Koa, it must not end the server.
  let flight: Flight | undefined;
  const stateDir = running.app.stateDir;
  if (recorder && stateDir) flight = await (await import('./flight/process.js')).installFlight(recorder, stateDir, logger);
  else process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));
  logger.info('listening', { url: running.url + '/', root: resolve(config.root), backend: config.backend });
  const how = [config.backend, multiUser ? 'a repository per user, login required' : '', config.readOnly ? 'read-only' : ''].filter(Boolean).join(', ');
  process.stdout.write(`gitdav: serving ${resolve(config.root)} (${how}) at ${running.url}/\n`);
  if (metrics) process.stdout.write(`gitdav: metrics at ${metrics.listener.url}\n`);
  process.on('SIGHUP', () => {
    try {
      running.reloadTls();
      logger.info('reloaded', { tls });
    } catch (err) {
      logger.error('TLS reload failed; the old certificate stays', { err });
    }
  });
  const stop = (signal: string) => {
    logger.info('shutting down', { signal });
    running.close(config.shutdownGraceMs).finally(() => metrics?.listener.close()).then(
      async () => {
        logger.info('stopped', { signal, ...running.app.traffic.summary() });
        await flight?.close();
        process.exit(0);
      },
      async (err: unknown) => {
        logger.error('shutdown failed', { err, ...running.app.traffic.summary() });
        await flight?.dump('shutdown-failed');
        await flight?.close();
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return -1; // keep running
}
