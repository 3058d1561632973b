/** The flight recorder's ring, its caps and its dumps; the logger that feeds it; log-safe client text. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightRecorder, dumpName, listDumps, parseDumpName } from '../../backends/util/flight-recorder.js';
import { createLogger, type Logger } from '../../backends/util/log.js';
import { clientText } from '../../lib/request-log.js';

function recorded(limits: ConstructorParameters<typeof FlightRecorder>[0]): { rec: FlightRecorder; log: Logger; printed: string[] } {
  const rec = new FlightRecorder(limits);
  const printed: string[] = [];
  return { rec, log: createLogger('warn', (l) => printed.push(l), rec), printed };
}

describe('flight recorder', () => {
  it('keeps every level whatever the log level, and prints only what the level lets through', () => {
    const { rec, log, printed } = recorded({});
    log.debug('d', { n: 1 });
    log.info('i');
    log.warn('w');
    log.error('e', { err: new Error('boom') });
    assert.deepEqual(rec.records().map((l) => (JSON.parse(l) as { level: string }).level), ['debug', 'info', 'warn', 'error']);
    assert.deepEqual(printed.map((l) => (JSON.parse(l) as { msg: string }).msg), ['w', 'e']);
    assert.equal((JSON.parse(rec.records()[3]!) as { err: { message: string } }).err.message, 'boom');
  });

  it('keeps the last N records, oldest first', () => {
    const { rec, log } = recorded({ flightRecords: 3 });
    for (let i = 0; i < 5; i++) log.debug('r', { i });
    assert.deepEqual(rec.records().map((l) => (JSON.parse(l) as { i: number }).i), [2, 3, 4]);
    assert.deepEqual({ ...rec.stats(), bytes: 0 }, { records: 3, bytes: 0, dropped: 2, cut: 0 });
  });

  it('keeps no more bytes than its bound, whatever the count', () => {
    const { rec, log } = recorded({ flightRecords: 1000, flightBytes: 1000, flightRecordBytes: 400 });
    for (let i = 0; i < 50; i++) log.debug('r', { i, pad: 'p'.repeat(200) });
    const lines = rec.records();
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    assert.ok(bytes <= 1000 && lines.length >= 3, `${lines.length} records, ${bytes} bytes`);
    assert.equal(rec.stats().bytes, bytes);
    assert.equal((JSON.parse(lines.at(-1)!) as { i: number }).i, 49);
  });

  it('cuts a record over its cap: long strings first, else to its time, level and message', () => {
    const { rec, log } = recorded({ flightRecordBytes: 1024 });
    log.info('huge', { body: 'b'.repeat(1_000_000), small: 'kept' });
    log.info('wide', Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`field${i}`, i])));
    const [huge, wide] = rec.records().map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.match(String(huge!.body), /^b{256}… \(1000000 characters\)$/);
    assert.equal(huge!.small, 'kept');
    assert.equal(wide!.msg, 'wide');
    assert.equal(typeof wide!.cutFromBytes, 'number');
    assert.equal(wide!.field0, undefined);
    assert.ok(rec.records().every((l) => Buffer.byteLength(l) <= 1024));
    assert.equal(rec.stats().cut, 2);
  });

  it('records what it cannot serialise as a record that says so', () => {
    const { rec, log } = recorded({});
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    log.warn('cycle', { cycle, big: 10n });
    log.warn('bigint', { big: 10n });
    const [a, b] = rec.records().map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(a!.msg, 'cycle');
    assert.match(String(a!.unserialisable), /circular/i);
    assert.equal(b!.big, '10');
  });

  it('dumps a header and the records to a 0600 file, and keeps the newest dumps only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-flight-unit-'));
    try {
      const { rec, log } = recorded({ flightDumps: 2 });
      log.debug('one');
      const files: string[] = [];
      for (const reason of ['signal', 'crash', 'signal']) {
        files.push(await rec.dump(dir, reason));
        await new Promise((r) => setTimeout(r, 2)); // distinct names (their time has milliseconds)
      }
      const left = await listDumps(dir);
      assert.deepEqual(left, files.slice(1).map((f) => f.slice(dir.length + 1)));
      assert.deepEqual((await readdir(dir)).sort(), left, 'no temp file left');
      const lines = (await readFile(files[2]!, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines[0]!.msg, 'flight recorder dump');
      assert.equal(lines[0]!.reason, 'signal');
      assert.equal(lines[0]!.pid, process.pid);
      assert.equal(lines[1]!.msg, 'one');
      assert.equal((await stat(files[2]!)).mode & 0o777, 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names dumps so that they sort by time and read back', () => {
    const name = dumpName(new Date('2026-12-06T23:35:12.123Z'), 4242, 'shutdown-failed');
    assert.equal(name, '2026-12-06T233512.123Z-4242-shutdown-failed.jsonl');
    assert.deepEqual(parseDumpName(name), { pid: 4242, reason: 'shutdown-failed' });
    assert.equal(parseDumpName('4242.pid'), null);
  });
});

describe('clientText (client-supplied text in a log field)', () => {
  const rows: [string, string, number, string][] = [
    ['plain text stays', 'alice', 64, 'alice'],
    ['C1 controls and DEL are spelt out', 'a\u009b[31m\u007f', 64, 'a\\u009b[31m\\u007f'],
    ['bidi and line separators are spelt out', 'x\u202ey\u2028', 64, 'x\\u202ey\\u2028'],
    ['C0 controls are left to JSON', 'a\u001bb', 64, 'a\u001bb'],
    ['a long text is cut and marked', 'n'.repeat(70), 64, 'n'.repeat(64) + '…'],
    ['a cut never splits a surrogate pair', 'n'.repeat(63) + '😀', 64, 'n'.repeat(63) + '…'],
  ];
  for (const [name, input, max, expected] of rows) it(name, () => assert.equal(clientText(input, max), expected));
});
