/**
 * The V8 heap limits a worker is started with (`limits.maxOldSpaceMB`, `limits.maxSemiSpaceMB` in the
 * config file; docs/operations.md, "Memory"). V8 reads them once, when the process's heap is made:
 * `v8.setFlagsFromString` later has no effect on them, so the supervisor passes them on each worker's
 * command line (`cluster.setupPrimary({ execArgv })`). A process started by the operator (the
 * supervisor itself, or `--workers 1`) takes them from NODE_OPTIONS instead.
 */

export interface ProcessLimits {
  /**
   * The old generation's ceiling, MiB (`--max-old-space-size`): past it the worker ends ("heap out
   * of memory", logged, dumped, replaced by the supervisor) rather than swap the machine. 0: Node's own
   * (about a quarter of the memory, up to 4 GiB).
   */
  maxOldSpaceMB: number;
  /**
   * Each semi-space of the young generation, MiB (`--max-semi-space-size`). Node 20's default grows
   * to 16 MiB (a 32 MiB young generation plus the copy), committed and touched at the first burst of
   * allocation and never given back: the largest single share of an idle worker's RSS after the
   * code. Smaller means more scavenges of short-lived request garbage (measured in docs/bench.md,
   * "Memory"). 0: Node's own.
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
 * a limit of 0 means Node's own default for the worker. Undefined when there is nothing to remove
 * (the worker inherits NODE_OPTIONS as it is). Node splits NODE_OPTIONS on spaces, keeping quoted
 * strings whole; so does this.
 */
export function workerNodeOptions(nodeOptions: string | undefined): string | undefined {
  if (!nodeOptions) return undefined;
  const tokens = nodeOptions.match(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
  const kept = tokens.filter((t) => !isHeapFlag(t));
  return kept.length === tokens.length ? undefined : kept.join(' ');
}

/** The largest value each may take (MiB): V8 refuses or clamps beyond. */
export const PROCESS_LIMIT_MAX: ProcessLimits = { maxOldSpaceMB: 65_536, maxSemiSpaceMB: 128 };

/** Why a limit is out of range, or undefined. 0 is always valid (Node's own). */
export function processLimitProblem(key: keyof ProcessLimits, value: number): string | undefined {
  if (value > PROCESS_LIMIT_MAX[key]) return `limit ${key} must be at most ${PROCESS_LIMIT_MAX[key]} (MiB), or 0 for Node's own`;
  if (key === 'maxOldSpaceMB' && value > 0 && value < 64) return `limit maxOldSpaceMB must be 0 (Node's own) or at least 64 (MiB): a worker needs about 30 MiB of heap to open`;
  return undefined;
}
