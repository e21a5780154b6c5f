/**
 * A stand-in Docker engine for unit tests: an HTTP server on a unix socket in
 * a temp dir answering GETs from a table, and a host connection whose
 * `openUnixSocket` reaches it (as the SSH channel would) and whose `exec`
 * runs the script with the local /bin/sh. Counts round trips (exec) and
 * channels (openUnixSocket) apart.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { ExecResult, HostConnection } from '../providers/host/ssh.js';
import { withExecSession } from '../providers/host/local-connection.js';

export interface FakeEngine {
  socket: string;
  /** The paths asked (with their query), in order. */
  asked: string[];
  /** Answers by path (no query); a number answers that HTTP status with no body. */
  answers: Map<string, unknown>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function fakeEngine(answers: Record<string, unknown> = {}): Promise<FakeEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'axe-engine-'));
  const socket = join(dir, 'docker.sock');
  const asked: string[] = [];
  const table = new Map(Object.entries(answers));
  const server: Server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const answer = table.get((req.url ?? '').split('?')[0]!);
    if (answer === undefined || typeof answer === 'number') {
      res.writeHead(typeof answer === 'number' ? answer : 404).end('{"message":"no"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  return { socket, asked, answers: table, close, [Symbol.asyncDispose]: close };
}

/** A host connection running scripts locally (`/bin/sh -s`, stdin) and reaching unix sockets directly; `trips` counts execs, `channels` sockets opened. */
export function localConnection(name = 'local'): HostConnection & { trips: number; channels: number } {
  const counts = { trips: 0, channels: 0 };
  const connection = {
    target: { name, address: name, port: 22, user: 'axe' },
    get trips() {
      return counts.trips;
    },
    get channels() {
      return counts.channels;
    },
    exec(command: string, options: { stdin?: string | Buffer } = {}) {
      counts.trips += 1;
      return new Promise<ExecResult>((resolve) => {
        const child = execFile('/bin/sh', ['-c', command], { env: { PATH: '/usr/bin:/bin', HOME: tmpdir() } }, (error, stdout, stderr) => {
          resolve({ code: error ? Number((error as NodeJS.ErrnoException & { code?: unknown }).code) || 1 : 0, stdout, stderr });
        });
        child.stdin?.end(options.stdin ?? '');
      });
    },
    openUnixSocket(path: string): Promise<Duplex> {
      counts.channels += 1;
      return new Promise((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    },
  };
  return withExecSession(connection) as unknown as HostConnection & { trips: number; channels: number };
}
