/**
 * The V8 heap limits a worker is started with (`limits.maxOldSpaceMB`, `limits.maxSemiSpaceMB` in the
 * config file; docs/operations.md, "Memory"). V8 reads them once, when the process's heap is made:
 * `v8.setFlagsFromString` later has no effect on them, so the supervisor passes them on each worker's
 * command line (`cluster.setupPrimary({ execArgv })`). A process started by the operator (the
 * supervisor itself, or `--workers 1`) takes them from its own command line or NODE_OPTIONS instead.
 */

export interface ProcessLimits {
  /**
   * The old generation's ceiling, MiB (`--max-old-space-size`): past it V8 aborts the worker (a fatal
   * "heap out of memory" on its stderr, SIGABRT; no JavaScript handler runs, so nothing is dumped) and
   * the supervisor logs the exit and starts another, rather than the machine swapping. 0: no flag,
   * Node's default (about a quarter of the memory, up to 4 GiB).
   */
  maxOldSpaceMB: number;
  /**
   * Each semi-space of the young generation, MiB (`--max-semi-space-size`). Node 20's default grows
   * to 16 MiB (a 32 MiB young generation plus the copy), committed and touched at the first burst of
   * allocation and never given back: the largest single share of an idle worker's RSS after the
   * code. Smaller means more scavenges of short-lived request garbage (measured in docs/bench.md,
   * "Memory"). V8 rounds a value up to a power of two (3 → 4). 0: no flag, Node's default.
   */
  maxSemiSpaceMB: number;
}

/** Measured on the bench's loads (docs/bench.md, "Memory"): see there for req/s and RSS per value. */
export const DEFAULT_PROCESS_LIMITS: ProcessLimits = { maxOldSpaceMB: 1024, maxSemiSpaceMB: 2 };

const FLAG_OF: Record<keyof ProcessLimits, string> = {
  maxOldSpaceMB: '--max-old-space-size',
  maxSemiSpaceMB: '--max-semi-space-size',
};

/**
 * Every V8 flag that sizes the heap. V8 aborts at start on some mixes of them (`--max-heap-size`
 * with both of ours set: "Check failed: max_heap_size > 0 implies …"), so a worker gets none of the
 * supervisor's, only the configured ones: its heap is what the config file says, whatever the
 * supervisor was started with.
 */
const HEAP_FLAGS = ['--max-old-space-size', '--max-semi-space-size', '--max-heap-size', '--min-semi-space-size'];
/** V8 takes `--max_old_space_size` as well; only the `--flag=N` form exists (`--flag N` is refused). */
const isHeapFlag = (arg: string) => HEAP_FLAGS.includes(arg.split('=')[0]!.replace(/_/g, '-'));

/**
 * A worker's execArgv: the supervisor's own (inspector, source maps, a loader…) without its heap
 * flags, then the limits that are not 0.
 */
export function workerExecArgv(limits: Partial<ProcessLimits>, inherited: readonly string[]): string[] {
  const kept = inherited.filter((arg) => !isHeapFlag(arg));
  for (const key of Object.keys(FLAG_OF) as (keyof ProcessLimits)[]) {
    const mb = limits[key] ?? DEFAULT_PROCESS_LIMITS[key];
    if (mb > 0) kept.push(`${FLAG_OF[key]}=${mb}`);
  }
  return kept;
}

/**
 * The NODE_OPTIONS a worker inherits, without heap flags (see HEAP_FLAGS): an operator's
 * `NODE_OPTIONS=--max-old-space-size=…` sizes the supervisor (and `--workers 1`), never a worker, so
 * a limit of 0 means Node's own default for the worker. As the environment to add to the worker's:
 * empty when there is nothing to remove (the worker inherits NODE_OPTIONS as it is). Node splits
 * NODE_OPTIONS on spaces, keeping quoted strings whole; so does this.
 */
export function workerNodeOptions(nodeOptions: string | undefined): { NODE_OPTIONS?: string } {
  const tokens = nodeOptions?.match(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
  const kept = tokens.filter((t) => !isHeapFlag(t));
  return kept.length === tokens.length ? {} : { NODE_OPTIONS: kept.join(' ') };
}

/**
 * The flags a one-process server (`--workers 1`) would need for the limits set in the config file,
 * when its own command line and NODE_OPTIONS don't carry those values (V8 takes the last of each,
 * and the command line comes after NODE_OPTIONS): it cannot apply them itself (see above), so it
 * warns. Empty when every configured limit is in effect; limits not in the config file are not asked for.
 */
export function heapFlagsMissing(configured: Partial<ProcessLimits>, execArgv: readonly string[], nodeOptions = ''): string[] {
  const effective = new Map<string, number>();
  for (const arg of [...(nodeOptions.match(/\S+/g) ?? []), ...execArgv]) {
    const [name, value] = arg.split('=');
    if (value !== undefined && isHeapFlag(arg)) effective.set(name!.replace(/_/g, '-'), Number(value));
  }
  const missing: string[] = [];
  for (const key of Object.keys(FLAG_OF) as (keyof ProcessLimits)[]) {
    const mb = configured[key];
    if (mb !== undefined && (effective.get(FLAG_OF[key]) ?? 0) !== mb) missing.push(mb > 0 ? `${FLAG_OF[key]}=${mb}` : `no ${FLAG_OF[key]}`);
  }
  return missing;
}

/** The largest value each may take (MiB): V8 refuses or clamps beyond. */
export const PROCESS_LIMIT_MAX: ProcessLimits = { maxOldSpaceMB: 65_536, maxSemiSpaceMB: 128 };

/** Why a limit is out of range, or undefined. 0 is always valid (Node's own). */
export function processLimitProblem(key: keyof ProcessLimits, value: number): string | undefined {
  if (value > PROCESS_LIMIT_MAX[key]) return `limit ${key} must be at most ${PROCESS_LIMIT_MAX[key]} (MiB), or 0 for Node's own`;
  if (key === 'maxOldSpaceMB' && value > 0 && value < 64) return `limit maxOldSpaceMB must be 0 (Node's own) or at least 64 (MiB): a worker needs about 30 MiB of heap to open`;
  return undefined;
}
