/** The command line: defaults, config sources, refusal to listen openly, graceful SIGTERM. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw } from './helpers/server.js';
import { CLI, killCliProcesses, runCli } from './helpers/cli.js';
import { tool } from './helpers/tools.js';
import { openBackend } from '../lib/tenants.js';

const run = runCli;

describe('gitdav serve (CLI)', function () {
  // Each test runs several real CLI processes (node start-up, bcrypt at cost 10): ~7 s on a quiet
  // machine, over 20 s on a loaded one. A hang detector, not a speed check.
  this.timeout(90_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-cli-'))));
  afterEach(async () => {
    // A failed assertion must not leave a server running (mocha would never exit).
    killCliProcesses();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a new git repository in ./data by default and stops cleanly on SIGTERM', async () => {
    const p = run(['serve', '--port', '0', '--log-level', 'silent'], {}, dir);
    const url = await p.url;
    assert.match(p.output(), /\(git\)/);
    assert.equal((await raw(url, '/hello.txt', { method: 'PUT', body: 'hi' })).status, 201);
    const shown = await tool('git', ['--git-dir', join(dir, 'data'), 'show', 'main:hello.txt']);
    assert.equal(shown.stdout, 'hi', shown.stderr);
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  it('finishes an in-flight upload before exiting on SIGTERM', async () => {
    const p = run(['serve', '--root', dir, '--backend', 'fs', '--port', '0', '--log-level', 'silent']);
    const url = new URL(await p.url);
    const status = new Promise<number>((resolveStatus, reject) => {
      const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: '/slow.bin', headers: { 'Content-Length': 6 } }, (res) => {
        res.resume();
        resolveStatus(res.statusCode!);
      });
      req.on('error', reject);
      req.write('abc');
      setTimeout(() => {
        p.child.kill('SIGTERM');
        setTimeout(() => req.end('def'), 300);
      }, 200);
    });
    assert.equal(await status, 201);
    assert.equal(await p.exit, 0);
    assert.equal(await readFile(join(dir, 'slow.bin'), 'utf8'), 'abcdef');
  });

  it('refuses a non-loopback address without users and TLS, unless --insecure', async () => {
    const p = run(['serve', '--root', dir, '--host', '0.0.0.0', '--port', '0']);
    assert.equal(await p.exit, 2);
    assert.match(p.output(), /refusing to listen on 0\.0\.0\.0 without users \(gitdav user add\) and TLS/);
    const user = await tool(process.execPath, [CLI, 'user', 'add', 'alice', '--root', dir, '--password-stdin'], { input: 'alice-secret\n' });
    assert.equal(user.code, 0, user.stderr);
    const q = run(['serve', '--root', dir, '--host', '0.0.0.0', '--port', '0']);
    assert.equal(await q.exit, 2);
    assert.match(q.output(), /refusing to listen on 0\.0\.0\.0 without TLS \(--tls-cert, --tls-key\)/);
  });

  it('gitdav user add/list/passwd/remove keep ROOT/.htpasswd; serve then requires logins, a repository per user', async () => {
    const user = (args: string[], input?: string) => tool(process.execPath, [CLI, 'user', ...args, '--root', dir], { input });
    const add = await user(['add', 'alice', '--password-stdin'], 'alice-secret\n');
    assert.equal(add.code, 0, add.stderr);
    assert.match(await readFile(join(dir, '.htpasswd'), 'utf8'), /^alice:\$2y\$10\$[./A-Za-z0-9]{53}\n$/);
    assert.equal((await tool('git', ['--git-dir', join(dir, 'users', 'alice'), 'rev-parse', '--is-bare-repository'])).stdout.trim(), 'true');
    assert.equal((await user(['add', 'alice', '--password-stdin'], 'another-pw\n')).code, 1, 'an existing user is not overwritten');
    assert.equal((await user(['add', 'bob', '--password-stdin'], 'short\n')).code, 2, 'too short');
    assert.equal((await user(['add', '../evil', '--password-stdin'], 'long enough\n')).code, 2, 'not a user name');
    assert.equal((await user(['add', 'carol'], '')).code, 2, 'no terminal and no --password-stdin');
    assert.equal((await user(['add', 'bob', '--password-stdin'], 'bob-secret!')).code, 0);
    assert.equal((await user(['list'])).stdout, 'alice\nbob\n');

    const p = run(['serve', '--root', dir, '--port', '0', '--log-level', 'silent']);
    const url = await p.url;
    assert.match(p.output(), /a repository per user, login required/);
    const alice = { Authorization: 'Basic ' + Buffer.from('alice:alice-secret').toString('base64') };
    assert.equal((await raw(url, '/hello.txt', { method: 'PUT', body: 'hi' })).status, 401);
    assert.equal((await raw(url, '/hello.txt', { method: 'PUT', body: 'hi', headers: alice })).status, 201);
    assert.equal((await tool('git', ['--git-dir', join(dir, 'users', 'alice'), 'log', '-1', '--format=%an|%s', '--', 'hello.txt'])).stdout.trim(), 'alice|Add hello.txt');

    assert.equal((await user(['passwd', 'alice', '--password-stdin'], 'new-password\n')).code, 0);
    await new Promise((r) => setTimeout(r, 1100)); // the server looks at the file at most once a second
    assert.equal((await raw(url, '/hello.txt', { headers: alice })).status, 401, 'the old password is refused at once');
    const renewed = { Authorization: 'Basic ' + Buffer.from('alice:new-password').toString('base64') };
    assert.equal((await raw(url, '/hello.txt', { headers: renewed })).text, 'hi');
    const removed = await user(['remove', 'alice']);
    assert.equal(removed.code, 0);
    assert.match(removed.stdout, /their data stays in/);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await raw(url, '/hello.txt', { headers: renewed })).status, 401);
    assert.equal((await user(['list'])).stdout, 'bob\n');
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  it('gitdav share add [--write]/list/remove keep ROOT/shares.json', async () => {
    const cli = (args: string[], input?: string) => tool(process.execPath, [CLI, ...args, '--root', dir], { input });
    for (const u of ['alice', 'bob']) assert.equal((await cli(['user', 'add', u, '--password-stdin'], 'long-enough-pw')).code, 0);
    const add = await cli(['share', 'add', 'alice', '/calendars/alice/calendar', 'bob']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /at \/calendars\/bob\/alice~calendar/);
    assert.equal((await cli(['share', 'add', 'alice', 'docs/', 'bob'])).code, 0);
    const book = await cli(['share', 'add', 'alice', '/addressbooks/alice/contacts', 'bob', '--write']);
    assert.equal(book.code, 0, book.stderr);
    assert.match(book.stdout, /read-write, at \/addressbooks\/bob\/alice~contacts\n$/, 'an address book goes into the grantee’s address book home');
    assert.equal((await cli(['share', 'remove', 'alice', '/addressbooks/alice/contacts', 'bob'])).code, 0);
    assert.equal((await cli(['share', 'add', 'alice', '/docs', 'bob'])).code, 1, 'already shared');
    assert.equal((await cli(['share', 'add', 'alice', '/../etc', 'bob'])).code, 2);
    assert.equal((await cli(['share', 'add', 'alice', '/.history/x', 'bob'])).code, 2);
    assert.equal((await cli(['share', 'add', 'alice', '/docs', 'mallory'])).code, 1);
    assert.equal((await cli(['share', 'add', 'alice', '/docs', 'alice'])).code, 2);
    assert.equal((await cli(['share', 'list'])).stdout, 'alice /calendars/alice/calendar → bob (read) at /calendars/bob/alice~calendar\nalice /docs → bob (read) at /shared/alice/docs\n');
    const rw = await cli(['share', 'add', 'alice', '/docs', 'bob', '--write']);
    assert.equal(rw.code, 0, rw.stderr);
    assert.match(rw.stdout, /now shared alice \/docs with bob, read-write/, 'adding again with --write changes the access in place');
    assert.equal((await cli(['share', 'add', 'alice', '/docs', 'bob', '--write'])).code, 1, 'already shared read-write');
    assert.match((await cli(['share', 'list'])).stdout, /alice \/docs → bob \(write\) at \/shared\/alice\/docs\n$/);
    assert.equal((await cli(['share', 'remove', 'alice', '/docs', 'bob', '--write'])).code, 2, '--write belongs to add');
    assert.equal((await cli(['share', 'remove', 'alice', '/docs', 'bob'])).code, 0);
    assert.equal((await cli(['share', 'remove', 'alice', '/docs', 'bob'])).code, 1);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'shares.json'), 'utf8')), [{ owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'read' }]);
    const gone = await cli(['user', 'remove', 'bob']);
    assert.match(gone.stdout, /removed bob and their 1 share\(s\)/, 'a removed user’s shares go with them');
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'shares.json'), 'utf8')), []);
  });

  it('gitdav share add refuses a mount point where the grantee has something of their own (git and folder trees)', async () => {
    const cli = (args: string[], input?: string) => tool(process.execPath, [CLI, ...args, '--root', dir], { input });
    for (const [u, kind] of [['alice', 'git'], ['bob', 'git'], ['carol', 'fs']]) assert.equal((await cli(['user', 'add', u!, '--backend', kind!, '--password-stdin'], 'long-enough-pw')).code, 0);
    // Made before the server refused such names: straight in Bob's repository and Carol's folder.
    const bob = await openBackend('git', join(dir, 'users', 'bob'));
    for (const p of ['/addressbooks', '/addressbooks/bob', '/addressbooks/bob/alice~family']) await bob.mkcol(p, { props: [] });
    await bob.close?.();
    await mkdir(join(dir, 'users', 'carol', 'calendars', 'carol', 'alice~work'), { recursive: true });
    for (const [path, grantee, mount, kind] of [['/addressbooks/alice/family', 'bob', '/addressbooks/bob/alice~family', 'collection'], ['/calendars/alice/work', 'carol', '/calendars/carol/alice~work', 'collection']]) {
      const r = await cli(['share', 'add', 'alice', path!, grantee!, '--write']);
      assert.equal(r.code, 1, `${path} → ${grantee}: ${r.stdout}`);
      assert.equal(r.stderr, `gitdav share: ${grantee} already has a ${kind} of their own at ${mount}: rename or remove it first (it would be hidden by the share)\n`);
    }
    assert.equal((await cli(['share', 'list'])).stdout, '', 'nothing shared');
    // Where the grantee has nothing of that name, the same shares are made.
    for (const [path, grantee] of [['/addressbooks/alice/family', 'carol'], ['/calendars/alice/work', 'bob']]) {
      const r = await cli(['share', 'add', 'alice', path!, grantee!]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  it('takes options from a config file and the environment, flags winning', async () => {
    const other = join(dir, 'from-file');
    await writeFile(join(dir, 'gitdav.json'), JSON.stringify({ root: other, port: 1, logLevel: 'silent', backend: 'fs' }));
    const p = run(['serve', '--config', join(dir, 'gitdav.json'), '--port', '0'], { GITDAV_ROOT: join(dir, 'from-env') });
    const url = await p.url;
    await raw(url, '/x', { method: 'PUT', body: 'x' });
    assert.equal(await readFile(join(dir, 'from-env', 'x'), 'utf8'), 'x', 'environment beats the file');
    p.child.kill('SIGTERM');
    await p.exit;
  });

  it('rejects bad options with a message and exit code 2', async () => {
    for (const args of [['serve', '--port', 'http'], ['serve', '--backend', 'tape'], ['serve', '--frobnicate', '1'], ['dance'], ['serve', '--tls-cert', 'c.pem'], ['serve', '--proxy-user-header', 'Remote-User']]) {
      const p = run(args);
      assert.equal(await p.exit, 2, args.join(' '));
      assert.match(p.output(), /gitdav: /);
    }
    for (const limits of [{ maxHeaderBytes: -1 }, { maxConections: 5 }, { idleTimeoutMs: '1s' }]) {
      const file = join(dir, 'limits.json');
      await writeFile(file, JSON.stringify({ limits }));
      const p = run(['serve', '--config', file, '--port', '0']);
      assert.equal(await p.exit, 2, JSON.stringify(limits));
      assert.match(p.output(), /limit/);
    }
  });

  it('logs one structured JSON line per request', async () => {
    const p = run(['serve', '--root', dir, '--port', '0', '--log-level', 'info']);
    const url = await p.url;
    await raw(url, '/missing');
    await new Promise((r) => setTimeout(r, 100));
    p.child.kill('SIGTERM');
    await p.exit;
    const line = p.output().split('\n').find((l) => l.includes('"msg":"request"'))!;
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.method, 'GET');
    assert.equal(entry.url, '/missing');
    assert.equal(entry.status, 404);
    assert.equal(typeof entry.ms, 'number');
  });
});
