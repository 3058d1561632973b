/**
 * Preloaded into the server by bench/event-loop.ts (`node --import …/event-loop-probe.js cli.js serve`):
 * the server's event-loop delay, measured by perf_hooks' monitorEventLoopDelay in the server process
 * itself, reset and read over the IPC channel the bench opened, so each phase of the bench (alone,
 * under load) gets its own histogram. The channel is unref'd: it never keeps the server alive.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** ms between samples; each sample is the time since the last, so this much is not delay. */
const RESOLUTION_MS = 5;

export interface ProbeReading {
  /** Event-loop delay, ms (the resolution subtracted). */
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

if (process.send) {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on('message', (m: unknown) => {
    if (m === 'evloop:reset') {
      h.reset();
      process.send!('evloop:reset-done');
    } else if (m === 'evloop:read') {
      const reading: ProbeReading = h.count === 0 ? { p50: 0, p99: 0, max: 0, samples: 0 } : { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), samples: h.count };
      process.send!({ evloop: reading });
    }
  });
  process.channel?.unref();
}
