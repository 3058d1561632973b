/** The command line: defaults, config sources, refusal to listen openly, graceful SIGTERM. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { raw } from './helpers/server.js';
import { tool } from './helpers/tools.js';

const CLI = resolve('dist/lib/cli.js');
const children = new Set<ChildProcess>();

function run(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): { child: ChildProcess; url: Promise<string>; exit: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = new Promise<string>((resolveUrl, reject) => {
    const onData = () => {
      const m = /at (http:\/\/\S+?)\/\n/.exec(out);
      if (m) resolveUrl(m[1]!);
    };
    child.stdout!.on('data', onData);
    void exit.then((code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return { child, url, exit, output: () => out };
}

describe('gitdav serve (CLI)', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-cli-'))));
  afterEach(async () => {
    // A failed assertion must not leave a server running (mocha would never exit).
    for (const c of children) c.kill('SIGKILL');
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

  it('refuses a non-loopback address without --insecure', async () => {
    const p = run(['serve', '--root', dir, '--host', '0.0.0.0', '--port', '0']);
    assert.equal(await p.exit, 2);
    assert.match(p.output(), /refusing to listen on 0\.0\.0\.0 without authentication/);
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
    for (const args of [['serve', '--port', 'http'], ['serve', '--backend', 'tape'], ['serve', '--frobnicate', '1'], ['dance']]) {
      const p = run(args);
      assert.equal(await p.exit, 2, args.join(' '));
      assert.match(p.output(), /gitdav: /);
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
