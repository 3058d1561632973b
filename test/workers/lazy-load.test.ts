/**
 * What each process loads (docs/operations.md, "Memory"): the supervisor none of the server's code,
 * a worker serving plain WebDAV none of the libraries only some requests need (password hashing,
 * thread pools, git init (a new repository too), metrics). Seen from outside: every process runs with a module hook
 * (NODE_OPTIONS=--import, inherited by the workers) that writes the URL of each module it loads to a
 * file named by its pid, and wraps the CommonJS loader's compile step to write those too (koa, saxes…
 * are loaded with require: backends/util/require-cjs.ts); each list is also checked to hold a module
 * the process must load, so a hook that saw nothing cannot pass. No process may `import` a CommonJS
 * module: that starts cjs-module-lexer's WebAssembly build, 6–10 MB of RSS for good.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { pathToFileURL } from 'node:url';
import { http, serveWorkers, stopAfterEach, type Served } from './helpers.js';

/** Written after a module that the ES module loader loaded as CommonJS (an `import` of one). */
const CJS_IMPORT = '(import of CommonJS)';
const HOOKS = `export async function load(url, context, next) {
  const loaded = await next(url, context);
  const how = loaded.format === 'commonjs' ? ' ${CJS_IMPORT}' : '';
  if (!url.startsWith('node:')) (await import('node:fs')).appendFileSync(process.env.GITDAV_TEST_MODULES + '/' + process.pid + '.txt', url + how + '\\n');
  return loaded;
}`;
/** The hooks, and every CommonJS file compiled (require, or an import of one) written by URL. */
const register = (hooks: string) => `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const Module = createRequire(import.meta.url)('node:module');
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  appendFileSync(process.env.GITDAV_TEST_MODULES + '/' + process.pid + '.txt', pathToFileURL(filename).href + '\\n');
  return compile.call(this, content, filename);
};
`;

describe('lazy loading: what the supervisor and an idle, plain-WebDAV or --no-caldav worker load', function () {
  this.timeout(120_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  it('the supervisor loads no server code; workers serve WebDAV without bcryptjs, piscina, isomorphic-git, prom-client; CalDAV works after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-lazy-'));
    const modules = join(dir, 'modules');
    execFileSync('mkdir', [modules]);
    await writeFile(join(dir, 'hooks.mjs'), HOOKS);
    await writeFile(join(dir, 'register.mjs'), register(join(dir, 'hooks.mjs')));
    // An existing repository (made by git itself): opening one needs no isomorphic-git.
    const root = join(dir, 'repo');
    execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', root]);
    s = await serveWorkers(['--root', root, '--workers', '2'], { NODE_OPTIONS: `--import ${join(dir, 'register.mjs')}`, GITDAV_TEST_MODULES: modules });
    const agent = new Agent({ keepAlive: false });
    for (let i = 0; i < 4; i++) {
      assert.equal((await http(s.url, `/f${i}.txt`, { method: 'PUT', body: `file ${i}\n`, agent })).status, 201);
      assert.equal((await http(s.url, `/f${i}.txt`, { agent })).body.toString(), `file ${i}\n`);
      assert.equal((await http(s.url, '/', { method: 'PROPFIND', headers: { Depth: '1' }, agent })).status, 207);
    }
    const loaded = async (pid: number) => (await readFile(join(modules, `${pid}.txt`), 'utf8')).split('\n').filter(Boolean);
    const workers = s.workerPids();
    assert.equal(workers.length, 2);
    assert.deepEqual((await readdir(modules)).sort(), [s.pid, ...workers].map((p) => `${p}.txt`).sort());

    const supervisor = await loaded(s.pid);
    assert.ok(supervisor.some((u) => u.endsWith('/dist/lib/cluster/supervisor.js')), 'the hook saw the supervisor load');
    for (const heavy of ['/dist/lib/server.js', '/dist/lib/dav/index.js', '/dist/lib/dav/context.js', '/node_modules/saxes/', '/dist/lib/caldav/', '/dist/backends/git/', '/node_modules/koa/', '/node_modules/ical.js/', '/node_modules/isomorphic-git/', '/node_modules/prom-client/', '/node_modules/piscina/', '/node_modules/bcryptjs/']) {
      assert.deepEqual(supervisor.filter((u) => u.includes(heavy)), [], `the supervisor loaded ${heavy}`);
    }
    // The configuration's check of a config file's keys reads the DAV layer's default limits only.
    assert.deepEqual(supervisor.filter((u) => u.includes('/dist/lib/dav/') && !u.endsWith('/dist/lib/dav/limit-defaults.js')), [], 'the supervisor loaded the DAV layer');
    // Each worker was started with the heap limits (the defaults: no config file), the supervisor without.
    const heapFlags = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => /^--(max|min)-.*-size=/.test(a));
    assert.deepEqual(await heapFlags(s.pid), []);
    for (const pid of workers) assert.deepEqual(await heapFlags(pid), ['--max-old-space-size=1024', '--max-semi-space-size=2']);
    for (const pid of workers) {
      const worker = await loaded(pid);
      assert.ok(worker.some((u) => u.endsWith('/dist/lib/server.js')) && worker.some((u) => u.includes('/node_modules/koa/')), `the hook saw worker ${pid} load the server`);
      for (const lazy of ['/node_modules/isomorphic-git/', '/node_modules/prom-client/', '/node_modules/piscina/', '/node_modules/bcryptjs/']) {
        assert.deepEqual(worker.filter((u) => u.includes(lazy)), [], `worker ${pid} loaded ${lazy} serving plain WebDAV`);
      }
    }

    // The calendar code still works once asked for.
    const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'UID:lazy-1', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240312T100000Z', 'DTEND:20240312T110000Z', 'SUMMARY:lazy', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    assert.equal((await http(s.url, '/calendars/user/calendar/ev.ics', { method: 'PUT', body: ics, headers: { 'Content-Type': 'text/calendar' }, agent })).status, 201);
    const C = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
    const query = `<?xml version="1.0"?><C:calendar-query ${C}><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
    for (let i = 0; i < 2; i++) {
      const r = await http(s.url, '/calendars/user/calendar/', { method: 'REPORT', headers: { Depth: '1', 'Content-Type': 'application/xml' }, body: query, agent });
      assert.equal(r.status, 207);
      assert.match(r.body.toString(), /ev\.ics/);
    }
    // Calendar work loaded piscina (CommonJS) too: still by require, in every process. (piscina's
    // thread entry goes through the ES module loader here only because of this test's --import:
    // with one, Node runs every entry point, a thread's too, through it.)
    const imported = async (pid: number) => (await loaded(pid)).filter((u) => u.endsWith(CJS_IMPORT) && !u.includes('/node_modules/piscina/dist/worker.js'));
    for (const pid of [s.pid, ...workers]) assert.deepEqual(await imported(pid), [], `process ${pid} imported a CommonJS module`);
    assert.ok((await Promise.all(workers.map(loaded))).flat().some((u) => u.includes('/node_modules/piscina/')), 'a worker loaded piscina for the calendar');
  });

  it('a new git repository (a root that does not exist) is made without isomorphic-git, by every process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-lazy-'));
    const modules = join(dir, 'modules');
    execFileSync('mkdir', [modules]);
    await writeFile(join(dir, 'hooks.mjs'), HOOKS);
    await writeFile(join(dir, 'register.mjs'), register(join(dir, 'hooks.mjs')));
    const root = join(dir, 'new-repo');
    s = await serveWorkers(['--root', root, '--workers', '2'], { NODE_OPTIONS: `--import ${join(dir, 'register.mjs')}`, GITDAV_TEST_MODULES: modules });
    const agent = new Agent({ keepAlive: false });
    for (let i = 0; i < 4; i++) assert.equal((await http(s.url, `/n${i}.txt`, { method: 'PUT', body: `new ${i}\n`, agent })).status, 201);
    assert.equal(execFileSync('git', ['--git-dir', root, 'symbolic-ref', 'HEAD'], { encoding: 'utf8' }).trim(), 'refs/heads/main');
    assert.equal(execFileSync('git', ['--git-dir', root, 'show', 'main:n3.txt'], { encoding: 'utf8' }), 'new 3\n');
    for (const pid of [s.pid, ...s.workerPids()]) {
      const loaded = (await readFile(join(modules, `${pid}.txt`), 'utf8')).split('\n').filter(Boolean);
      assert.ok(loaded.length > 0, `the hook saw process ${pid} load`);
      assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/isomorphic-git/')), [], `process ${pid} loaded isomorphic-git`);
    }
    assert.ok((await Promise.all(s.workerPids().map(async (pid) => readFile(join(modules, `${pid}.txt`), 'utf8')))).some((t) => t.includes('/dist/backends/git/gitdir.js')), 'a worker opened the repository');
  });

  it('with a metrics port, every process loads prom-client by require, none imports a CommonJS module', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-lazy-'));
    const modules = join(dir, 'modules');
    execFileSync('mkdir', [modules]);
    await writeFile(join(dir, 'hooks.mjs'), HOOKS);
    await writeFile(join(dir, 'register.mjs'), register(join(dir, 'hooks.mjs')));
    s = await serveWorkers(['--root', join(dir, 'data'), '--backend', 'fs', '--workers', '2', '--metrics-port', '0'], { NODE_OPTIONS: `--import ${join(dir, 'register.mjs')}`, GITDAV_TEST_MODULES: modules });
    for (let i = 0; i < 4; i++) assert.equal((await http(s.url, '/', { method: 'PROPFIND', headers: { Depth: '1' }, agent: new Agent({ keepAlive: false }) })).status, 207);
    for (const pid of [s.pid, ...s.workerPids()]) {
      const loaded = (await readFile(join(modules, `${pid}.txt`), 'utf8')).split('\n').filter(Boolean);
      assert.ok(loaded.some((u) => u.includes('/node_modules/prom-client/')), `process ${pid} loaded prom-client`);
      assert.deepEqual(loaded.filter((u) => u.endsWith(CJS_IMPORT)), [], `process ${pid} imported a CommonJS module`);
    }
  });

  it('a --no-caldav server loads no CalDAV code and no ical.js (one process)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-lazy-'));
    const modules = join(dir, 'modules');
    execFileSync('mkdir', [modules]);
    await writeFile(join(dir, 'hooks.mjs'), HOOKS);
    await writeFile(join(dir, 'register.mjs'), register(join(dir, 'hooks.mjs')));
    s = await serveWorkers(['--root', join(dir, 'data'), '--backend', 'fs', '--workers', '1', '--no-caldav'], { NODE_OPTIONS: `--import ${join(dir, 'register.mjs')}`, GITDAV_TEST_MODULES: modules });
    assert.equal((await http(s.url, '/a.txt', { method: 'PUT', body: 'a\n' })).status, 201);
    assert.equal((await http(s.url, '/', { method: 'PROPFIND', headers: { Depth: '1' } })).status, 207);
    const loaded = (await readFile(join(modules, `${s.pid}.txt`), 'utf8')).split('\n').filter(Boolean);
    assert.ok(loaded.some((u) => u.endsWith('/dist/lib/server.js')), 'the hook saw the server load');
    assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/ical.js/') || (u.includes('/dist/lib/caldav/') && !u.endsWith('/caldav/well-known.js'))), []);
  });
});
