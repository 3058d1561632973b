/**
 * Logins under attack (issue 10, items 3 and 4): a guesser cannot lock other users out (the
 * back-off is per user and client address, the client named by a trusted proxy's X-Forwarded-For),
 * guesses sent all at once cannot slip past the back-off, and password checks (bcrypt) run in
 * worker threads with a bounded queue, so a burst of guesses does not stall anyone else.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_BACKOFF } from '../../lib/auth/backoff.js';
import { DEFAULT_LOGIN_POLICY } from '../../lib/auth/login-guard.js';
import { basic, raw, startTestServer, type BackendName, type RawResponse } from '../helpers/server.js';

const get = (url: string, user: string, password: string, headers: Record<string, string> = {}) => raw(url, '/', { method: 'PROPFIND', headers: { Depth: '0', ...basic(user, password), ...headers } });
const statuses = (rs: RawResponse[]) => rs.map((r) => r.status);
const count = (rs: RawResponse[], status: number) => rs.filter((r) => r.status === status).length;
const off = { ...DEFAULT_BACKOFF, free: 1_000_000 };

for (const backend of ['fs', 'git'] as BackendName[]) {
  describe(`logins: one guesser cannot lock out others (${backend} backend)`, function () {
    this.timeout(60_000);

    it('failures for `nobody` from 127.0.0.1 (every client behind a proxy) never make Alice’s or Bob’s correct login fail', async () => {
      // The real policy, with a per-address ceiling small enough to reach quickly.
      const loginPolicy = { ...DEFAULT_LOGIN_POLICY, address: { ...DEFAULT_LOGIN_POLICY.address, free: 12 } };
      const s = await startTestServer({ backend, users: { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' }, loginPolicy });
      try {
        assert.equal((await get(s.url, 'alice', 'alice-pw')).status, 207);
        assert.equal((await get(s.url, 'bob', 'bob-pw')).status, 207);
        const guesses: RawResponse[] = [];
        for (let i = 0; i < 10; i++) guesses.push(await get(s.url, 'nobody', `guess${i}`));
        assert.deepEqual(statuses(guesses), [401, 401, 401, 401, 401, 429, 429, 429, 429, 429], 'nobody’s own back-off: 5 free');
        assert.equal(guesses[5]!.headers['retry-after'], '1');
        // Spraying one password over many names from the same address.
        const spray: RawResponse[] = [];
        for (let i = 0; i < 12; i++) spray.push(await get(s.url, `user${i}`, 'Summer2024'));
        assert.ok(count(spray, 429) >= 5, `the address’s ceiling holds the spray: ${statuses(spray)}`);
        assert.equal((await get(s.url, 'alice', 'alice-pw')).status, 207, 'Alice is let in');
        assert.equal((await get(s.url, 'bob', 'bob-pw')).status, 207, 'Bob is let in');
        assert.equal((await get(s.url, 'alice', 'typo')).status, 401, 'Alice’s own typo is checked (and counted on her pair only)');
        assert.equal((await get(s.url, 'alice', 'alice-pw')).status, 207);
        // The trade: a first login from an address over its ceiling waits (see login-guard.ts).
        assert.equal((await get(s.url, 'carol', 'carol-pw')).status, 429);
      } finally {
        await s.close();
      }
    });

    it('the client is the trusted proxy’s X-Forwarded-For: a guesser’s address waits, Alice from hers is let in', async () => {
      const s = await startTestServer({ backend, users: { alice: 'alice-pw' }, trustedProxies: ['127.0.0.1'], backoff: DEFAULT_BACKOFF });
      try {
        const guesser = { 'X-Forwarded-For': '203.0.113.7' };
        const guesses: RawResponse[] = [];
        for (let i = 0; i < 6; i++) guesses.push(await get(s.url, 'alice', `guess${i}`, guesser));
        assert.deepEqual(statuses(guesses), [401, 401, 401, 401, 401, 429]);
        assert.equal((await get(s.url, 'alice', 'alice-pw', guesser)).status, 429, 'the right password from the guesser’s address waits too');
        assert.equal((await get(s.url, 'alice', 'alice-pw', { 'X-Forwarded-For': 'forged, 203.0.113.7' })).status, 429, 'what the client wrote left of it counts for nothing');
        assert.equal((await get(s.url, 'alice', 'alice-pw', { 'X-Forwarded-For': '198.51.100.20' })).status, 207, 'Alice from her own address');
        assert.equal((await get(s.url, 'alice', 'alice-pw', { 'X-Forwarded-For': '198.51.100.21, 127.0.0.1' })).status, 207, 'through two proxies');
      } finally {
        await s.close();
      }
    });

    it('a botnet guessing at Alice (IPv4 and IPv6 /64s) slows her guessers, not her: from a new address she gets in after a bounded wait, from a known one at once, after a restart too', async function () {
      this.timeout(180_000);
      const root = await mkdtemp(join(tmpdir(), 'gitdav-botnet-'));
      const options = { backend, root, users: { alice: 'alice-pw', bob: 'bob-pw' }, trustedProxies: ['127.0.0.1'], loginPolicy: DEFAULT_LOGIN_POLICY };
      let s = await startTestServer(options);
      const from = (address: string) => ({ 'X-Forwarded-For': address });
      const home = from('192.0.2.10');
      try {
        assert.equal((await get(s.url, 'alice', 'alice-pw', home)).status, 207, 'Alice at home: a known pair from now on');
        // 100 failures (the per-user ceiling) from 20 addresses, 5 each; an IPv6 guesser takes a new
        // address in its /64 for every guess (its prefix counts toward the per-address ceiling).
        const v4 = (i: number) => `198.51.100.${i + 1}`;
        const v6 = (i: number, host: number) => `2001:db8:${i + 1}:7::${(host + 1).toString(16)}`;
        for (let k = 0; k < 5; k++) {
          for (let i = 0; i < 10; i++) {
            assert.equal((await get(s.url, 'alice', `v4-${i}-${k}`, from(v4(i)))).status, 401);
            assert.equal((await get(s.url, 'alice', `v6-${i}-${k}`, from(v6(i, k)))).status, 401);
          }
        }
        // A new address in a guessing /64 is its own pair (a neighbour on a shared network is not
        // held by a guesser's pair), but the user is over her ceiling: it is paced with the others.
        const neighbour = (await get(s.url, 'alice', 'v6-again', from(v6(0, 99)))).status;
        assert.ok(neighbour === 401 || neighbour === 429, `a new address in a guessing /64: ${neighbour}`);
        assert.equal((await get(s.url, 'alice', 'v6-again', from('::ffff:198.51.100.1'))).status, 429, 'an IPv4-mapped address is the IPv4 address');
        // The attack goes on: 20 fresh addresses keep guessing, each retrying as Retry-After says.
        let stop = false;
        let botChecks = 0;
        const started = performance.now();
        const bot = async (address: string) => {
          for (let i = 0; !stop; i++) {
            const r = await get(s.url, 'alice', `bot-${address}-${i}`, from(address));
            if (r.status === 401) botChecks++;
            else if (r.status === 429) await sleep(Number(r.headers['retry-after']) * 1000);
            else assert.fail(`bot got ${r.status}`);
          }
        };
        const bots = Array.from({ length: 20 }, (_, i) => bot(i % 2 ? `203.0.113.${i}` : `2001:db8:ff:${i}::1`));
        await sleep(200); // the bots are queued before her
        assert.equal((await get(s.url, 'alice', 'alice-pw', home)).status, 207, 'a known pair is never held by the ceiling');
        let tries = 0;
        let alice: RawResponse;
        for (;;) {
          tries++;
          alice = await get(s.url, 'alice', 'alice-pw', from('198.18.0.21'));
          if (alice.status !== 429 || tries >= 60) break;
          assert.equal(alice.headers['retry-after'], '1');
          await sleep(1000);
        }
        const seconds = (performance.now() - started) / 1000;
        stop = true;
        await Promise.all(bots);
        assert.equal(alice.status, 207, `Alice from a new address after ${tries} tries`);
        // Her turn comes after the prefixes that were queued before her: 20 bots at most.
        assert.ok(tries <= 20 + 3, `Alice needed ${tries} tries`);
        assert.ok(botChecks <= seconds + 3, `past the ceiling one guess a second at most: ${botChecks} in ${seconds.toFixed(1)} s`);
        assert.equal((await get(s.url, 'bob', 'bob-pw', from('198.18.0.22'))).status, 207, 'Bob is not affected');
        await s.close();
        // A restart forgets the failures, but not the pairs that logged in: over the ceiling again,
        // Alice from home and from the new address gets in at once.
        s = await startTestServer(options);
        for (let k = 0; k < 5; k++) for (let i = 0; i < 20; i++) await get(s.url, 'alice', `again-${i}-${k}`, from(v4(i)));
        assert.equal((await get(s.url, 'alice', 'x', from('198.18.0.99'))).status, 401, 'a fresh pair’s check this second');
        assert.equal((await get(s.url, 'alice', 'y', from('198.18.0.98'))).status, 429, 'the next fresh pair is paced');
        assert.equal((await get(s.url, 'alice', 'alice-pw', home)).status, 207);
        assert.equal((await get(s.url, 'alice', 'alice-pw', from('198.18.0.21'))).status, 207);
      } finally {
        await s.close();
        await rm(root, { recursive: true, force: true });
      }
    });

    it('X-Forwarded-For from a connection that is not a trusted proxy is ignored', async () => {
      const s = await startTestServer({ backend, users: { alice: 'alice-pw' }, trustedProxies: ['10.9.9.9'], backoff: DEFAULT_BACKOFF });
      try {
        const guesses: RawResponse[] = [];
        for (let i = 0; i < 6; i++) guesses.push(await get(s.url, 'alice', `guess${i}`, { 'X-Forwarded-For': `203.0.113.${i}` }));
        assert.deepEqual(statuses(guesses), [401, 401, 401, 401, 401, 429], 'a new forged address each time does not reset the count');
        assert.equal((await get(s.url, 'alice', 'alice-pw', { 'X-Forwarded-For': '198.51.100.20' })).status, 429);
      } finally {
        await s.close();
      }
    });
  });
}

describe('logins: guesses sent at once, and bcrypt off the event loop', function () {
  this.timeout(90_000);

  it('60 wrong guesses and the right one sent at once: no more than `free` are checked, the rest get 429', async () => {
    // Cost 10, as `gitdav user add` writes: each check takes long enough for all 61 to arrive meanwhile.
    const s = await startTestServer({ backend: 'fs', users: { alice: 'alice-pw' }, hashCost: 10, backoff: DEFAULT_BACKOFF });
    try {
      const wrong = Array.from({ length: 60 }, (_, i) => get(s.url, 'alice', `wrong${i}`));
      const right = get(s.url, 'alice', 'alice-pw');
      const answers = await Promise.all([...wrong, right]);
      const checked = answers.filter((r) => r.status !== 429);
      assert.ok(checked.length <= DEFAULT_BACKOFF.free, `${checked.length} guesses checked: ${statuses(answers)}`);
      assert.ok(answers.every((r) => [207, 401, 429].includes(r.status)), String(statuses(answers)));
      assert.ok(count(answers, 401) + count(answers, 207) <= DEFAULT_BACKOFF.free, 'the right one is let in only within the free count');
      assert.ok((await right).status !== 207 || count(answers, 401) < DEFAULT_BACKOFF.free);
    } finally {
      await s.close();
    }
  });

  it('the same credentials sent in parallel (a client’s first requests) are one check, not six attempts', async () => {
    const s = await startTestServer({ backend: 'fs', users: { alice: 'alice-pw' }, hashCost: 10, backoff: DEFAULT_BACKOFF });
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, () => get(s.url, 'alice', 'alice-pw')));
      assert.deepEqual(statuses(answers), Array(12).fill(207));
    } finally {
      await s.close();
    }
  });

  it('64 guesses at once (64 bcrypt checks) do not stall the server: the event loop never waits for bcrypt, a logged-in user is answered before half the burst, a cold login is checked', async () => {
    // Cost 10 (as `gitdav user add` writes): 64 checks on the event loop would block it for seconds.
    const s = await startTestServer({ backend: 'fs', users: { alice: 'alice-pw', bob: 'bob-pw' }, hashCost: 10, checker: { threads: 2, queue: 64 }, connectionLimits: { maxConnectionsPerAddress: 200 } });
    const lag = monitorEventLoopDelay({ resolution: 10 });
    try {
      // Bob is logged in (his password remembered, as between a client's requests); Alice never was.
      assert.equal((await raw(s.url, '/note.txt', { method: 'PUT', body: 'hello', headers: basic('bob', 'bob-pw') })).status, 201);
      let answered = 0;
      lag.enable();
      // Unknown users: each costs a real cost-10 check (as a real user's would).
      const burst = Array.from({ length: 64 }, (_, i) =>
        get(s.url, `nobody${i}`, 'guess').then((r) => {
          answered++;
          return r;
        }),
      );
      const bob = await raw(s.url, '/note.txt', { headers: basic('bob', 'bob-pw') });
      const answeredBeforeBob = answered;
      // Alice's first login needs a check of its own: it waits its turn for a thread, not the loop.
      const alice = await get(s.url, 'alice', 'alice-pw');
      const answers = await Promise.all(burst);
      lag.disable();
      assert.equal(bob.text, 'hello');
      assert.equal(alice.status, 207, 'a cold login in the burst is checked');
      assert.deepEqual(statuses(answers), Array(64).fill(401), 'all 64 checked (2 threads + 64 queued fit)');
      assert.ok(answeredBeforeBob < 32, `Bob waited for ${answeredBeforeBob} of the 64 guesses`);
      // The order above is what catches checks on the loop in bcryptjs's async chunks (tried: Bob is
      // then answered after all 64); this catches a synchronous one. A hang detector, not a speed
      // test: 64 checks of ~60-100 ms in one turn of the loop would hold it >= 4 s.
      const maxLagMs = lag.max / 1e6;
      assert.ok(maxLagMs < 1500, `the event loop was held for ${maxLagMs.toFixed(0)} ms`);
    } finally {
      lag.disable();
      await s.close();
    }
  });

  it('a burst beyond the threads and the queue gets 503 with Retry-After, never an unbounded queue', async () => {
    const s = await startTestServer({ backend: 'fs', users: { alice: 'alice-pw' }, checker: { threads: 1, queue: 2 } });
    try {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => get(s.url, `nobody${i}`, 'guess')));
      assert.ok(answers.every((r) => r.status === 401 || r.status === 503), String(statuses(answers)));
      const busy = answers.filter((r) => r.status === 503);
      assert.ok(busy.length > 0, 'some were turned away');
      assert.equal(busy[0]!.headers['retry-after'], '1');
      assert.match(busy[0]!.text, /too many logins being checked/);
      assert.equal((await get(s.url, 'alice', 'alice-pw')).status, 207, 'the burst over, logins are checked again');
    } finally {
      await s.close();
    }
  });

  it('the password threads do not keep the process alive: it exits once the server is closed (worker found in dist/)', async () => {
    const helper = fileURLToPath(new URL('../helpers/server.js', import.meta.url));
    const script = `
      const { startTestServer, raw, basic } = await import(${JSON.stringify(helper)});
      const s = await startTestServer({ backend: 'fs', users: { alice: 'alice-pw' } });
      const r = await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: '0', ...basic('alice', 'alice-pw') } });
      await s.close();
      console.log('status', r.status);`;
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout + stderr });
      });
      child.stdin?.end();
    });
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /status 207/);
  });

  it('`nobody`s failures are logged with the name tried', async () => {
    const s = await startTestServer({ backend: 'fs', users: { alice: 'alice-pw' }, loginPolicy: { ...DEFAULT_LOGIN_POLICY, address: off, user: off } });
    try {
      const lines: string[] = [];
      const logger = s.running.app.logger as unknown as Record<string, (m: string, f?: Record<string, unknown>) => void>;
      logger.warn = (msg, fields) => lines.push(JSON.stringify({ msg, ...fields }));
      await get(s.url, 'nobody', 'guess');
      assert.ok(lines.some((l) => /"msg":"login failed"/.test(l) && /"user":"nobody"/.test(l) && /"address":"127\.0\.0\.1"/.test(l)), lines.join('\n'));
    } finally {
      await s.close();
    }
  });
});
