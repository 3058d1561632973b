/**
 * Structured logs: one JSON object per line on stderr (requests on stdout are a proxy's business).
 * Every record is `{"time": ISO 8601, "level": "debug|info|warn|error", "msg": …, …fields}`.
 * A recorder (the flight recorder, backends/util/flight-recorder.ts) is handed every record, at every
 * level whatever the configured one, already serialised: a record is serialised once, for both.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type RecordLevel = Exclude<LogLevel, 'silent'>;
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A record before it is serialised. */
export interface LogEntry {
  time: string;
  level: RecordLevel;
  msg: string;
  [field: string]: unknown;
}

/** Keeps records of every level (the flight recorder): `line` is the record's JSON, `entry` what it was made from. */
export interface LogRecorder {
  add(line: string, entry: LogEntry): void;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l), recorder?: LogRecorder): Logger {
  const at = (lvl: RecordLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    const shown = RANK[lvl] >= RANK[level];
    if (!shown && !recorder) return;
    const entry: LogEntry = { time: new Date().toISOString(), level: lvl, msg, ...fields };
    const line = stringifyRecord(entry);
    recorder?.add(line, entry);
    if (shown) write(line + '\n');
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A record as one line of JSON; never throws (a field that cannot be serialised, e.g. a cycle,
 * leaves the time, level and message and says why). With `maxString`, longer strings are cut.
 */
export function stringifyRecord(entry: LogEntry, maxString?: number): string {
  // A replacer makes JSON.stringify several times slower: used only where a field needs it (an
  // error or a bigint among the record's fields; an error nested deeper in a field is not looked for).
  const replacer = maxString !== undefined ? (key: string, value: unknown) => cutLong(errorReplacer(key, value), maxString) : needsReplacer(entry) ? errorReplacer : undefined;
  try {
    return JSON.stringify(entry, replacer);
  } catch (err) {
    return JSON.stringify({ time: entry.time, level: entry.level, msg: String(entry.msg), unserialisable: (err as Error).message });
  }
}

function needsReplacer(entry: LogEntry): boolean {
  for (const key in entry) {
    const value = entry[key];
    if (value instanceof Error || typeof value === 'bigint') return true;
  }
  return false;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack, cause: value.cause };
  if (typeof value === 'bigint') return String(value);
  return value;
}

function cutLong(value: unknown, max: number): unknown {
  return typeof value === 'string' && value.length > max ? `${value.slice(0, max)}… (${value.length} characters)` : value;
}

/** Adds fixed fields (a worker's id, the supervisor's pid) to every record. */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  const at = (log: Logger['info']) => (msg: string, more?: Record<string, unknown>) => log(msg, { ...fields, ...more });
  return { debug: at(logger.debug), info: at(logger.info), warn: at(logger.warn), error: at(logger.error) };
}
