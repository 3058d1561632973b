/**
 * The login back-off of a supervisor's workers, shared: one LoginGuard (./login-guard.ts) lives in
 * the supervisor (LoginGuardHost) and every worker asks it over the cluster IPC channel
 * (LoginGuardClient, used by the authenticator when the config says `supervised`). So a guesser who
 * spreads guesses over the workers' connections is counted as if one process served them all: per
 * (user, address), per address and per user, before the password is checked, as in one process. The
 * known logins file (ROOT/.gitdav/known-logins) is the host's alone.
 *
 * Messages are objects with `gitdav: 'login-guard'` (others on the channel — prom-client, the
 * supervisor's own — are ignored): a worker sends `begin {id, user, address}` and later
 * `finish {id, outcome}`; the host answers `begun {id, waitMs?}` and keeps the ticket by (worker, id).
 *
 * Failure never gives a guesser more than one process would:
 * - no supervisor (the channel closed) or no answer within `timeoutMs`: the worker answers 429 (it
 *   does not fall back to a guard of its own, which would count apart); a begin it gave up on is
 *   settled `unchecked` at the host (the channel keeps order, so that comes after the begin);
 * - a worker that exits with attempts open (a crash in the middle of a check): they count as
 *   failed, as a guess whose answer is not known;
 * - `reconfigure` with another policy starts a new guard (its counts start afresh, the known logins
 *   are read again from the file); the same policy keeps the guard and its counts.
 */
import type { Worker } from 'node:cluster';
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../../backends/util/log.js';
import { KNOWN_LOGINS_FILE } from './known-logins.js';
import { LoginGuard, loginPolicy, type Admission, type LoginGate, type Outcome, type Ticket } from './login-guard.js';

export const LOGIN_GUARD_MESSAGE = 'login-guard';

type Request =
  | { gitdav: typeof LOGIN_GUARD_MESSAGE; op: 'begin'; id: number; user: string | null; address: string }
  | { gitdav: typeof LOGIN_GUARD_MESSAGE; op: 'finish'; id: number; outcome: Outcome };
type Reply = { gitdav: typeof LOGIN_GUARD_MESSAGE; op: 'begun'; id: number; waitMs?: number };

const OUTCOMES: ReadonlySet<unknown> = new Set<Outcome>(['ok', 'failed', 'unchecked']);

function isRequest(m: unknown): m is Request {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  if (r.gitdav !== LOGIN_GUARD_MESSAGE || typeof r.id !== 'number') return false;
  if (r.op === 'begin') return (r.user === null || typeof r.user === 'string') && typeof r.address === 'string';
  return r.op === 'finish' && OUTCOMES.has(r.outcome);
}

/** The supervisor's side: the one real guard, answering every attached worker. */
export class LoginGuardHost {
  private guard?: LoginGuard;
  private policyText: string;
  /** Open tickets per worker, by the worker's id for them. */
  private readonly open = new Map<object, Map<number, { guard: LoginGuard; ticket: Ticket }>>();

  constructor(
    private config: ServerConfig,
    private readonly logger: Logger,
  ) {
    this.policyText = JSON.stringify(loginPolicy(config.limits));
  }

  /** Answers this worker's requests from now on; settles what it left open when it exits. */
  attach(worker: Worker): void {
    const open = new Map<number, { guard: LoginGuard; ticket: Ticket }>();
    this.open.set(worker, open);
    worker.on('message', (m: unknown) => {
      if (!isRequest(m)) return;
      if (m.op === 'finish') {
        const t = open.get(m.id);
        open.delete(m.id);
        t?.guard.finish(t.ticket, m.outcome);
        return;
      }
      const guard = this.current();
      const answer = guard.begin(m.user, m.address);
      if ('ticket' in answer) open.set(m.id, { guard, ticket: answer.ticket });
      const reply: Reply = { gitdav: LOGIN_GUARD_MESSAGE, op: 'begun', id: m.id, ...('waitMs' in answer ? { waitMs: answer.waitMs } : {}) };
      try {
        worker.send(reply, undefined, () => undefined); // a worker gone meanwhile: its exit settles the ticket
      } catch {
        // the channel closed: as above
      }
    });
    worker.on('exit', () => {
      // A check cut off by the worker's end may have been a guess: counted as failed.
      for (const t of open.values()) t.guard.finish(t.ticket, 'failed');
      open.clear();
      this.open.delete(worker);
    });
  }

  /** A new configuration: a changed login policy (or root) starts a new guard; the same keeps it. */
  reconfigure(config: ServerConfig): void {
    const text = JSON.stringify(loginPolicy(config.limits));
    const same = text === this.policyText && config.root === this.config.root;
    this.config = config;
    this.policyText = text;
    if (same || !this.guard) return;
    const old = this.guard;
    this.guard = undefined;
    // Its open tickets are settled on it as they finish; its known logins are written now.
    void old.close().catch((err: Error) => this.logger.warn('known logins not written', { error: err.message }));
  }

  /** Tickets open at the workers now, and failures counted for a user from an address (tests, logs). */
  counts(user: string, address: string): { open: number; failures: number } {
    let open = 0;
    for (const tickets of this.open.values()) open += tickets.size;
    return { open, failures: this.guard?.pairFailures(user, address) ?? 0 };
  }

  /** Writes the known logins. */
  async close(): Promise<void> {
    await this.guard?.close();
  }

  private current(): LoginGuard {
    this.guard ??= new LoginGuard(loginPolicy(this.config.limits), {
      knownFile: join(this.config.root, '.gitdav', KNOWN_LOGINS_FILE),
      onError: (err) => this.logger.warn('known logins not written', { error: err.message }),
    });
    return this.guard;
  }
}

/**
 * Request ids of every client of this process: every client hears every reply on the one channel, so
 * two clients (two tenants' authenticators) numbering from 1 each took each other's answers.
 */
let nextId = 1;

/** A worker's side: asks the supervisor's guard (see the module comment for what failures answer). */
export class LoginGuardClient implements LoginGate<number> {
  private readonly waiting = new Map<number, { resolve: (a: Admission<number>) => void; timer: NodeJS.Timeout }>();
  private readonly onMessage = (m: unknown) => {
    const r = m as Partial<Reply> | null;
    if (typeof r !== 'object' || r === null || r.gitdav !== LOGIN_GUARD_MESSAGE || r.op !== 'begun' || typeof r.id !== 'number') return;
    const w = this.waiting.get(r.id);
    if (!w) return; // given up on: settled `unchecked` already
    this.waiting.delete(r.id);
    clearTimeout(w.timer);
    w.resolve(typeof r.waitMs === 'number' ? { waitMs: r.waitMs } : { ticket: r.id });
  };
  private readonly onDisconnect = () => {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.resolve({ waitMs: GONE_WAIT_MS });
      this.waiting.delete(id);
    }
  };

  constructor(private readonly timeoutMs = 10_000) {
    process.on('message', this.onMessage);
    process.on('disconnect', this.onDisconnect);
  }

  begin(user: string | null, address: string): Promise<Admission<number>> {
    if (!process.connected || !process.send) return Promise.resolve({ waitMs: GONE_WAIT_MS });
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.send({ gitdav: LOGIN_GUARD_MESSAGE, op: 'finish', id, outcome: 'unchecked' });
        resolve({ waitMs: GONE_WAIT_MS });
      }, this.timeoutMs);
      timer.unref();
      this.waiting.set(id, { resolve, timer });
      if (!this.send({ gitdav: LOGIN_GUARD_MESSAGE, op: 'begin', id, user, address })) this.onDisconnect();
    });
  }

  finish(ticket: number, outcome: Outcome): void {
    this.send({ gitdav: LOGIN_GUARD_MESSAGE, op: 'finish', id: ticket, outcome });
  }

  async close(): Promise<void> {
    this.onDisconnect();
    process.off('message', this.onMessage);
    process.off('disconnect', this.onDisconnect);
  }

  /** False if the channel is gone (the supervisor exited). */
  private send(m: Request): boolean {
    if (!process.connected || !process.send) return false;
    try {
      process.send(m, undefined, {}, () => undefined);
      return true;
    } catch {
      return false;
    }
  }
}

/** What a worker without its supervisor answers: try again shortly (429 with Retry-After: 1). */
const GONE_WAIT_MS = 1000;
