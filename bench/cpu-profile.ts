/**
 * Reading a V8 `.cpuprofile` (node --cpu-prof): self time per function, and the long synchronous
 * stretches — runs of consecutive samples with no idle sample between them, i.e. time the event loop
 * could not turn — each named by the deepest frame of this project (lib/, backends/) that most of its
 * samples share, which is where the blocking work was entered.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  parent?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface Stretch {
  ms: number;
  /** The project frame most of the stretch's samples ran under (or its top self function). */
  where: string;
}

export interface ProfileSummary {
  busyMs: number;
  totalMs: number;
  top: SelfTime[];
  stretches: Stretch[];
}

const IDLE = new Set(['(idle)', '(program)']);

function label(f: CallFrame): string {
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

const ours = (f: CallFrame) => /\/dist\/(lib|backends)\//.test(f.url);

export function summarizeProfile(path: string, top = 15, stretchMs = 20): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const n of p.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id;
  const self = new Map<string, number>();
  let busy = 0;
  let total = 0;
  // The deepest project frame above a node, memoised by node id.
  const ownFrame = new Map<number, string>();
  const ownOf = (id: number): string => {
    const hit = ownFrame.get(id);
    if (hit !== undefined) return hit;
    let n: ProfileNode | undefined = byId.get(id);
    let found = '';
    while (n) {
      if (ours(n.callFrame)) {
        found = label(n.callFrame);
        break;
      }
      n = n.parent === undefined ? undefined : byId.get(n.parent);
    }
    ownFrame.set(id, found);
    return found;
  };
  const stretches: Stretch[] = [];
  let run: { ms: number; where: Map<string, number> } | null = null;
  const close = () => {
    if (run && run.ms >= stretchMs) {
      const where = [...run.where].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '?';
      stretches.push({ ms: run.ms, where });
    }
    run = null;
  };
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!)!;
    // A sample's time is the delta to the next sample.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    total += dt;
    const name = node.callFrame.functionName;
    if (IDLE.has(name)) {
      close();
      continue;
    }
    busy += dt;
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    run ??= { ms: 0, where: new Map() };
    run.ms += dt;
    const where = ownOf(node.id) || (name === '(garbage collector)' ? '(garbage collector)' : key);
    run.where.set(where, (run.where.get(where) ?? 0) + dt);
  }
  close();
  const sorted = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    busyMs: busy,
    totalMs: total,
    top: sorted.map(([name, ms]) => ({ name, ms, share: ms / busy })),
    stretches: stretches.sort((a, b) => b.ms - a.ms),
  };
}

/** The summary as text lines (top self time, then the longest stretches grouped by where). */
export function formatProfile(s: ProfileSummary, stretchLines = 12): string[] {
  const lines = [`busy ${(s.busyMs / 1000).toFixed(1)} s of ${(s.totalMs / 1000).toFixed(1)} s profiled`, 'top self time:'];
  for (const t of s.top) lines.push(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(6)} ms  ${t.name}`);
  const groups = new Map<string, { n: number; ms: number; max: number }>();
  for (const st of s.stretches) {
    const g = groups.get(st.where) ?? { n: 0, ms: 0, max: 0 };
    g.n++;
    g.ms += st.ms;
    g.max = Math.max(g.max, st.ms);
    groups.set(st.where, g);
  }
  lines.push(`busy stretches of 20 ms or more without an idle sample: ${s.stretches.length}, by where most of each ran:`);
  for (const [where, g] of [...groups].sort((a, b) => b[1].max - a[1].max).slice(0, stretchLines)) {
    lines.push(`  ${String(g.n).padStart(4)}×  max ${g.max.toFixed(0).padStart(5)} ms  total ${g.ms.toFixed(0).padStart(6)} ms  ${where}`);
  }
  return lines;
}
