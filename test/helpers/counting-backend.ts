/**
 * Counts the look-ups a request makes, in steps (never time): a proxy over a backend records every
 * call the DAV layer makes through it, and for the git backend the probe (backends/git/probe.ts)
 * records the real work below (ref reads, commit reads, tree walks). Each step is tagged with the
 * phase of the request it happened in: before `write()`, inside it (the backend's own checks and its
 * atomic step), or after it.
 */
import { parentOf, type Backend } from '../../backends/backend.js';
import { setGitProbe } from '../../backends/git/probe.js';

export type Phase = 'before' | 'write' | 'after';
export type Step = { kind: string; path: string; phase: Phase };

const COUNTED = new Set(['stat', 'list', 'props', 'read', 'write', 'changes', 'syncToken', 'patchProps', 'remove', 'mkcol', 'copy', 'move']);

export class StepLog {
  steps: Step[] = [];
  phase: Phase = 'before';

  record(kind: string, path: string): void {
    this.steps.push({ kind, path, phase: this.phase });
  }

  /** Starts a new count (after a test's setup requests). */
  reset(): void {
    this.steps = [];
    this.phase = 'before';
  }

  /** How many steps of a kind (`stat`, `git:walk`…) touched a path, in the given phases. */
  count(kind: string, path: string | ((p: string) => boolean), phases: Phase[] = ['before', 'write', 'after']): number {
    const match = typeof path === 'string' ? (p: string) => p === path : path;
    return this.steps.filter((s) => s.kind === kind && match(s.path) && phases.includes(s.phase)).length;
  }

  /** Steps by kind, split into target / parent (and its sidecar) / other, per phase: for notes and failure messages. */
  summary(target: string): Record<string, string> {
    const parent = parentOf(target);
    const out: Record<string, string> = {};
    const role = (p: string) => (p === target ? 'target' : p === parent || (parentOf(p) === parent && p.endsWith('/.davprops')) ? 'parent' : p === '' ? '-' : 'other');
    for (const s of this.steps) {
      const key = `${s.phase} ${s.kind}`;
      const counts = new Map((out[key] ?? '').split(' ').filter(Boolean).map((x) => x.split('=') as [string, string]));
      const r = role(s.path);
      counts.set(r, String(Number(counts.get(r) ?? 0) + 1));
      out[key] = [...counts].map(([k, v]) => `${k}=${v}`).join(' ');
    }
    return out;
  }
}

/**
 * The backend, with every contract call counted into `log`. Calls the backend makes on itself (its
 * guard view, its own early checks) do not pass through the proxy: they show as git steps only.
 * `write()` switches the log's phase to 'write' until it settles, then to 'after'.
 */
export function countingBackend(inner: Backend, log: StepLog): Backend {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !COUNTED.has(prop)) return fn.bind(target);
      return (...args: unknown[]) => {
        log.record(prop, String(args[0]));
        if (prop !== 'write') return fn.apply(target, args);
        log.phase = 'write';
        const settle = () => {
          log.phase = 'after';
        };
        const result = fn.apply(target, args) as Promise<unknown>;
        return result.then((v) => (settle(), v), (err: unknown) => (settle(), Promise.reject(err)));
      };
    },
  });
}

/** Records the git backend's steps into `log` (as `git:ref`, `git:commit`, `git:walk`) until the returned function is called. */
export function probeGit(log: StepLog): () => void {
  setGitProbe({
    ref: () => log.record('git:ref', ''),
    commit: () => log.record('git:commit', ''),
    walk: (path) => log.record('git:walk', path),
    memo: (path) => log.record('git:memo', path),
  });
  return () => setGitProbe(undefined);
}
