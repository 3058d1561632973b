/**
 * bench/targets.ts: issue 13's targets as PASS/FAIL/n/a from one run's figures — ratios oriented so
 * above 1× is better (A ÷ B for rates, B ÷ A for times), absolute bounds, and n/a whenever a figure
 * is missing, not finite, or a divisor is 0. Pure: no server is started.
 */
import assert from 'node:assert/strict';
import { evaluateTarget, evaluateTargets, renderTargets, summarise, TARGETS, type Figures, type Target } from '../../bench/targets.js';

const find = (metric: Target['metric'], who: Target['who'], vs?: Target['vs']) => {
  const t = TARGETS.find((x) => x.metric === metric && x.who === who && x.vs === vs);
  assert.ok(t, `no target ${metric} ${who} ${vs ?? ''}`);
  return t;
};

describe('bench targets (issue 13)', () => {
  it('a rate against nginx: the ratio A ÷ B must reach the bound, and the bound itself passes', () => {
    const fs = find('get1', 'fs', 'nginx');
    const git = find('get1', 'git', 'nginx');
    const f: Figures = { get1: { nginx: 1000, fs: 999, git: 800 } };
    assert.equal(evaluateTarget(fs, f).verdict, 'FAIL');
    assert.equal(evaluateTarget(git, f).verdict, 'PASS'); // exactly 0.8×
    assert.equal(evaluateTarget(git, f).actual, 0.8);
    assert.equal(evaluateTarget(fs, { get1: { nginx: 1000, fs: 1000 } }).verdict, 'PASS');
  });

  it('a time against a peer is B ÷ A: faster than Apache passes, slower fails, equal passes', () => {
    const t = find('oneProps', 'git', 'apache');
    assert.equal(evaluateTarget(t, { oneProps: { apache: 17.5, git: 6 } }).verdict, 'PASS');
    assert.equal(evaluateTarget(t, { oneProps: { apache: 17.5, git: 68 } }).verdict, 'FAIL');
    assert.equal(evaluateTarget(t, { oneProps: { apache: 10, git: 10 } }).verdict, 'PASS');
    const q = find('calQuery', 'fs', 'radicale');
    const r = evaluateTarget(q, { calQuery: { radicale: 972, fs: 97.2 } });
    assert.equal(r.verdict, 'PASS');
    assert.ok(Math.abs(r.actual! - 10) < 1e-9);
    assert.equal(evaluateTarget(q, { calQuery: { radicale: 972, fs: 98 } }).verdict, 'FAIL');
  });

  it('absolute bounds: < is strict, and a paged listing is 1', () => {
    const rss = find('idleRss', 'fs');
    assert.equal(evaluateTarget(rss, { idleRss: { fs: 49.9 } }).verdict, 'PASS');
    assert.equal(evaluateTarget(rss, { idleRss: { fs: 50 } }).verdict, 'FAIL');
    const paged = find('bigPaged', 'git');
    assert.equal(evaluateTarget(paged, { bigPaged: { git: 1 } }).verdict, 'PASS');
    assert.equal(evaluateTarget(paged, { bigPaged: { git: 0 } }).verdict, 'FAIL');
  });

  it('n/a when a figure is missing, not finite, or a divisor is 0; never PASS or FAIL', () => {
    const t = find('get100', 'fs', 'nginx');
    for (const f of [{}, { get100: { fs: 500 } }, { get100: { nginx: 900 } }, { get100: { fs: NaN, nginx: 900 } }, { get100: { fs: 500, nginx: 0 } }] as Figures[]) {
      const r = evaluateTarget(t, f);
      assert.equal(r.verdict, 'n/a', JSON.stringify(f));
      assert.equal(r.actual, undefined);
    }
    const time = find('calRestart', 'git', 'radicale');
    assert.equal(evaluateTarget(time, { calRestart: { radicale: 100, git: 0 } }).verdict, 'n/a');
    assert.equal(evaluateTarget(find('calSync', 'fs'), { calSync: { git: 5 } }).verdict, 'n/a');
  });

  it('every target of the issue is there for both backends, and nothing measured is all n/a', () => {
    const metrics = new Set(TARGETS.map((t) => t.metric));
    for (const m of ['get1', 'get100', 'propfindProps', 'propfindAllprop', 'oneProps', 'oneAllprop', 'bigTtfb', 'bigTotal', 'bigRss', 'bigPaged', 'idleRss', 'webdavPeakRss', 'calUploadRss', 'calQuery', 'calMultiget', 'calSync', 'calRestart'] as const) {
      assert.ok(metrics.has(m), m);
      assert.ok(TARGETS.some((t) => t.metric === m && t.who === 'fs'), `${m} fs`);
      assert.ok(TARGETS.some((t) => t.metric === m && t.who === 'git'), `${m} git`);
    }
    const results = evaluateTargets({});
    assert.deepEqual(summarise(results), { PASS: 0, FAIL: 0, 'n/a': TARGETS.length });
  });

  it('the issue-13 table as measured before the work: the counts and the rendered lines agree', () => {
    const before: Figures = {
      get1: { nginx: 998, apache: 774, fs: 432, git: 139 },
      get100: { nginx: 927, apache: 645, fs: 636, git: 213 },
      propfindProps: { nginx: 290, apache: 120, fs: 31, git: 40 },
      oneProps: { nginx: 6.4, apache: 17.5, fs: 95, git: 68 },
    };
    const results = evaluateTargets(before);
    const c = summarise(results);
    assert.equal(c.PASS, 0);
    assert.equal(c.FAIL, 4 + 2 + 2); // GETs, PROPFIND rates and single PROPFIND with the bench's props
    assert.equal(c['n/a'], TARGETS.length - c.FAIL);
    const lines = renderTargets(results);
    assert.equal(lines.length, TARGETS.length + 2);
    assert.match(lines[0]!, /^- FAIL fs .*0\.43× \(want ≥ 1×\)$/);
    assert.match(lines.at(-1)!, new RegExp(`^targets: 0 PASS, 8 FAIL, ${c['n/a']} n/a \\(of ${TARGETS.length}\\)$`));
  });
});
