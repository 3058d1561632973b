/**
 * `gitdav status`: a running server's statistics on one screen (as Apache's server-status), from
 * its metrics listener (`gitdav serve --metrics-port N`): two scrapes a second apart give the rates.
 */
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { ConfigError, hint, loadConfig } from './config.js';
import { parseMetrics } from './metrics/text-format.js';
import { renderStatus, type Scrape } from './metrics/summary.js';
import { runDump } from './flight/dump-command.js';

export const STATUS_USAGE = `usage: gitdav status [--metrics-url URL | --port N | --config FILE] [--once]
                                    a running server's statistics (needs its --metrics-port)
       gitdav status --dump [--root DIR] [--timeout-ms N]
                                    its flight recorders written out (as gitdav dump)`;

const STATUS_HELP = `Reads http://127.0.0.1:N/metrics (--port N: the server's --metrics-port; or --metrics-url, or
the metricsPort and metricsHost of --config FILE, GITDAV_CONFIG or GITDAV_METRICS_PORT) twice, a
second apart, and prints uptime, requests/s, latency p50/p99, connections, uploads, commits/s,
locks, login failures, memory, event-loop delay and cache hits; with --workers, the workers too
(how many, how they ended, reloads, and each one's connections, RSS and event-loop delay).
--once reads once (rates since start).
--dump does what "gitdav dump" does: every server process of --root DIR writes out its flight
recorder, and the files' paths are printed.`;

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const OPTIONS = ['--metrics-url', '--port', '--config', '--once', '--dump', '--help'];

export async function runStatus(args: string[], io: Out = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let url: string | undefined;
  let port: string | undefined;
  let config: string | undefined;
  let once = false;
  const dump = args.indexOf('--dump');
  if (dump >= 0 && !args.includes('--help') && !args.includes('-h')) return runDump(args.filter((_, i) => i !== dump));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--help' || name === '-h') {
      io.stdout.write(`${STATUS_USAGE}\n\n${STATUS_HELP}\n`);
      return 0;
    }
    if (name === '--once') {
      once = true;
      continue;
    }
    if (name !== '--metrics-url' && name !== '--port' && name !== '--config') {
      return usageError(io, name.startsWith('-') ? `unknown option ${name}${hint(name, OPTIONS)}` : `unexpected argument "${arg}"`);
    }
    const value = inline ?? args[++i];
    if (value === undefined || value === '') return usageError(io, `${name} needs a value`);
    if (name === '--metrics-url') url = value;
    else if (name === '--port') port = value;
    else config = value;
  }
  if (url !== undefined && port !== undefined) return usageError(io, '--metrics-url and --port name the same thing: give one');
  let target: string;
  try {
    target = url ?? metricsUrl(port, config, env);
    if (!/^https?:$/.test(new URL(target).protocol)) return usageError(io, `not an http:// URL: ${target}`);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TypeError) return usageError(io, err instanceof TypeError ? `not a URL: ${url}` : err.message);
    throw err;
  }
  try {
    const first = await scrape(target);
    let second = first;
    if (!once) {
      await new Promise((r) => setTimeout(r, 1000));
      second = await scrape(target);
    }
    io.stdout.write(renderStatus(target, first, second));
    return 0;
  } catch (err) {
    io.stderr.write(`gitdav status: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The URL from --port, or from the configuration the server would read (file, environment). */
function metricsUrl(port: string | undefined, configFile: string | undefined, env: NodeJS.ProcessEnv): string {
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`invalid port "${port}"`);
    return `http://127.0.0.1:${n}/metrics`;
  }
  const c = loadConfig(configFile ? ['--config', configFile] : [], env);
  if (c.metricsPort === undefined || c.metricsPort === 0) throw new ConfigError('which server? give --port N (its --metrics-port) or --metrics-url URL');
  // A server listening on every address answers on the loopback too.
  const host = c.metricsHost === '0.0.0.0' ? '127.0.0.1' : c.metricsHost === '::' ? '::1' : c.metricsHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${c.metricsPort}/metrics`;
}

/** One GET (node:http, not fetch: fetch refuses some ports outright, such as 6000 or 10080). */
function scrape(url: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet; // https: a proxy in front of the listener
    const req = get(url, { timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}: not a gitdav metrics listener?`));
        try {
          resolve({ at: Date.now(), samples: parseMetrics(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          reject(new Error(`${url} did not answer in Prometheus' text format: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot read ${url} (${err.code ?? err.message}): is the server running with --metrics-port?`)));
  });
}

function usageError(io: Out, message: string): number {
  io.stderr.write(`gitdav status: ${message}\n${STATUS_USAGE}\n`);
  return 2;
}
