/** Running real client programs from Debian in tests. */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function tool(cmd: string, args: string[], options: ExecFileOptions & { input?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 60_000, maxBuffer: 16 << 20, ...options }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) {
      // A tool that exits without reading its input (git commit-tree -m) makes the write fail with
      // EPIPE; the exit code reports real failures, so that error is not an uncaught one.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(options.input);
    }
  });
}

/**
 * Skips a suite when a client is not installed locally; in CI (which installs them) that is a failure.
 */
export function requireTool(ctx: Mocha.Context, path: string, pkg: string): void {
  if (existsSync(path)) return;
  if (process.env.CI) throw new Error(`${path} is missing: .ci/run must apt-get install ${pkg}`);
  ctx.skip();
}
