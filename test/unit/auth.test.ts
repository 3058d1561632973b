/** The pure parts of authentication: htpasswd schemes (with published test vectors) and back-off. */
import assert from 'node:assert/strict';
import { Backoff, backoffOptions, DEFAULT_BACKOFF } from '../../lib/auth/backoff.js';
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
  it('lets a few failures pass, then doubles the wait; a success clears it', () => {
    let now = 0;
    const b = new Backoff({ free: 2, baseMs: 1000, maxMs: 5000, maxKeys: 3 }, () => now);
    b.fail('k');
    b.fail('k');
    assert.equal(b.wait('k'), 0);
    b.fail('k');
    assert.equal(b.wait('k'), 1000);
    b.fail('k');
    assert.equal(b.wait('k'), 2000);
    for (let i = 0; i < 10; i++) b.fail('k');
    assert.equal(b.wait('k'), 5000, 'capped');
    now += 5000;
    assert.equal(b.wait('k'), 0);
    b.succeed('k');
    b.fail('k');
    assert.equal(b.wait('k'), 0, 'a success started the count again');
  });

  it('takes its two knobs from the config file’s limits (loginFreeFailures, loginMaxBackoffMs)', () => {
    assert.deepEqual(backoffOptions({}), DEFAULT_BACKOFF);
    const o = backoffOptions({ loginFreeFailures: 20, loginMaxBackoffMs: 60_000 });
    assert.equal(o.free, 20);
    assert.equal(o.maxMs, 60_000);
    let now = 0;
    const b = new Backoff(o, () => now);
    for (let i = 0; i < 20; i++) b.fail('k');
    assert.equal(b.wait('k'), 0, 'twenty free');
    for (let i = 0; i < 30; i++) b.fail('k');
    assert.equal(b.wait('k'), 60_000, 'capped at a minute');
  });

  it('keeps at most maxKeys keys (a flood of names cannot grow memory)', () => {
    const b = new Backoff({ free: 0, baseMs: 1000, maxMs: 5000, maxKeys: 3 }, () => 0);
    for (const k of ['a', 'b', 'c', 'd']) b.fail(k);
    assert.equal(b.wait('a'), 0);
    assert.equal(b.wait('d'), 1000);
  });
});
