#!/usr/bin/env node
/** `gitdav serve [options]`: the command-line entry point. */
import { resolve } from 'node:path';
import { ConfigError, isLoopback, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { isMultiUser, startServer } from './server.js';
import { runShare, runUser, SHARE_USAGE, USER_USAGE } from './cli-user.js';
import { FolderInUseError } from '../backends/fs/folder-lock.js';

const USAGE = `usage: gitdav fsck [--root DIR]      check every object of the git repository DIR (default ./data)
       gitdav serve [--root DIR] [--backend git|fs] [--host ADDR] [--port N]
                    [--config FILE] [--log-level debug|info|warn|error|silent] [--insecure]
                    [--no-caldav] [--user NAME] [--email ADDRESS]
                    [--tls-cert FILE --tls-key FILE] [--realm TEXT] [--email-domain DOMAIN]
                    [--proxy-user-header NAME --trusted-proxies ADDR,...] [--anonymous-read NAME]
                    [--symlinks follow-inside|refuse]
${USER_USAGE.replace('usage: ', '       ')}
${SHARE_USAGE.replace('usage: ', '       ')}

Serves DIR (default ./data) over WebDAV on http://127.0.0.1:8080/: a git repository (created if
DIR is empty; every change a commit), or with --backend fs a plain folder (one server per folder;
--symlinks: follow-inside, the default, follows a symbolic link only to a place inside the folder
holding it, and only for reading; refuse follows none).
CalDAV is on unless --no-caldav: /principals/NAME/, /calendars/NAME/ and a default calendar for the
user NAME (default: user) are made on first start; point calendar clients at the server's root URL.
Once DIR/.htpasswd exists (gitdav user add), every request needs a login (HTTP Basic) and each user
has their own repository, DIR/users/NAME, with their own principal and calendars; gitdav share
mounts one user's folder or calendar into another's tree, read-only or (--write) read-write
(/shared/OWNER/…, or /calendars/GRANTEE/OWNER~NAME/ for a calendar).
With --tls-cert/--tls-key the server speaks HTTPS (SIGHUP reads the files again).
With --proxy-user-header a reverse proxy that did the login names the user (believed only from
--trusted-proxies); each user gets a repository as above. --anonymous-read NAME lets requests
without a login read (only read) NAME's tree.
Every option can also come from a JSON config file or GITDAV_ROOT, GITDAV_BACKEND, GITDAV_HOST,
GITDAV_PORT, GITDAV_LOG_LEVEL, GITDAV_INSECURE, GITDAV_CALDAV, GITDAV_USER, GITDAV_EMAIL,
GITDAV_TLS_CERT, GITDAV_TLS_KEY, GITDAV_REALM, GITDAV_EMAIL_DOMAIN, GITDAV_PROXY_USER_HEADER,
GITDAV_TRUSTED_PROXIES, GITDAV_ANONYMOUS_READ, GITDAV_SYMLINKS, GITDAV_CONFIG.
Listening on a non-loopback address needs TLS and users, or --insecure.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  if (command === 'fsck') return runFsck(rest);
  if (command === 'user') return runUser(rest);
  if (command === 'share') return runShare(rest);
  if (command !== 'serve') {
    process.stderr.write(`gitdav: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(rest, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gitdav: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const multiUser = isMultiUser(config.root) || !!config.proxyUserHeader;
  const tls = !!config.tlsCert;
  if (!isLoopback(config.host) && !config.insecure && !(multiUser && tls)) {
    const missing = [multiUser ? '' : 'users (gitdav user add)', tls ? '' : 'TLS (--tls-cert, --tls-key)'].filter(Boolean).join(' and ');
    process.stderr.write(
      `gitdav: refusing to listen on ${config.host} without ${missing}; ` +
        'pass --insecure to serve the network like this anyway\n',
    );
    return 2;
  }
  const logger = createLogger(config.logLevel);
  // Requests are isolated by Koa; a stray rejection elsewhere is logged, not allowed to end the server.
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));
  let running;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    if (!(err instanceof FolderInUseError)) throw err;
    process.stderr.write(`gitdav: ${err.message}\n`);
    return 1;
  }
  logger.info('listening', { url: running.url + '/', root: resolve(config.root), backend: config.backend });
  process.stdout.write(`gitdav: serving ${resolve(config.root)} (${config.backend}${multiUser ? ', a repository per user, login required' : ''}) at ${running.url}/\n`);
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
    running.close(config.shutdownGraceMs).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return -1; // keep running
}

async function runFsck(args: string[]): Promise<number> {
  let root = process.env.GITDAV_ROOT ?? './data';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root' && args[i + 1]) root = args[++i]!;
    else if (args[i]!.startsWith('--root=')) root = args[i]!.slice(7);
    else {
      process.stderr.write(`gitdav: unknown option ${args[i]}\n${USAGE}\n`);
      return 2;
    }
  }
  const { fsck } = await import('../backends/git/fsck.js');
  const { existsSync } = await import('node:fs');
  const gitdir = existsSync(resolve(root, '.git')) ? resolve(root, '.git') : resolve(root);
  if (!existsSync(resolve(gitdir, 'objects'))) {
    process.stderr.write(`gitdav: ${gitdir} is not a git repository\n`);
    return 2;
  }
  const report = await fsck(gitdir);
  for (const p of report.problems) process.stdout.write(`broken ${p.oid} (${p.where}): ${p.message}\n`);
  process.stdout.write(`${report.objects} objects checked, ${report.problems.length} broken\n`);
  return report.problems.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`gitdav: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
