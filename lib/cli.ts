#!/usr/bin/env node
/** `gitdav serve|fsck|user|share|status|dump|reload`: the command-line entry point. */
import { readFileSync } from 'node:fs';
import { runShare, runUser, SHARE_USAGE, USER_USAGE } from './cli-user.js';
import { FSCK_USAGE, runFsck } from './cli-fsck.js';
import { runServe, SERVE_HELP, SERVE_USAGE } from './cli-serve.js';
import { runStatus, STATUS_USAGE } from './cli-status.js';
import { DUMP_USAGE, runDump } from './flight/dump-command.js';
import { RELOAD_USAGE, runReload } from './cluster/reload-command.js';

const usageLines = (usage: string) => usage.replace(/^usage: /, '       ');

const USAGE = `usage: gitdav --version | --help
${usageLines(SERVE_USAGE)}
${usageLines(FSCK_USAGE)}
${usageLines(USER_USAGE)}
${usageLines(SHARE_USAGE)}
${usageLines(STATUS_USAGE)}
${usageLines(DUMP_USAGE)}
${usageLines(RELOAD_USAGE)}

${SERVE_HELP}
"gitdav COMMAND --help" shows one command's options.`;

/** The version in package.json (dist/lib/cli.js → ../../package.json). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`gitdav ${version()}\n`);
    return 0;
  }
  if (command === 'serve') return runServe(rest);
  if (command === 'fsck') return runFsck(rest);
  if (command === 'user') return runUser(rest);
  if (command === 'share') return runShare(rest);
  if (command === 'status') return runStatus(rest);
  if (command === 'dump') return runDump(rest);
  if (command === 'reload') return runReload(rest);
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
