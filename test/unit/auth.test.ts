/** The pure parts of authentication: htpasswd schemes (with published test vectors) and back-off. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { Backoff, DEFAULT_BACKOFF, DEFAULT_LOGIN_LIMITS } from '../../lib/auth/backoff.js';
import { addressKey, clientAddress } from '../../lib/auth/client-address.js';
import { KnownLogins, DEFAULT_KNOWN_LOGINS } from '../../lib/auth/known-logins.js';
import { DEFAULT_PACER, Pacer } from '../../lib/auth/pacer.js';
import { DEFAULT_LOGIN_POLICY, LoginGuard, loginPolicy } from '../../lib/auth/login-guard.js';
import { hashPassword, isValidUserName, parseHtpasswd, schemeOf, serializeHtpasswd, verifyPassword } from '../../lib/auth/htpasswd.js';
import { shaCrypt } from '../../lib/auth/sha-crypt.js';

describe('htpasswd', () => {
  it('SHA-crypt matches the specification’s test vectors ($5$ and $6$, rounds and long salts)', () => {
    assert.equal(shaCrypt('Hello world!', '$5$saltstring'), '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
    assert.equal(shaCrypt('Hello world!', '$6$saltstring'), '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
    assert.equal(shaCrypt('Hello world!', '$6$rounds=10000$saltstringsaltstring'), '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.');
    assert.equal(shaCrypt('we have a short salt string but not a short password', '$5$rounds=77777$short'), '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/');
    assert.equal(shaCrypt('the minimum number is still observed', '$5$rounds=10$roundstoolow'), '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC');
    assert.equal(shaCrypt('x', '$6$rounds=5000000$salt'), null, 'costs beyond a request’s budget are refused');
  });

  it('verifies Apache’s schemes and refuses the weak ones', async () => {
    assert.ok(await verifyPassword('password', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='));
    assert.ok(!(await verifyPassword('Password', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=')));
    assert.ok(await verifyPassword('Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'));
    assert.equal(schemeOf('$apr1$abc$0123456789012345678901'), null);
    assert.ok(!(await verifyPassword('password', '$apr1$abc$0123456789012345678901')));
    assert.ok(!(await verifyPassword('password', 'plaintext')), 'a plain-text entry never matches');
  });

  it('writes bcrypt as $2y$ (htpasswd -B) and reads $2y$, $2b$ and $2a$', async () => {
    const h = await hashPassword('correct horse');
    assert.match(h, /^\$2y\$10\$/);
    assert.ok(await verifyPassword('correct horse', h));
    assert.ok(!(await verifyPassword('correct horsE', h)));
    assert.ok(await verifyPassword('correct horse', h.replace('$2y$', '$2b$')));
    assert.ok(await verifyPassword('correct horse', h.replace('$2y$', '$2a$')));
  });

  it('parses and writes the file format; user names are safe folder names', () => {
    const users = parseHtpasswd('# comment\r\nalice:$2y$10$x\n\nbob:{SHA}abc\nbroken line\n');
    assert.deepEqual([...users.keys()], ['alice', 'bob']);
    assert.equal(serializeHtpasswd(users), 'alice:$2y$10$x\nbob:{SHA}abc\n');
    for (const bad of ['', '.hidden', '..', 'a/b', 'a:b', 'a b', 'x'.repeat(65), 'repo.git', 'ümlaut', 'a..b', 'end.']) assert.ok(!isValidUserName(bad), bad);
    for (const good of ['alice', 'Bob_2', 'j.doe', 'x-y']) assert.ok(isValidUserName(good), good);
  });
});

describe('login back-off', () => {
  it('reserves attempts: at most `free` in flight or failed, then one at a time after a doubling wait', () => {
    let now = 0;
    const b = new Backoff({ free: 2, baseMs: 1000, maxMs: 5000, maxKeys: 3 }, () => now);
    assert.equal(b.begin('k'), 0);
    assert.equal(b.begin('k'), 0);
    assert.equal(b.begin('k'), 1000, 'two in flight: the third waits before either is checked');
    b.finish('k', true);
    b.finish('k', true);
    assert.equal(b.wait('k'), 1000, 'two failures: waiting starts');
    assert.equal(b.begin('k'), 1000);
    now += 1000;
    assert.equal(b.begin('k'), 0, 'the wait is over: one attempt');
    assert.equal(b.begin('k'), 1000, 'and only one');
    b.finish('k', true);
    assert.equal(b.wait('k'), 2000, 'doubled');
    for (let i = 0; i < 10; i++) b.fail('k');
    assert.equal(b.wait('k'), 5000, 'capped');
    now += 5000;
    assert.equal(b.begin('k'), 0);
    b.finish('k', false);
    b.succeed('k');
    assert.equal(b.failures('k'), 0, 'a success started the count again');
    assert.equal(b.begin('k'), 0);
  });

  it('60 attempts begun at once: 5 go ahead, the rest wait', () => {
    const b = new Backoff(DEFAULT_BACKOFF, () => 0);
    const granted = Array.from({ length: 60 }, () => b.begin('k')).filter((w) => w === 0).length;
    assert.equal(granted, DEFAULT_BACKOFF.free);
  });

  it('an attempt never checked (no thread free) is released, not counted', () => {
    const b = new Backoff({ free: 1, baseMs: 1000, maxMs: 5000, maxKeys: 10 }, () => 0);
    assert.equal(b.begin('k'), 0);
    b.finish('k', false);
    assert.equal(b.begin('k'), 0);
  });

  it('forgets failures after a quiet day, and keeps at most maxKeys keys', () => {
    let now = 0;
    const b = new Backoff({ free: 1, baseMs: 1000, maxMs: 5000, maxKeys: 3 }, () => now);
    b.fail('k');
    now += 24 * 3600_000 + 1;
    assert.equal(b.wait('k'), 0);
    assert.equal(b.failures('k'), 0);
    const c = new Backoff({ free: 1, baseMs: 1000, maxMs: 5000, maxKeys: 3 }, () => 0);
    for (const k of ['a', 'b', 'c', 'd']) c.fail(k);
    assert.equal(c.wait('a'), 0);
    assert.equal(c.wait('d'), 1000);
  });

  it('a flood of new keys drops keys still free before a guesser that reached the wait', () => {
    const c = new Backoff({ free: 2, baseMs: 1000, maxMs: 5000, maxKeys: 3 }, () => 0);
    c.fail('guesser');
    c.fail('guesser');
    for (const k of ['n1', 'n2', 'n3', 'n4']) c.fail(k);
    assert.equal(c.wait('guesser'), 1000, 'still waiting');
    assert.equal(c.failures('n1'), 0);
    assert.equal(c.failures('n4'), 1);
  });
});

describe('login guard: (user, address) pairs and the per-address and per-user ceilings', () => {
  const small = { free: 3, baseMs: 1000, maxMs: 60_000, maxKeys: 1000 };
  const policy = { pair: small, address: { ...small, free: 10 }, user: { ...small, free: 10 }, userPace: DEFAULT_PACER, maxKnownPairs: 100 };
  const attempt = (g: LoginGuard, user: string, address: string, outcome: 'ok' | 'failed') => {
    const a = g.begin(user, address);
    if ('waitMs' in a) return 'wait';
    g.finish(a.ticket, outcome);
    return outcome;
  };

  it('failures of one user never hold another user, from the same address', () => {
    const g = new LoginGuard(policy, { now: () => 0 });
    for (let i = 0; i < 5; i++) attempt(g, 'nobody', '127.0.0.1', 'failed');
    assert.equal(attempt(g, 'nobody', '127.0.0.1', 'ok'), 'wait', 'the guesser’s own pair waits, the right password too');
    assert.equal(attempt(g, 'alice', '127.0.0.1', 'ok'), 'ok');
    assert.equal(attempt(g, 'nobody', '10.0.0.9', 'ok'), 'ok', 'the same user from another address');
  });

  it('an address over its ceiling holds only pairs that never logged in from it', () => {
    const g = new LoginGuard(policy, { now: () => 0 });
    assert.equal(attempt(g, 'alice', '127.0.0.1', 'ok'), 'ok');
    for (let i = 0; i < 12; i++) attempt(g, `user${i}`, '127.0.0.1', 'failed'); // spraying
    assert.equal(attempt(g, 'user99', '127.0.0.1', 'failed'), 'wait', 'a new name from the spraying address waits');
    assert.equal(attempt(g, 'carol', '127.0.0.1', 'ok'), 'wait', 'so does a real user’s first login there (the trade)');
    assert.equal(attempt(g, 'alice', '127.0.0.1', 'ok'), 'ok', 'a user who logged in from there before is let through');
    assert.equal(attempt(g, 'carol', '10.0.0.2', 'ok'), 'ok', 'other addresses are not affected');
  });

  it('a user over their ceiling (guessed at from many addresses) is still let in from an address they used, at once', () => {
    let t = 0;
    const g = new LoginGuard(policy, { now: () => t });
    assert.equal(attempt(g, 'alice', '192.0.2.1', 'ok'), 'ok');
    for (let i = 0; i < 10; i++) attempt(g, 'alice', `198.51.100.${i}`, 'failed');
    assert.equal(attempt(g, 'alice', '198.51.100.200', 'failed'), 'failed', 'past the ceiling a fresh pair is paced: one check now');
    assert.equal(attempt(g, 'alice', '198.51.100.201', 'ok'), 'wait', 'and the next one a second later');
    assert.equal(attempt(g, 'alice', '192.0.2.1', 'ok'), 'ok', 'a known pair is never paced');
    assert.equal(attempt(g, 'bob', '198.51.100.201', 'ok'), 'ok', 'nor is another user');
    t += 1000;
    assert.equal(attempt(g, 'alice', '198.51.100.201', 'ok'), 'ok', 'the fresh pair’s turn came');
  });

  it('past the ceiling, fresh prefixes get the user’s one check a second in turn: a botnet asking faster does not keep Alice out', () => {
    let t = 0;
    const g = new LoginGuard(policy, { now: () => t });
    for (let i = 0; i < 10; i++) attempt(g, 'alice', `198.51.100.${i}`, 'failed');
    const bots = Array.from({ length: 5 }, (_, i) => `203.0.113.${i}`);
    for (const b of bots) attempt(g, 'alice', b, 'failed'); // they all join the queue (the first is served)
    let tries = 0;
    let alice: string = 'wait';
    let botChecks = 1;
    for (; alice === 'wait' && tries < 50; t += 1000) {
      for (let k = 0; k < 20; k++) for (const b of bots) if (attempt(g, 'alice', b, 'failed') === 'failed') botChecks++;
      tries++;
      alice = attempt(g, 'alice', '192.0.2.77', 'ok');
    }
    assert.equal(alice, 'ok');
    // Her turn comes after the prefixes queued before her (the bots), one a second.
    assert.ok(tries <= bots.length + 2, `Alice waited ${tries} turns behind ${bots.length} bots`);
    assert.ok(botChecks <= tries + 1, `one check a second at most: ${botChecks} bot checks in ${tries} s`);
  });

  it('keys the (user, address) back-off by the whole address (a neighbour on the /64 is not held), IPv4-mapped addresses as IPv4', () => {
    const g = new LoginGuard(policy, { now: () => 0 });
    for (let i = 1; i <= 3; i++) attempt(g, 'alice', '2001:db8:1:2::1', 'failed');
    assert.equal(attempt(g, 'alice', '2001:0db8:1:2:0::1', 'ok'), 'wait', 'the same address, however spelt, is the same pair');
    assert.equal(attempt(g, 'alice', '2001:db8:1:2:ffff::9', 'ok'), 'ok', 'a neighbour on the same /64 is not held by the pair');
    assert.equal(attempt(g, 'alice', 'fe80::1%br-1a', 'ok'), 'ok', 'a zone id Node accepts (and ipaddr.js may not) is no error');
    for (let i = 1; i <= 3; i++) attempt(g, 'bob', '::ffff:198.51.100.7', 'failed');
    assert.equal(attempt(g, 'bob', '198.51.100.7', 'ok'), 'wait');
    assert.equal(g.pairFailures('bob', '::ffff:c633:6407'), 3);
  });

  it('takes its knobs from the config file’s limits', () => {
    const p = loginPolicy({ loginFreeFailures: 20, loginMaxBackoffMs: 60_000, loginFreeFailuresPerAddress: 500, loginFreeFailuresPerUser: 300 });
    assert.equal(p.pair.free, 20);
    assert.equal(p.address.free, 500);
    assert.equal(p.user.free, 300);
    assert.equal(p.pair.maxMs, 60_000);
    assert.equal(p.address.maxMs, 60_000);
    assert.deepEqual(loginPolicy({}), DEFAULT_LOGIN_POLICY);
    assert.equal(DEFAULT_LOGIN_POLICY.userPace.intervalMs, 1000);
    assert.deepEqual(Object.keys(DEFAULT_LOGIN_LIMITS).sort(), ['loginFreeFailures', 'loginFreeFailuresPerAddress', 'loginFreeFailuresPerUser', 'loginHashQueue', 'loginHashThreads', 'loginMaxBackoffMs']);
  });
});

describe('client address (X-Forwarded-For from trusted proxies only)', () => {
  const req = (peer: string, xff?: string | string[]) => ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;
  const proxy = new Set(['127.0.0.1', '10.0.0.2']);

  it('ignores the header from anyone else', () => {
    assert.equal(clientAddress(req('203.0.113.5', '198.51.100.1'), proxy), '203.0.113.5');
    assert.equal(clientAddress(req('::ffff:203.0.113.5', '198.51.100.1'), proxy), '203.0.113.5');
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1'), new Set()), '127.0.0.1');
  });

  it('takes the right-most address that is not a trusted proxy', () => {
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1'), proxy), '198.51.100.1');
    assert.equal(clientAddress(req('::ffff:127.0.0.1', '198.51.100.1'), proxy), '198.51.100.1');
    assert.equal(clientAddress(req('127.0.0.1', 'forged, 1.2.3.4, 198.51.100.1'), proxy), '198.51.100.1', 'what the client wrote itself is left of it');
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1, 10.0.0.2'), proxy), '198.51.100.1', 'a chain of trusted proxies');
    assert.equal(clientAddress(req('127.0.0.1', ['198.51.100.1', '10.0.0.2']), proxy), '198.51.100.1');
    assert.equal(clientAddress(req('127.0.0.1', '2001:db8::7'), proxy), '2001:db8::7');
    assert.equal(clientAddress(req('127.0.0.1', '10.0.0.2'), proxy), '10.0.0.2', 'only proxies: the farthest one');
    assert.equal(clientAddress(req('127.0.0.1'), proxy), '127.0.0.1');
  });

  it('stops at a malformed entry (the last trusted hop stands for the client)', () => {
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1, not-an-ip'), proxy), '127.0.0.1');
    assert.equal(clientAddress(req('127.0.0.1', 'x, 10.0.0.2'), proxy), '10.0.0.2');
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1:4711'), proxy), '127.0.0.1');
  });
});

describe('address keys, the pacer and the known pairs', () => {
  it('an address key is the IPv4 address, or the IPv6 /64 in any spelling', () => {
    assert.equal(addressKey('198.51.100.7'), '198.51.100.7');
    assert.equal(addressKey('::ffff:198.51.100.7'), '198.51.100.7');
    assert.equal(addressKey('::ffff:c633:6407'), '198.51.100.7');
    assert.equal(addressKey('0:0:0:0:0:ffff:198.51.100.7'), '198.51.100.7');
    assert.equal(addressKey('2001:db8:1:2::7'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:DB8:1:2:0:0:0:1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('unknown'), 'unknown');
  });

  it('the pacer serves prefixes in the order they came, drops those that stopped asking, and is bounded', () => {
    let t = 0;
    const p = new Pacer({ intervalMs: 1000, staleMs: 5000, maxWaiting: 3, maxKeys: 2 }, () => t);
    assert.equal(p.take('alice', 'a'), 0);
    assert.equal(p.take('alice', 'b'), 1000);
    assert.equal(p.take('alice', 'c'), 1000);
    assert.equal(p.take('alice', 'd'), 1000);
    assert.equal(p.take('alice', 'e'), 1000, 'a full queue turns a newcomer away');
    assert.equal(p.waiting('alice'), 3);
    t = 1000;
    assert.equal(p.take('alice', 'c'), 1000, 'not c’s turn');
    assert.equal(p.take('alice', 'b'), 0);
    t = 7000; // b and d stopped asking; c asked at 1000 and is stale too
    assert.equal(p.take('alice', 'e'), 0, 'the stale ones left the queue');
    assert.equal(p.take('bob', 'x'), 0, 'keys are separate');
    p.take('carol', 'x');
    assert.equal(p.waiting('alice'), 0, 'least recently used key dropped');
  });

  it('known pairs survive a restart (file), merge what another process wrote, and are bounded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitdav-known-'));
    try {
      const file = join(dir, 'state', 'known.json');
      let t = 0;
      const opts = { ...DEFAULT_KNOWN_LOGINS, file, maxPerUser: 2, now: () => t };
      const a = new KnownLogins(opts);
      a.add('alice', '192.0.2.1');
      a.add('bob', '2001:db8:1:2::/64');
      await a.flush();
      const b = new KnownLogins(opts);
      assert.ok(b.has('alice', '192.0.2.1') && b.has('bob', '2001:db8:1:2::/64'), 'loaded at start');
      assert.ok(!b.has('alice', '192.0.2.2'));
      b.add('carol', '192.0.2.3');
      await b.flush();
      t += 1500; // a looks at the file again at most once a second
      assert.ok(a.has('carol', '192.0.2.3'), 'another process’s pair is read');
      for (const x of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) a.add('alice', x);
      assert.ok(!a.has('alice', '10.0.0.1') && a.has('alice', '10.0.0.3'), 'per user, the least recent go');
      t += 181 * 24 * 3600_000;
      assert.ok(!a.has('carol', '192.0.2.3'), 'forgotten after 180 days unused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('login settings in the configuration', () => {
  it('accepts the login limits and takes trusted proxies as IP addresses only', () => {
    const c = loadConfig(['--trusted-proxies', '127.0.0.1, ::1'], {});
    assert.deepEqual(c.trustedProxies, ['127.0.0.1', '::1']);
    assert.throws(() => loadConfig(['--trusted-proxies', 'proxy.example.org'], {}), ConfigError);
    const dir = mkdtempSync(join(tmpdir(), 'gitdav-config-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ limits: { loginFreeFailuresPerAddress: 500, loginFreeFailuresPerUser: 50, loginHashThreads: 4, loginHashQueue: 16 } }));
      assert.equal(loadConfig(['--config', file], {}).limits.loginHashThreads, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
