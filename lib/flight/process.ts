/**
 * The flight recorder in a server process: when its records are written out. On SIGUSR2 (and so
 * `gitdav dump`, which sends it); on a crash (an uncaught exception: the record of it, the dump, then
 * exit 1, as Node would have exited); on an unhandled rejection, which is logged and does not end the
 * server (requests are isolated by Koa; a stray rejection elsewhere is a bug to read about, not a
 * reason to drop every connection), at most one dump a minute. Each process installs its own.
 */
import type { FlightRecorder } from '../../backends/util/flight-recorder.js';
import type { Logger } from '../../backends/util/log.js';
import { flightDirOf, register } from './registration.js';

export interface Flight {
  /** The folder the dumps go to. */
  dir: string;
  /** Writes a dump now; its path, or undefined when it could not be written (that is logged). */
  dump(reason: string): Promise<string | undefined>;
  /** Stops answering SIGUSR2 and crashes, and removes this process's registration. */
  close(): Promise<void>;
}

/** A crash's dump that hangs must not keep a broken process up. */
const CRASH_DUMP_LIMIT_MS = 10_000;
const REJECTION_DUMP_EVERY_MS = 60_000;
const ignore = () => undefined;

export async function installFlight(recorder: FlightRecorder, stateDir: string, logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): Promise<Flight> {
  const dir = flightDirOf(stateDir);
  let unregister = async () => {};
  let chain: Promise<unknown> = Promise.resolve();
  const dump = (reason: string): Promise<string | undefined> => {
    const written = chain.then(() => recorder.dump(dir, reason)).then(
      (file) => {
        logger.info('flight recorder written', { reason, file });
        return file;
      },
      (err: unknown) => {
        logger.error('flight recorder not written', { reason, dir, err });
        return undefined;
      },
    );
    chain = written;
    return written;
  };

  const onSignal = () => void dump('signal');
  let crashing = false;
  const onCrash = (err: unknown) => {
    if (crashing) return exit(1); // another one while the first is being written
    crashing = true;
    logger.error('uncaught exception: the server stops', { err });
    const limit = setTimeout(() => exit(1), CRASH_DUMP_LIMIT_MS);
    void dump('crash')
      .then(() => unregister())
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(limit);
        exit(1);
      });
  };
  let lastRejectionDump: number | undefined;
  const onRejection = (err: unknown) => {
    logger.error('unhandled rejection', { err });
    const now = performance.now();
    if (lastRejectionDump !== undefined && now - lastRejectionDump < REJECTION_DUMP_EVERY_MS) return;
    lastRejectionDump = now;
    void dump('rejection');
  };
  // Handlers before the registration, and the registration gone before they are: SIGUSR2's default
  // action ends a process, so `gitdav dump` must never find one that has no handler.
  process.on('SIGUSR2', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onRejection);
  try {
    unregister = await register(dir);
  } catch (err) {
    logger.warn('flight recorder: this process could not register, so gitdav dump will not find it (SIGUSR2 still works)', { dir, err });
  }
  return {
    dir,
    dump,
    async close() {
      await unregister().catch(() => undefined);
      await chain;
      // A late SIGUSR2 (a dump asked for just before the registration went) is ignored, not fatal.
      process.on('SIGUSR2', ignore);
      process.off('SIGUSR2', onSignal);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onRejection);
    },
  };
}
