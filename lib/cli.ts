#!/usr/bin/env node
/** `gitdav serve|fsck|restore|user|share|status|dump|reload`: the command-line entry point. */
import { readFileSync } from 'node:fs';

const usageLines = (usage: string) => usage.replace(/^usage: /, '       ');

/**
 * Each command's code is imported when that command runs: `gitdav serve` (its supervisor above all)
 * does not hold fsck's, the user commands' or the backends' code it never runs.
 */
async function usage(): Promise<string> {
  const [user, fsck, restore, serve, status, dump, reload, mirror] = await Promise.all([
    import('./cli-user.js'),
    import('./cli-fsck.js'),
    import('./cli-restore.js'),
    import('./cli-serve.js'),
    import('./cli-status.js'),
    import('./flight/dump-command.js'),
    import('./cluster/reload-command.js'),
    import('./cli-mirror.js'),
  ]);
  return `usage: gitdav --version | --help
${usageLines(serve.SERVE_USAGE)}
${usageLines(fsck.FSCK_USAGE)}
${usageLines(restore.RESTORE_USAGE)}
${usageLines((await import('./cli-reindex.js')).REINDEX_USAGE)}
${usageLines(user.USER_USAGE)}
${usageLines(user.SHARE_USAGE)}
${usageLines(status.STATUS_USAGE)}
${usageLines(dump.DUMP_USAGE)}
${usageLines(reload.RELOAD_USAGE)}
${usageLines(mirror.MIRROR_USAGE)}

${serve.SERVE_HELP}
"gitdav COMMAND --help" shows one command's options.`;
}

/** The version in package.json (dist/lib/cli.js → ../../package.json). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command) {
    process.stderr.write((await usage()) + '\n');
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write((await usage()) + '\n');
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`gitdav ${version()}\n`);
    return 0;
  }
  if (command === 'serve') return (await import('./cli-serve.js')).runServe(rest);
  if (command === 'fsck') return (await import('./cli-fsck.js')).runFsck(rest);
  if (command === 'restore') return (await import('./cli-restore.js')).runRestore(rest);
  if (command === 'reindex') return (await import('./cli-reindex.js')).runReindex(rest);
  if (command === 'user') return (await import('./cli-user.js')).runUser(rest);
  if (command === 'share') return (await import('./cli-user.js')).runShare(rest);
  if (command === 'status') return (await import('./cli-status.js')).runStatus(rest);
  if (command === 'dump') return (await import('./flight/dump-command.js')).runDump(rest);
  if (command === 'mirror') return (await import('./cli-mirror.js')).runMirror(rest);
  if (command === 'reload') return (await import('./cluster/reload-command.js')).runReload(rest);
  process.stderr.write(`gitdav: unknown ${command.startsWith('-') ? 'option' : 'command'} "${command}"\nrun "gitdav --help" for the commands\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // Nothing expected ends here; the stack helps the bug report.
    process.stderr.write(`gitdav: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
