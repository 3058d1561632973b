/**
 * Reading Prometheus' text format (version 0.0.4) back, for `gitdav status`: samples as name,
 * labels and value. Comments and blank lines are skipped; a line that does not parse is an error,
 * since the text comes from our own server.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const m = SAMPLE.exec(trimmed);
    if (!m) throw new Error(`not a metrics line: ${trimmed.slice(0, 120)}`);
    out.push({ name: m[1]!, labels: m[2] ? parseLabels(m[2].slice(1, -1)) : {}, value: parseValue(m[3]!) });
  }
  return out;
}

function parseLabels(body: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < body.length) {
    const m = LABEL.exec(body);
    if (!m) throw new Error(`labels that do not parse: {${body.slice(0, 120)}}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

function parseValue(text: string): number {
  // Case aside, as Prometheus reads them (prom-client writes "Nan": its event-loop mean between two
  // scrapes less than a sample apart).
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a number: ${text}`);
  return n;
}
