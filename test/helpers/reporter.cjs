// Mocha's spec output for people, plus the run's stats and failures as JSON for .ci/run
// (written to $GITDAV_MOCHA_JSON when set).
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class SpecAndJson extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test, err) => {
      failures.push({ title: test.fullTitle(), message: String(err && err.message) });
    });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const out = process.env.GITDAV_MOCHA_JSON;
      if (out) fs.writeFileSync(out, JSON.stringify({ stats: this.stats, failures }, null, 1));
    });
  }
}

module.exports = SpecAndJson;
