/**
 * Reads the tailnet from the operator host's `tailscale` CLI.
 *
 * Rules:
 * - The binary runs with execFile (no shell), arguments `status --json`, and a
 *   timeout; nothing else is ever passed to it.
 * - Errors are classified here, once, by what happened (spawn error code, exit
 *   status, BackendState), never by message text:
 *   `binary-missing` (terminal), `daemon-unreachable` (the CLI exited non-zero:
 *   tailscaled is not running or not reachable; transient), `not-running`
 *   (BackendState is not Running: stopped or logged out; transient),
 *   `timeout` (transient), `bad-output` (terminal).
 * - Every error is one line and carries its fix.
 */
import { execFile } from 'node:child_process';
import { AxeError, type AxeErrorOptions, type ErrorClass } from '../../core/errors.js';
import { parseTailscaleStatus, TailscaleStatusParseError, type TailnetView } from './status.js';

export { findPeer, parseTailscaleStatus, type PeerMatch, type TailnetPeer, type TailnetView } from './status.js';

export type TailscaleErrorReason = 'binary-missing' | 'daemon-unreachable' | 'not-running' | 'timeout' | 'bad-output';

export class TailscaleError extends AxeError {
  readonly reason: TailscaleErrorReason;

  constructor(reason: TailscaleErrorReason, errorClass: ErrorClass, message: string, options: AxeErrorOptions = {}) {
    super(errorClass, message, { resource: 'host', ...options });
    this.name = 'TailscaleError';
    this.reason = reason;
  }
}

export interface ReadTailscaleStatusOptions {
  /** The tailscale CLI: an absolute path, or a name looked up on PATH. */
  binary: string;
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Environment for the CLI (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

interface ExecOutcome {
  error: (Error & { code?: unknown; killed?: boolean; signal?: NodeJS.Signals | null }) | null;
  stdout: string;
  stderr: string;
}

function run(binary: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env, windowsHide: true }, (error, stdout, stderr) => {
      resolve({ error, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

/** Runs `<binary> status --json` and parses it. Throws TailscaleError. */
export async function readTailscaleStatus(options: ReadTailscaleStatusOptions): Promise<TailnetView> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { error, stdout, stderr } = await run(options.binary, ['status', '--json'], timeoutMs, options.env ?? process.env);
  if (error) {
    const code = error.code;
    if (code === 'ENOENT' || code === 'EACCES') {
      throw new TailscaleError('binary-missing', 'terminal', `tailscale CLI not found at ${options.binary}`, {
        fix: 'install Tailscale on the operator host, or set tailscale.binary in the controller config to its absolute path',
        cause: error,
      });
    }
    if (error.killed || error.signal === 'SIGTERM') {
      throw new TailscaleError('timeout', 'transient', `tailscale status --json did not answer within ${timeoutMs} ms`, {
        fix: 'check that tailscaled is responsive (`tailscale status`)',
        cause: error,
      });
    }
    const detail = firstLine(stderr) || firstLine(stdout) || `exit code ${String(code)}`;
    throw new TailscaleError('daemon-unreachable', 'transient', `tailscale status --json failed: ${detail}`, {
      fix: 'start Tailscale on the operator host (open the app, or `sudo tailscaled`) and sign in with `tailscale up`',
      cause: error,
    });
  }
  let view: TailnetView;
  try {
    view = parseTailscaleStatus(stdout);
  } catch (parseError) {
    const message = parseError instanceof TailscaleStatusParseError ? parseError.message : 'tailscale status --json printed unreadable output';
    throw new TailscaleError('bad-output', 'terminal', message, { fix: `check that ${options.binary} is the Tailscale CLI`, cause: parseError });
  }
  if (view.backendState !== 'Running') {
    throw new TailscaleError('not-running', 'transient', `Tailscale is not connected on the operator host (BackendState ${view.backendState})`, {
      fix: 'run `tailscale up` on the operator host and sign in to the tailnet',
    });
  }
  return view;
}
