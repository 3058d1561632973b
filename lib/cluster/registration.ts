/**
 * How `gitdav reload` finds a supervisor and learns how its reload went: the supervisor keeps
 * `<stateDir>/supervisor.json` (its pid and command line, as the flight recorder's registrations,
 * lib/flight/registration.ts, so a stale file whose pid now belongs to another program is never
 * signalled), with a count of reloads and the outcome of the last one. Removed at exit.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists, writeFileDurably } from '../../backends/util/durable-file.js';
import type { Registration } from '../flight/registration.js';

export const SUPERVISOR_FILE = 'supervisor.json';

export interface SupervisorRegistration extends Registration {
  /** Reloads tried so far (each refused or done). */
  reloads: number;
  /** SIGHUPs received so far: `gitdav reload` waits for an outcome that answers a later one than it saw. */
  signals?: number;
  /** `answers`: the SIGHUPs received before that reload read the configuration. */
  last?: { ok: boolean; reason?: string; generation: number; workers: number; at: string; answers?: number };
}

export async function writeRegistration(stateDir: string, registration: SupervisorRegistration): Promise<void> {
  await writeFileDurably(join(stateDir, SUPERVISOR_FILE), JSON.stringify(registration) + '\n', { durability: 'atomic', mode: 0o600 });
}

export async function readRegistration(stateDir: string): Promise<SupervisorRegistration | undefined> {
  const text = await readTextIfExists(join(stateDir, SUPERVISOR_FILE)).catch(() => null);
  try {
    const parsed = JSON.parse(text ?? '') as SupervisorRegistration;
    return Number.isInteger(parsed.pid) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function removeRegistration(stateDir: string): Promise<void> {
  return fsp.rm(join(stateDir, SUPERVISOR_FILE), { force: true });
}

/** supervisor.json's writes, one after another (the last state lands last); none after remove(). */
export class RegistrationFile {
  private writing: Promise<unknown> = Promise.resolve();
  private removed = false;
  constructor(
    private readonly stateDir: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  write(registration: SupervisorRegistration): Promise<void> {
    const content = { ...registration };
    const done = this.writing.then(() => (this.removed ? undefined : writeRegistration(this.stateDir, content))).catch(this.onError);
    this.writing = done;
    return done;
  }

  async remove(): Promise<void> {
    this.removed = true;
    await this.writing;
    await removeRegistration(this.stateDir).catch(() => undefined);
  }
}
