/**
 * One server process per folder (folder backend; backends/fs/folder-lock.ts): two processes on one
 * folder lost If-Match updates (issue 10, #13). A second `gitdav serve` is refused with one line and
 * a non-zero exit; a dead holder's lock is taken over; backends of one process share the hold.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { FsBackend } from '../backends/fs/index.js';
import { writeUsers } from '../lib/auth/users-file.js';
import { raw } from './helpers/server.js';

const CLI = resolve('dist/lib/cli.js');
/** The lock is a symbolic link to nowhere (its target is the pid): existsSync would follow it. */
const present = (file: string) => lstat(file).then(() => true, () => false);
const children = new Set<ChildProcess>();

function serve(root: string): { child: ChildProcess; url: Promise<string>; exit: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [CLI, 'serve', '--workers', '1', '--root', root, '--backend', 'fs', '--port', '0', '--log-level', 'silent', '--no-caldav'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => (children.delete(child), r(code))));
  const url = new Promise<string>((ok, fail) => {
    child.stdout!.on('data', () => {
      const m = /at (https?:\/\/\S+?)\/\n/.exec(out);
      if (m) ok(m[1]!);
    });
    void exit.then((code) => fail(new Error(`exited ${code}: ${out}`)));
  });
  url.catch(() => undefined);
  return { child, url, exit, output: () => out };
}

/** A pid that certainly belongs to no running process: one that just exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** Opens the folder in another process: its exit code and output. */
async function openElsewhere(root: string): Promise<{ code: number | null; out: string }> {
  const script = `import(${JSON.stringify(resolve('dist/backends/fs/index.js'))}).then((m) => m.FsBackend.open({ root: ${JSON.stringify(root)} })).then((b) => b.close()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, out };
}

describe('one server process per folder (folder backend)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-lock-'))));
  afterEach(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('a second gitdav serve on the folder exits 1 with one line naming the first; after the first stops, it starts', async () => {
    const first = serve(dir);
    const url = await first.url;
    const second = serve(dir);
    assert.equal(await second.exit, 1);
    const lines = second.output().trim().split('\n');
    assert.equal(lines.length, 1, second.output());
    assert.match(lines[0]!, new RegExp(`^gitdav: .* is already served by process ${first.child.pid}\\b`));
    assert.equal((await raw(url, '/a.txt', { method: 'PUT', body: 'still served' })).status, 201, 'the first goes on');
    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0);
    assert.equal(await present(join(dir, '.gitdav', 'server.pid')), false, 'the lock goes with its server');
    const third = serve(dir);
    assert.equal((await raw(await third.url, '/a.txt')).text, 'still served');
    third.child.kill('SIGTERM');
    assert.equal(await third.exit, 0);
  });

  it('a lock left by a process that is gone (kill -9) is taken over', async () => {
    const crashed = serve(dir);
    await crashed.url;
    crashed.child.kill('SIGKILL');
    await crashed.exit;
    assert.ok(await present(join(dir, '.gitdav', 'server.pid')), 'a killed server leaves its lock');
    const next = serve(dir);
    await next.url;
    assert.match(await readlink(join(dir, '.gitdav', 'server.pid')), new RegExp(`^${next.child.pid} `));
    next.child.kill('SIGTERM');
    await next.exit;
    // A lock written as a plain file (where links cannot be made), by a pid that is gone.
    await writeFile(join(dir, '.gitdav', 'server.pid'), `${await deadPid()}\n`);
    const b = await FsBackend.open({ root: dir });
    await b.close();
  });

  it('a multi-user root is locked at start, before any user’s folder is opened', async () => {
    await writeUsers(dir, new Map([['alice', '$2y$04$abcdefghijklmnopqrstuu5Qw0s1nIYq0sCHM6qP7Nn0rj8eG6tS6']]));
    const first = serve(dir);
    await first.url;
    const second = serve(dir);
    assert.equal(await second.exit, 1);
    assert.match(second.output(), /already served by process/);
    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0);
  });

  it('backends of one process on one folder share the hold; another process waits for the last close', async () => {
    await mkdir(join(dir, 'data'));
    const root = join(dir, 'data');
    const a = await FsBackend.open({ root });
    const b = await FsBackend.open({ root });
    await b.write('/x.txt', Readable.from(['x']));
    const refused = await openElsewhere(root);
    assert.equal(refused.code, 3);
    assert.match(refused.out, new RegExp(`already served by process ${process.pid}`));
    await a.close();
    assert.equal((await openElsewhere(root)).code, 3, 'b still holds it');
    await b.close();
    assert.equal((await openElsewhere(root)).code, 0, refused.out);
  });

  it('a lock naming a live process is never taken', async () => {
    await mkdir(join(dir, '.gitdav'));
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    children.add(holder);
    await symlink(String(holder.pid), join(dir, '.gitdav', 'server.pid'));
    await assert.rejects(FsBackend.open({ root: dir }), /already served by process/);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    const b = await FsBackend.open({ root: dir });
    await b.close();
  });
});
