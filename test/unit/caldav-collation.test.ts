import assert from 'node:assert/strict';
import { collationContains, isCollation, COLLATIONS, DEFAULT_COLLATION } from '../../lib/caldav/ical/collation.js';

describe('CalDAV text-match collations (RFC 4791 §7.5.1, RFC 4790, RFC 5051)', () => {
  it('supports exactly i;ascii-casemap (default), i;octet and i;unicode-casemap', () => {
    assert.deepEqual([...COLLATIONS], ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap']);
    assert.equal(DEFAULT_COLLATION, 'i;ascii-casemap');
    assert.equal(isCollation('i;octet'), true);
    assert.equal(isCollation('I;OCTET'), false, 'collation names are compared as given');
    assert.equal(isCollation('i;basic'), false);
  });

  describe('RFC 4790 §9.2 i;ascii-casemap', () => {
    it('folds A–Z only', () => {
      assert.equal(collationContains('Weekly REVIEW', 'review', 'i;ascii-casemap'), true);
      assert.equal(collationContains('Straße', 'STRASSE', 'i;ascii-casemap'), false);
      assert.equal(collationContains('ÄRZTIN', 'ärztin', 'i;ascii-casemap'), false);
      assert.equal(collationContains('Ärztin', 'ÄRZTIN', 'i;ascii-casemap'), true);
    });
    it('an empty needle is always contained', () => assert.equal(collationContains('x', '', 'i;ascii-casemap'), true));
  });

  describe('RFC 4790 §9.3 i;octet', () => {
    it('compares exactly', () => {
      assert.equal(collationContains('Team-Meeting', 'Team-M', 'i;octet'), true);
      assert.equal(collationContains('Team-Meeting', 'team-m', 'i;octet'), false);
    });
  });

  describe('RFC 5051 i;unicode-casemap', () => {
    it('folds case beyond ASCII', () => {
      assert.equal(collationContains('Zahnärztin Dr. MÜLLER', 'müller', 'i;unicode-casemap'), true);
      assert.equal(collationContains('Ångström', 'ÅNGSTRÖM', 'i;unicode-casemap'), true);
      assert.equal(collationContains('ΣΟΦΊΑ', 'σοφία', 'i;unicode-casemap'), true);
    });
    it('compares decomposed and composed forms as equal (NFKD)', () => {
      assert.equal(collationContains('Cafe\u0301', 'CAFÉ', 'i;unicode-casemap'), true);
      assert.equal(collationContains('ﬁle', 'FILE', 'i;unicode-casemap'), true, 'compatibility ligature');
    });
    it('does not apply full case mappings (ß is not ss)', () => {
      assert.equal(collationContains('Straße', 'STRASSE', 'i;unicode-casemap'), false);
    });
  });
});
