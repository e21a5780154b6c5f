// postgres — lab stand-in for frame's Postgres.
//
//   postgres serve                          listens on TCP $PGPORT (5432); keeps PG_VERSION and
//                                           a start log in $PGDATA (the external data volume)
//   postgres isready [-h HOST] [-p PORT]    (installed as `pg_isready`) exit 0 when it accepts
//                                           connections, 2 when there is no response
//   postgres rotate-password                (installed as `pg-rotate-password`) the new password
//                                           on stdin (never an argument): ALTER USER … PASSWORD
//
// Passwords as the real image has them: POSTGRES_PASSWORD sets the password only when
// the data directory is initialised (a changed env var later changes nothing); after
// that only rotate-password does. The data directory keeps its sha256
// (password.sha256, 0600), which frame (same volume) checks when it connects; each
// rotation appends a line (time only) to rotations.log. No value is ever printed.
// It speaks no Postgres protocol: a client that connects gets a Postgres-style
// ErrorResponse saying so, and the connection is closed.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const PGDATA = process.env.PGDATA || '/var/lib/postgresql/data';
const PGPORT = Number(process.env.PGPORT || 5432);

function errorResponse(message) {
  const fields = Buffer.from(`SERROR\0C0A000\0M${message}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

function setPassword(value) {
  const file = join(PGDATA, 'password.sha256');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, createHash('sha256').update(value).digest('hex') + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

function rotatePassword() {
  const value = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (!value) {
    process.stderr.write('rotate-password: no new password on stdin\n');
    process.exit(2);
  }
  mkdirSync(PGDATA, { recursive: true });
  setPassword(value);
  appendFileSync(join(PGDATA, 'rotations.log'), JSON.stringify({ at: new Date().toISOString(), result: 'rotated' }) + '\n');
  process.stdout.write(JSON.stringify({ result: 'rotated' }) + '\n');
}

function serve() {
  mkdirSync(PGDATA, { recursive: true });
  const versionFile = join(PGDATA, 'PG_VERSION');
  if (!existsSync(versionFile)) {
    writeFileSync(versionFile, '16\n');
    if (process.env.POSTGRES_PASSWORD) setPassword(process.env.POSTGRES_PASSWORD);
  }
  appendFileSync(join(PGDATA, 'lab-postgres-starts.log'), new Date().toISOString() + '\n');
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(errorResponse('axe lab postgres stand-in: no SQL here')));
    socket.setTimeout(5000, () => socket.destroy());
  });
  server.listen(PGPORT, '0.0.0.0', () => {
    process.stdout.write(JSON.stringify({ msg: 'postgres stand-in listening', port: PGPORT, pgdata: PGDATA }) + '\n');
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}

function isReady(args) {
  let host = '127.0.0.1';
  let port = PGPORT;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-h') host = args[++i] ?? host;
    else if (args[i] === '-p') port = Number(args[++i] ?? port);
  }
  const socket = connect({ host, port });
  socket.setTimeout(2000, () => {
    process.stdout.write(`${host}:${port} - no response\n`);
    process.exit(2);
  });
  socket.once('connect', () => {
    process.stdout.write(`${host}:${port} - accepting connections\n`);
    socket.destroy();
    process.exit(0);
  });
  socket.once('error', () => {
    process.stdout.write(`${host}:${port} - no response\n`);
    process.exit(2);
  });
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'serve') serve();
else if (command === 'isready') isReady(rest);
else if (command === 'rotate-password') rotatePassword();
else {
  process.stderr.write('usage: postgres serve | postgres isready [-h HOST] [-p PORT] | postgres rotate-password < new-password\n');
  process.exit(2);
}
