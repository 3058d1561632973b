/** Running Debian's vdirsyncer in tests: a config for one pair (local folder ↔ DAV server) and the command. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tool, type ToolResult } from './tools.js';

export const VDIRSYNCER = '/usr/bin/vdirsyncer';

export interface PairConfig {
  /** Where the config, its status folder and HOME live. */
  dir: string;
  /** Config file name inside `dir` (also names the status folder: one per config). */
  name: string;
  storage: 'caldav' | 'carddav';
  url: string;
  username: string;
  password: string;
  /** The local side: one subfolder per collection. */
  local: string;
  fileext: '.ics' | '.vcf';
  /** Extra lines for the pair section (conflict_resolution, metadata). */
  pairExtra?: string;
  /** Shared status folder name (configs that are the same pair seen with other options share it). */
  status?: string;
}

/** Writes the config; the pair is named `p`, its storages `p_local` and `p_remote`. */
export async function writePairConfig(c: PairConfig): Promise<string> {
  const file = join(c.dir, `${c.name}.conf`);
  await writeFile(
    file,
    `[general]
status_path = "${join(c.dir, `status-${c.status ?? c.name}`)}/"

[pair p]
a = "p_local"
b = "p_remote"
collections = ["from a", "from b"]
${c.pairExtra ?? ''}

[storage p_local]
type = "filesystem"
path = "${c.local}/"
fileext = "${c.fileext}"

[storage p_remote]
type = "${c.storage}"
url = "${c.url}"
username = "${c.username}"
password = "${c.password}"
`,
  );
  return file;
}

/** vdirsyncer -c CONFIG ARGS (stdin answers its questions); `out` is stdout and stderr together. */
export async function vdirsyncer(home: string, config: string, args: string[], input?: string): Promise<ToolResult & { out: string }> {
  const r = await tool(VDIRSYNCER, ['-c', config, ...args], {
    timeout: 60_000,
    input,
    env: { ...process.env, HOME: home, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
  });
  return { ...r, out: r.stdout + r.stderr };
}
