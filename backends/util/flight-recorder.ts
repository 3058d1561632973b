/**
 * The flight recorder (libqb's black box): a process's last log records, at every level down to
 * debug whatever level the log is configured at, kept in memory and written out only when needed
 * (a crash, SIGUSR2, `gitdav dump`), so an incident can be read after the fact without running at
 * debug level. Each process (each worker, once there are several) has its own.
 *
 * Bounded twice: by records and by bytes (their JSON). A record over its own cap is cut, its long
 * strings first and then to its time, level and message, so one huge field can neither blow the
 * memory up nor push every other record out. Records are kept serialised: a record holds no
 * reference to the objects it was made from.
 *
 * A dump is `<dir>/<time>-<pid>-<reason>.jsonl`: a header record, then the records oldest first;
 * written whole (durable-file, fsync: it is the only copy), mode 0600 (the log names users and
 * addresses); the newest `flightDumps` dumps in the folder are kept, older ones removed.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from './durable-file.js';
import { stringifyRecord, type LogEntry, type LogRecorder } from './log.js';

export interface FlightLimits {
  /** Records kept (0: no recorder). */
  flightRecords: number;
  /** Bytes kept, all records together. */
  flightBytes: number;
  /** One record's bytes at most: a longer one is cut (at least 256). */
  flightRecordBytes: number;
  /** Dumps kept in the dump folder, every process's together; older ones are removed (at least 1). */
  flightDumps: number;
}

export const DEFAULT_FLIGHT_LIMITS: FlightLimits = {
  flightRecords: 5_000,
  flightBytes: 4 * 1024 * 1024,
  flightRecordBytes: 4 * 1024,
  flightDumps: 10,
};

/** Strings longer than this are cut first when a record is over its cap. */
const LONG_STRING = 256;
const MIN_RECORD_BYTES = 256;

export interface FlightStats {
  /** Records held now, and their bytes. */
  records: number;
  bytes: number;
  /** Records pushed out (by either bound) since the start. */
  dropped: number;
  /** Records that were cut to fit their cap. */
  cut: number;
}

export class FlightRecorder implements LogRecorder {
  private readonly lines: string[];
  private readonly sizes: number[];
  private head = 0; // the oldest record's slot
  private count = 0;
  private bytes = 0;
  private dropped = 0;
  private cut = 0;
  readonly limits: FlightLimits;

  constructor(limits: Partial<FlightLimits> = {}) {
    const d = DEFAULT_FLIGHT_LIMITS;
    const recordBytes = Math.max(MIN_RECORD_BYTES, limits.flightRecordBytes ?? d.flightRecordBytes);
    this.limits = {
      flightRecords: Math.max(1, limits.flightRecords ?? d.flightRecords),
      flightBytes: Math.max(recordBytes, limits.flightBytes ?? d.flightBytes),
      flightRecordBytes: recordBytes,
      flightDumps: Math.max(1, limits.flightDumps ?? d.flightDumps),
    };
    this.lines = new Array<string>(this.limits.flightRecords);
    this.sizes = new Array<number>(this.limits.flightRecords).fill(0);
  }

  add(line: string, entry: LogEntry): void {
    let size = byteSize(line);
    if (size > this.limits.flightRecordBytes) {
      line = this.fit(entry, size);
      size = byteSize(line);
      this.cut++;
    }
    const capacity = this.limits.flightRecords;
    while (this.count > 0 && (this.count === capacity || this.bytes + size > this.limits.flightBytes)) {
      this.bytes -= this.sizes[this.head]!;
      this.lines[this.head] = '';
      this.head = (this.head + 1) % capacity;
      this.count--;
      this.dropped++;
    }
    const slot = (this.head + this.count) % capacity;
    this.lines[slot] = line;
    this.sizes[slot] = size;
    this.count++;
    this.bytes += size;
  }

  /** The records held, oldest first. */
  records(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.lines[(this.head + i) % this.limits.flightRecords]!);
    return out;
  }

  stats(): FlightStats {
    return { records: this.count, bytes: this.bytes, dropped: this.dropped, cut: this.cut };
  }

  /**
   * Writes the records to a new dump in `dir` (made if missing) and removes the older dumps past
   * `flightDumps`; returns the file's path. `reason` names why (a word: signal, crash, …).
   */
  async dump(dir: string, reason: string): Promise<string> {
    const records = this.records();
    const header = stringifyRecord({
      time: new Date().toISOString(),
      level: 'info',
      msg: 'flight recorder dump',
      reason,
      pid: process.pid,
      ...this.stats(),
      limits: this.limits,
    });
    const file = join(dir, dumpName(new Date(), process.pid, reason));
    await writeFileDurably(file, [header, ...records].join('\n') + '\n', { durability: 'fsync', mode: 0o600 });
    await pruneDumps(dir, this.limits.flightDumps);
    return file;
  }

  /** A record cut to its cap: its long strings first; if that is not enough, its time, level and message. */
  private fit(entry: LogEntry, size: number): string {
    const shorter = stringifyRecord(entry, LONG_STRING);
    if (byteSize(shorter) <= this.limits.flightRecordBytes) return shorter;
    const msg = String(entry.msg);
    return stringifyRecord({ time: entry.time, level: entry.level, msg: msg.length > LONG_STRING ? msg.slice(0, LONG_STRING) + '…' : msg, cutFromBytes: size });
  }
}

function byteSize(s: string): number {
  return Buffer.byteLength(s);
}

const DUMP_NAME = /^(\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z)-(\d+)-([a-z-]+)\.jsonl$/;

/** `2026-12-06T233512.123Z-4242-signal.jsonl`: sorts by time; no colons (not every file system takes them). */
export function dumpName(time: Date, pid: number, reason: string): string {
  return `${time.toISOString().replace(/:/g, '')}-${pid}-${reason.replace(/[^a-z-]/g, '-')}.jsonl`;
}

/** A dump's name read back: its pid and reason; null for any other file. */
export function parseDumpName(name: string): { pid: number; reason: string } | null {
  const m = DUMP_NAME.exec(name);
  return m ? { pid: Number(m[2]), reason: m[3]! } : null;
}

/** The dumps in `dir`, oldest first (names only). */
export async function listDumps(dir: string): Promise<string[]> {
  const names = await fsp.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.filter((n) => DUMP_NAME.test(n)).sort();
}

/** Removes all but the newest `keep` dumps in `dir`. */
export async function pruneDumps(dir: string, keep: number): Promise<void> {
  const names = await listDumps(dir);
  for (const name of names.slice(0, Math.max(0, names.length - Math.max(1, keep)))) await fsp.rm(join(dir, name), { force: true });
}
