/** Where a share is mounted in its grantee's tree (a pure function of the share: clients keep their URLs). */
import assert from 'node:assert/strict';
import { mountPointOf, type Share } from '../../lib/auth/shares-file.js';

const share = (owner: string, path: string, grantee = 'bob'): Share => ({ owner, path, grantee, access: 'read' });

describe('mountPointOf', () => {
  it('puts a calendar or an address book in the grantee’s own home of that kind', () => {
    assert.equal(mountPointOf(share('alice', '/calendars/alice/work')), '/calendars/bob/alice~work');
    assert.equal(mountPointOf(share('alice', '/addressbooks/alice/contacts')), '/addressbooks/bob/alice~contacts');
    assert.equal(mountPointOf(share('a.b', '/addressbooks/a.b/family', 'c.d')), '/addressbooks/c.d/a.b~family');
  });

  it('puts everything else under /shared/OWNER, its slashes as ~', () => {
    assert.equal(mountPointOf(share('alice', '/docs')), '/shared/alice/docs');
    // A home itself, something deeper than a book, another user's home, or a look-alike owner name.
    assert.equal(mountPointOf(share('alice', '/addressbooks/alice')), '/shared/alice/addressbooks~alice');
    assert.equal(mountPointOf(share('alice', '/addressbooks/alice/contacts/sub')), '/shared/alice/addressbooks~alice~contacts~sub');
    assert.equal(mountPointOf(share('alice', '/addressbooks/carol/contacts')), '/shared/alice/addressbooks~carol~contacts');
    assert.equal(mountPointOf(share('a.b', '/addressbooks/axb/contacts')), '/shared/a.b/addressbooks~axb~contacts');
    assert.equal(mountPointOf(share('alice', '/contacts/alice/x')), '/shared/alice/contacts~alice~x');
  });
});
