/**
 * Event-loop delay in fixed windows (perf_hooks' monitorEventLoopDelay), read by no one's schedule:
 * prom-client's own nodejs_eventloop_lag_p99_seconds is reset by every scrape, so two scrapers (a
 * Prometheus and `gitdav status`) would each see a part. Here a window closes every 10 s whoever
 * reads, and a read shows the last closed window (the first one while it is still open). The
 * delay is what a 10 ms timer waited beyond its 10 ms (prom-client reports the 10 ms too).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface DelayWindow {
  /** Seconds. */
  p50: number;
  p99: number;
  max: number;
}

const WINDOW_MS = 10_000;
/** How often the loop is sampled, ms; each sample is the time since the last, so this much is not delay. */
const RESOLUTION_MS = 10;

export class EventLoopWindow {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private last: DelayWindow | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs = WINDOW_MS) {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.last = this.current();
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  read(): DelayWindow {
    return this.last ?? this.current();
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private current(): DelayWindow {
    const h = this.histogram;
    // Before its first sample a histogram answers NaN or huge sentinels; no samples, no delay.
    if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
    const delay = (ns: number) => Math.max(0, ns / 1e9 - RESOLUTION_MS / 1000);
    return { p50: delay(h.percentile(50)), p99: delay(h.percentile(99)), max: delay(h.max) };
  }
}
