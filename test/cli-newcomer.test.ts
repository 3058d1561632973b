/**
 * The command line as a newcomer meets it, run as a real process of the built CLI: --help and
 * --version everywhere, unknown options and config keys named, startup failures in one line with
 * nothing created, fsck on a multi-user root, and plain HTTP sent to the HTTPS port.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { basic, raw, tlsFiles } from './helpers/server.js';
import { tool } from './helpers/tools.js';
import { CLI, killCliProcesses, runCli } from './helpers/cli.js';

const VERSION = (JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { version: string }).version;

/** The CLI run to its end (a command that should not keep running). */
const cli = (args: string[], options: { input?: string; cwd?: string } = {}) => tool(process.execPath, [CLI, ...args], options);

/** `gitdav serve …` left running: its URL once it listens, and its exit. */
const serve = (args: string[]) => runCli(['serve', '--port', '0', '--log-level', 'silent', ...args]);

/** One line, no stack trace: what a user reads when a start fails. */
function assertOneLine(text: string, pattern: RegExp): void {
  assert.match(text, pattern);
  assert.doesNotMatch(text, /^\s+at /m, `a stack trace:\n${text}`);
  assert.equal(text.trim().split('\n').length, 1, `more than one line:\n${text}`);
}

describe('gitdav command line (a newcomer)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-newcomer-'))));
  afterEach(async () => {
    killCliProcesses();
    await rm(dir, { recursive: true, force: true });
  });

  describe('help, version and unknown options', () => {
    const cases: { args: string[]; code: number; stdout?: RegExp; stderr?: RegExp }[] = [
      { args: ['--help'], code: 0, stdout: /usage: gitdav --version[\s\S]*gitdav serve[\s\S]*gitdav fsck[\s\S]*gitdav user[\s\S]*gitdav share/ },
      { args: ['--version'], code: 0, stdout: new RegExp(`^gitdav ${VERSION.replace(/\./g, '\\.')}\\n$`) },
      { args: ['-V'], code: 0, stdout: new RegExp(`^gitdav ${VERSION.replace(/\./g, '\\.')}\\n$`) },
      { args: ['serve', '--help'], code: 0, stdout: /^usage: gitdav serve \[--root DIR\][\s\S]*--tls-cert/ },
      { args: ['serve', '-h'], code: 0, stdout: /^usage: gitdav serve / },
      { args: ['fsck', '--help'], code: 0, stdout: /^usage: gitdav fsck \[--root DIR\]/ },
      { args: ['user', '--help'], code: 0, stdout: /^usage: gitdav user add NAME[\s\S]*at least 8 characters/ },
      { args: ['user', 'add', '--help'], code: 0, stdout: /^usage: gitdav user add NAME/ },
      { args: ['share', '--help'], code: 0, stdout: /^usage: gitdav share add OWNER PATH GRANTEE[\s\S]*\/addressbooks\/GRANTEE\/OWNER~NAME\// },
      { args: ['serve', '--bogus'], code: 2, stderr: /^gitdav: unknown option --bogus\n.*gitdav serve --help/ },
      { args: ['serve', '--bogus', '--port', '0'], code: 2, stderr: /unknown option --bogus/ },
      { args: ['serve', '--prot', '8081'], code: 2, stderr: /unknown option --prot \(did you mean --port\?\)/ },
      { args: ['serve', 'data'], code: 2, stderr: /unexpected argument "data"/ },
      { args: ['serve', '--root'], code: 2, stderr: /--root needs a value/ },
      { args: ['fsck', '--bogus'], code: 2, stderr: /unknown option --bogus\nusage: gitdav fsck/ },
      { args: ['user', 'list', '--bogus'], code: 2, stderr: /unknown option --bogus\nusage: gitdav user/ },
      { args: ['share', 'list', '--bogus'], code: 2, stderr: /unknown option --bogus\nusage: gitdav share/ },
      { args: ['share', 'list', '--root'], code: 2, stderr: /--root needs a value/ },
      { args: ['dump', '--help'], code: 0, stdout: /^usage: gitdav dump \[--root DIR\][\s\S]*SIGUSR2/ },
      { args: ['dump', '--bogus'], code: 2, stderr: /unknown option --bogus\nusage: gitdav dump/ },
      { args: ['dump', '--root'], code: 2, stderr: /--root needs a value/ },
      { args: ['--bogus'], code: 2, stderr: /unknown option "--bogus"/ },
      { args: [], code: 2, stderr: /^usage: gitdav/ },
    ];
    for (const c of cases) {
      it(`gitdav ${c.args.join(' ')} → exit ${c.code}`, async () => {
        const r = await cli(c.args, { cwd: dir });
        assert.equal(r.code, c.code, `${r.stdout}${r.stderr}`);
        if (c.stdout) assert.match(r.stdout, c.stdout);
        if (c.stderr) assert.match(r.stderr, c.stderr);
        assert.equal(existsSync(join(dir, 'data')), false, 'nothing is created');
      });
    }
  });

  describe('startup failures: one line, non-zero, nothing created', () => {
    let busy: Server;
    beforeEach(async () => {
      busy = createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    });
    afterEach(() => new Promise<void>((r) => busy.close(() => r())));

    for (const backend of ['git', 'fs']) {
      it(`a port in use is named, and the root is not created (${backend})`, async () => {
        const port = (busy.address() as { port: number }).port;
        const root = join(dir, 'new-root');
        const p = serve(['--root', root, '--backend', backend, '--port', String(port)]);
        assert.equal(await p.exit, 1);
        assertOneLine(p.output(), new RegExp(`^gitdav: port ${port} on 127\\.0\\.0\\.1 is in use \\(EADDRINUSE\\)`));
        assert.equal(existsSync(root), false, 'the root was created although the port was taken');
      });
    }

    it('a root that is a file', async () => {
      const file = join(dir, 'a-file');
      await writeFile(file, 'x');
      const p = serve(['--root', file]);
      assert.equal(await p.exit, 1);
      assertOneLine(p.output(), /is a file, not a folder/);
      assert.equal(await readFile(file, 'utf8'), 'x');
    });

    for (const backend of ['git', 'fs']) {
      it(`a root that cannot be created (${backend})`, async () => {
        await writeFile(join(dir, 'a-file'), 'x');
        const p = serve(['--root', join(dir, 'a-file', 'root'), '--backend', backend]);
        assert.equal(await p.exit, 1);
        assertOneLine(p.output(), /^gitdav: cannot create .*a-file.*\(ENOTDIR\)/);
      });
    }

    it('an unwritable root', async function () {
      if (process.getuid?.() === 0) this.skip(); // root writes anywhere
      const root = join(dir, 'locked');
      await chmod(dir, 0o555);
      try {
        const p = serve(['--root', root]);
        assert.equal(await p.exit, 1);
        assertOneLine(p.output(), /^gitdav: cannot create .*locked.*\(EACCES\)/);
      } finally {
        await chmod(dir, 0o755);
      }
    });

    it('a damaged install (a package missing): one line naming it, before any worker starts', async () => {
      // A copy of the built server beside a node_modules that links every installed package but one.
      const app = join(dir, 'app');
      await mkdir(join(app, 'node_modules'), { recursive: true });
      await cp(resolve('package.json'), join(app, 'package.json'));
      for (const part of ['lib', 'backends']) await cp(resolve('dist', part), join(app, 'dist', part), { recursive: true });
      const installed = (await readdir(resolve('node_modules'))).filter((name) => !name.startsWith('.'));
      for (const missing of ['koa', 'saxes', 'ipaddr.js', 'piscina', 'prom-client', 'bcryptjs']) {
        assert.ok(installed.includes(missing), missing);
        await rm(join(app, 'node_modules'), { recursive: true, force: true });
        await mkdir(join(app, 'node_modules'));
        for (const name of installed) if (name !== missing) await symlink(resolve('node_modules', name), join(app, 'node_modules', name), 'dir');
        const root = join(dir, `root-${missing}`);
        const r = await tool(process.execPath, [join(app, 'dist', 'lib', 'cli.js'), 'serve', '--root', root, '--port', '0', '--workers', '2', '--log-level', 'silent']);
        assert.equal(r.code, 1, `${missing}: ${r.stdout}${r.stderr}`);
        assertOneLine(r.stdout + r.stderr, new RegExp(`^gitdav: ${missing.replace('.', '\\.')} cannot be found: reinstall gitdav's dependencies \\(npm ci\\)`));
        assert.equal(existsSync(root), false, 'the root was created');
      }
    });

    it('a TLS certificate that is missing or not a certificate', async () => {
      const p = serve(['--root', join(dir, 'r'), '--tls-cert', join(dir, 'missing.pem'), '--tls-key', join(dir, 'missing.key')]);
      assert.equal(await p.exit, 1);
      assertOneLine(p.output(), /cannot read the TLS certificate .*missing\.pem: no such file or folder \(ENOENT\)/);
      await writeFile(join(dir, 'junk.pem'), 'not a certificate');
      const q = serve(['--root', join(dir, 'r'), '--tls-cert', join(dir, 'junk.pem'), '--tls-key', join(dir, 'junk.pem')]);
      assert.equal(await q.exit, 1);
      assertOneLine(q.output(), /the TLS certificate or key cannot be used/);
      assert.equal(existsSync(join(dir, 'r')), false);
    });
  });

  describe('config file keys', () => {
    const cases: { file: Record<string, unknown>; error: RegExp }[] = [
      { file: { prot: 8081 }, error: /unknown key "prot" \(did you mean "port"\?\)/ },
      { file: { logLevel: 'silent', loglevel: 'debug' }, error: /unknown key "loglevel" \(did you mean "logLevel"\?\)/ },
      { file: { tls_cert: 'x.pem' }, error: /unknown key "tls_cert"/ },
      { file: { limits: { maxHeaderByte: 1 } }, error: /unknown limit "maxHeaderByte" \(did you mean "maxHeaderBytes"\?\)/ },
    ];
    for (const c of cases) {
      it(`refuses ${JSON.stringify(c.file)}`, async () => {
        const file = join(dir, 'gitdav.json');
        await writeFile(file, JSON.stringify(c.file));
        const r = await cli(['serve', '--config', file, '--port', '0', '--root', join(dir, 'r')]);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, c.error);
        assert.equal(existsSync(join(dir, 'r')), false);
      });
    }
  });

  it('gitdav fsck on a multi-user root checks each user’s repository', async () => {
    for (const [u, pw] of [['alice', 'alice-secret'], ['bob', 'bob-secret!']]) {
      const add = await cli(['user', 'add', u!, '--root', dir, '--password-stdin'], { input: pw });
      assert.equal(add.code, 0, add.stderr);
    }
    const p = serve(['--root', dir]);
    const url = await p.url;
    assert.equal((await raw(url, '/a.txt', { method: 'PUT', body: 'alice’s', headers: basic('alice', 'alice-secret') })).status, 201);
    assert.equal((await raw(url, '/b.txt', { method: 'PUT', body: 'bob’s', headers: basic('bob', 'bob-secret!') })).status, 201);
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);

    const sound = await cli(['fsck', '--root', dir]);
    assert.equal(sound.code, 0, sound.stdout + sound.stderr);
    assert.match(sound.stdout, /^alice: [1-9]\d* objects checked, 0 broken$/m);
    assert.match(sound.stdout, /^bob: [1-9]\d* objects checked, 0 broken$/m);
    assert.match(sound.stdout, /2 user repositories checked, 0 with broken objects/);

    const bobRepo = join(dir, 'users', 'bob');
    const blob = (await tool('git', ['--git-dir', bobRepo, 'rev-parse', 'main:b.txt'])).stdout.trim();
    const object = join(bobRepo, 'objects', blob.slice(0, 2), blob.slice(2));
    await chmod(object, 0o644);
    await writeFile(object, 'not zlib');
    const broken = await cli(['fsck', '--root', dir]);
    assert.equal(broken.code, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /^alice: \d+ objects checked, 0 broken$/m);
    assert.match(broken.stdout, new RegExp(`^bob: broken ${blob} \\(\\w+:b\\.txt\\)`, 'm'));
    assert.match(broken.stdout, /2 user repositories checked, 1 with broken objects/);
  });

  it('plain HTTP sent to the HTTPS port gets 400 and says so; HTTPS on the same port still works', async () => {
    const { cert, key } = await tlsFiles();
    const p = serve(['--root', join(dir, 'r'), '--backend', 'fs', '--tls-cert', cert, '--tls-key', key]);
    const url = await p.url;
    assert.match(url, /^https:/);
    const plain = await raw(url.replace(/^https:/, 'http:'), '/', { method: 'PROPFIND', headers: { Depth: '0' } });
    assert.equal(plain.status, 400);
    assert.match(plain.text, /The plain HTTP request was sent to HTTPS port/);
    const withBody = await raw(url.replace(/^https:/, 'http:'), '/x.txt', { method: 'PUT', body: 'x'.repeat(100_000) });
    assert.equal(withBody.status, 400, 'a request with a body is answered too');
    const secure = await raw(url, '/x.txt', { method: 'PUT', body: 'over TLS' });
    assert.equal(secure.status, 201);
    assert.equal((await raw(url, '/x.txt')).text, 'over TLS');
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  it('on the HTTPS port, connections that say nothing count against their address and are cut by the header timer', async () => {
    const { cert, key } = await tlsFiles();
    const config = join(dir, 'gitdav.json');
    await writeFile(config, JSON.stringify({ limits: { maxConnectionsPerAddress: 3, headersTimeoutMs: 1500 } }));
    const p = serve(['--root', join(dir, 'r'), '--backend', 'fs', '--tls-cert', cert, '--tls-key', key, '--config', config]);
    const url = new URL(await p.url);
    const closed: boolean[] = [];
    const sockets = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        new Promise<Socket>((resolveSocket, reject) => {
          const s = connect({ host: '127.0.0.1', port: Number(url.port) }, () => resolveSocket(s));
          s.on('error', () => {});
          s.on('close', () => (closed[i] = true));
          setTimeout(() => reject(new Error('no connection')), 15_000).unref();
        }),
      ),
    );
    // Two over the limit are closed at once; the other three when the header timer ends them.
    await until(() => closed.filter(Boolean).length >= 2);
    const other = await httpsFrom('127.0.0.2', url);
    assert.equal(other, 404, 'another address is served meanwhile');
    await until(() => closed.filter(Boolean).length === 5);
    for (const s of sockets) s.destroy();
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });
});

describe('gitdav serve --read-only (a backup, a mirror)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-readonly-'))));
  afterEach(async () => {
    killCliProcesses();
    await rm(dir, { recursive: true, force: true });
  });

  for (const backend of ['git', 'fs']) {
    it(`serves reads and refuses every write with 403, changing nothing (${backend})`, async () => {
      const root = join(dir, 'root');
      const writable = serve(['--root', root, '--backend', backend]);
      const before = await writable.url;
      assert.equal((await raw(before, '/docs', { method: 'MKCOL' })).status, 201);
      assert.equal((await raw(before, '/docs/note.txt', { method: 'PUT', body: 'kept' })).status, 201);
      writable.child.kill('SIGTERM');
      assert.equal(await writable.exit, 0);
      const commits = async () => (backend === 'git' ? (await tool('git', ['--git-dir', root, 'rev-list', '--count', 'main'])).stdout.trim() : '');
      const committed = await commits();

      const p = serve(['--root', root, '--backend', backend, '--read-only']);
      const url = await p.url;
      assert.match(p.output(), /read-only\)/);
      assert.equal((await raw(url, '/docs/note.txt')).text, 'kept');
      assert.equal((await raw(url, '/docs/', { method: 'PROPFIND', headers: { Depth: '1' } })).status, 207);
      const options = await raw(url, '/docs/note.txt', { method: 'OPTIONS' });
      assert.equal(options.status, 200);
      assert.doesNotMatch(String(options.headers.allow), /PUT|DELETE|LOCK|PROPPATCH|MOVE/);
      assert.match(String(options.headers.allow), /GET/);
      assert.doesNotMatch(String(options.headers.dav), /(^|, )2(,|$)/, 'no locking class: clients mount it read-only');
      const writes: [string, string, Record<string, string>?, string?][] = [
        ['PUT', '/docs/note.txt', {}, 'changed'],
        ['PUT', '/new.txt', {}, 'new'],
        ['DELETE', '/docs/note.txt'],
        ['MKCOL', '/more'],
        ['MOVE', '/docs/note.txt', { Destination: `${url}/moved.txt` }],
        ['COPY', '/docs/note.txt', { Destination: `${url}/copied.txt` }],
        ['PROPPATCH', '/docs/note.txt', { 'Content-Type': 'application/xml' }, '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set></D:propertyupdate>'],
        ['LOCK', '/docs/note.txt', { 'Content-Type': 'application/xml' }, '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>'],
        ['MKCALENDAR', '/calendars/user/other/'],
        ['POST', '/docs/'],
      ];
      for (const [method, path, headers, body] of writes) {
        const r = await raw(url, path, { method, headers, body });
        assert.equal(r.status, 403, `${method} ${path}`);
        assert.match(r.text, /read-only/, `${method} ${path} says why`);
      }
      assert.equal((await raw(url, '/docs/note.txt')).text, 'kept');
      assert.equal((await raw(url, '/new.txt')).status, 404);
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0);
      assert.equal(await commits(), committed, 'no commit was made');
    });
  }

  it('makes no calendar or address book folders at start either: a mirror made by git alone gets no commit (git)', async () => {
    const root = join(dir, 'mirror');
    const git = async (args: string[], input?: string) => {
      const r = await tool('git', ['--git-dir', root, ...args], { input });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal((await tool('git', ['init', '--bare', '-q', '-b', 'main', root])).code, 0);
    const blob = await git(['hash-object', '-w', '--stdin'], 'a\n');
    const tree = await git(['mktree'], `100644 blob ${blob}\ta.txt\n`);
    await git(['update-ref', 'refs/heads/main', await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', tree, '-m', 'seed'])]);
    const tip = await git(['rev-parse', 'main']);
    const p = serve(['--root', root, '--read-only']);
    const url = await p.url;
    assert.equal((await raw(url, '/a.txt')).text, 'a\n');
    assert.equal((await raw(url, '/calendars/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404, 'no calendar home made');
    assert.equal((await raw(url, '/addressbooks/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404, 'no address book home made');
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
    assert.equal(await git(['rev-parse', 'main']), tip, 'no commit was made');
  });

  it('the config file key readOnly does the same', async () => {
    const file = join(dir, 'gitdav.json');
    await writeFile(file, JSON.stringify({ readOnly: true, backend: 'fs', root: join(dir, 'r') }));
    const p = serve(['--config', file]);
    const url = await p.url;
    assert.equal((await raw(url, '/x', { method: 'PUT', body: 'x' })).status, 403);
    p.child.kill('SIGTERM');
    await p.exit;
  });
});

/** Waits (15 s at most: a hang detector, not a timing assertion) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 50) {
    if (waited > 15_000) throw new Error('not within 15 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The status of an HTTPS GET of a missing file, sent from another loopback address. */
function httpsFrom(localAddress: string, url: URL): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    httpsRequest({ host: url.hostname, port: url.port, path: '/missing', localAddress, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolveStatus(res.statusCode!);
    })
      .on('error', reject)
      .end();
  });
}
