/** Shared helpers for integration tests: temp dirs, real git repos, running the real CLI. */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const EXAMPLE_REPO = join(ROOT, 'examples', 'customers');
export const SAMPLE_PACK = join(ROOT, 'examples', 'packs', 'axelabs-bootstrap-demo.sample.json');
const exec = promisify(execFile);

export async function tempDir(prefix: string): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `axe-test-${prefix}-`));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', ['-c', 'user.name=axe-test', '-c', 'user.email=test@axe.invalid', ...args], { cwd });
  return stdout;
}

/** A real git repo holding a copy of examples/customers, one commit on main. */
export async function exampleRepo(dir: string): Promise<string> {
  const repo = join(dir, 'config');
  await cp(EXAMPLE_REPO, repo, { recursive: true });
  await git(repo, 'init', '-q', '-b', 'main');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-qm', 'seed from examples/customers');
  return repo;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How the tests start the CLI: the TypeScript sources through tsx, or, when
 * AXE_TEST_CLI=dist (test/run.sh sets it after building), the compiled CLI
 * that bin/axe.js runs: half the start-up time of each of the suite's
 * hundreds of CLI runs.
 */
const CLI = process.env.AXE_TEST_CLI === 'dist' ? [join(ROOT, 'dist', 'cli', 'main.js')] : ['--import', 'tsx', join(ROOT, 'cli', 'main.ts')];

/** Runs the real `axe` CLI with its own AXE_HOME. */
export function axe(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; onStderr?: (soFar: string) => void } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      options.onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A TCP port free on 127.0.0.1 right now (for a server a test starts as a process). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` every `everyMs` until it returns a truthy value (its errors count as not yet); throws after `timeoutMs`, naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve().then(probe).catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Removes a customer's block and every service slot of it from customers.yaml. */
export function withoutCustomer(text: string, id: string): string {
  const out: string[] = [];
  let skipIndent = -1;
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (skipIndent >= 0) {
      if (line.trim() === '' || indent > skipIndent) continue;
      skipIndent = -1;
    }
    if (line.trimStart().startsWith(`${id}:`) && (indent === 2 || indent === 4)) {
      skipIndent = indent;
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}
