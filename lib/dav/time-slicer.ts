/**
 * Cutting long synchronous work into slices so other requests get the event loop in between: a loop
 * over many items awaits the pause after each; the pause resolves at once until `sliceMs` of time has
 * passed since the last real pause, then waits for the event loop's next turn (setImmediate, after
 * pending I/O). By time, not by item count: items differ in cost by orders of magnitude, and an
 * `await` of something already settled is only a microtask that lets nothing else run.
 */

/** Longest stretch of synchronous work a loop does before letting other requests run, ms. */
export const SLICE_MS = 10;

export function timeSlicer(sliceMs = SLICE_MS): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < sliceMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    since = performance.now();
  };
}
