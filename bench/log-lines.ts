/**
 * `node dist/bench/log-lines.js`: log lines per second of gitdav's logger (backends/util/log.ts)
 * against pino, writing the request line gitdav writes, to a file descriptor (default /dev/null;
 * LOG_BENCH_FILE=path for a real file). Also the cost of the flight recorder: every record
 * serialised into the ring while the log level keeps it off stderr.
 *
 * pino is not a dependency: point PINO_DIR at a folder where `npm install pino` was run (e.g.
 * `npm install --prefix /tmp/pino pino`, then PINO_DIR=/tmp/pino) to add its rows. LOG_BENCH_LINES
 * (default 300,000) lines per row; each row runs three times and the best is shown.
 */
import { openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createLogger, type Logger } from '../backends/util/log.js';
import { FlightRecorder } from '../backends/util/flight-recorder.js';

const LINES = Number(process.env.LOG_BENCH_LINES ?? 300_000);
const FILE = process.env.LOG_BENCH_FILE ?? '/dev/null';

type Log = (i: number) => void;

/** The fields of gitdav's request line. */
const fields = (i: number) => ({
  method: 'PROPFIND',
  url: `/calendars/alice/calendar/event-${i}.ics`,
  status: 207,
  ms: 1.234,
  bytesIn: 0,
  bytesOut: 2048,
  address: '127.0.0.1',
  user: 'alice',
  ua: 'DAVx5/4.4 (2024/05/01; dav4jvm; okhttp/4.12.0) Android/14',
  requestId: '6f1c1d3e-9f0a-4d8e-9a57-3f1f3b2a7c11',
});

function gitdavRows(fd: number): [string, Log][] {
  const plain: Logger = createLogger('info', (l) => writeSync(fd, l));
  const withRecorder: Logger = createLogger('info', (l) => writeSync(fd, l), new FlightRecorder());
  const recorderOnly: Logger = createLogger('warn', (l) => writeSync(fd, l), new FlightRecorder());
  const off: Logger = createLogger('warn', (l) => writeSync(fd, l));
  return [
    ['gitdav logger, sync write per line', (i) => plain.info('request', fields(i))],
    ['gitdav logger + flight recorder', (i) => withRecorder.info('request', fields(i))],
    ['gitdav, level warn: ring only, nothing written', (i) => recorderOnly.info('request', fields(i))],
    ['gitdav, level warn, no recorder (a call that does nothing)', (i) => off.info('request', fields(i))],
  ];
}

/** pino set to write gitdav's fields: `time` as ISO text, `level` as its name, no pid/hostname. */
function pinoRows(fd: number): [string, Log][] {
  const dir = process.env.PINO_DIR;
  if (!dir) return [];
  type Pino = ((options: object, stream: unknown) => { info(obj: object, msg: string): void; flush?: () => void }) & {
    destination(options: object): { flushSync(): void };
    stdTimeFunctions: { isoTime: () => string };
  };
  const pino = createRequire(join(dir, 'noop.js'))('pino') as Pino;
  const options = { base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) } };
  const sync = pino(options, pino.destination({ dest: fd, sync: true }));
  // Buffered: written in 4 KiB blocks, synchronously (an asynchronous destination would only queue
  // lines while this loop runs), which is what pino's buffering saves: write calls.
  const bufferedDest = pino.destination({ dest: fd, sync: true, minLength: 4096 });
  const buffered = pino(options, bufferedDest);
  return [
    ['pino, sync destination', (i) => sync.info(fields(i), 'request')],
    ['pino, 4 KiB buffered destination', (i) => buffered.info(fields(i), 'request')],
  ];
}

function measure(log: Log): number {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < LINES; i++) log(i);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.max(best, LINES / seconds);
  }
  return best;
}

const fd = openSync(FILE, 'a'); // left to the exit: pino's destinations hold it too
const rows = [...gitdavRows(fd), ...pinoRows(fd)];
process.stdout.write(`${LINES.toLocaleString('en')} request lines per row to ${FILE}, best of 3, node ${process.version}\n`);
for (const [name, log] of rows) process.stdout.write(`${name.padEnd(60)} ${Math.round(measure(log)).toLocaleString('en').padStart(12)} lines/s\n`);
if (!process.env.PINO_DIR) process.stdout.write('(pino rows: set PINO_DIR, see the top of bench/log-lines.ts)\n');
