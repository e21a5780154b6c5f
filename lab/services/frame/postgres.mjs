// postgres — lab stand-in for frame's Postgres.
//
//   pg_isready [-h HOST] [-p PORT]          pg_isready.sh (busybox nc, not node: the healthcheck runs it every second)
//   postgres serve                          listens on TCP $PGPORT (5432); keeps PG_VERSION and
//                                           a start log in $PGDATA (the external data volume)
//   postgres dump [ARGS…]                   (installed as `pg_dump`) prints a dump of the
//                                           "database" (frame's JSON tables in $PGDATA) on stdout,
//                                           framed like pg_dump's plain format
//   postgres load [ARGS…]                   (installed as `psql`) reads a dump on stdin into a
//                                           fresh $PGDATA; exit 0 when it loads, 3 (with an
//                                           `ERROR:` line) when it is truncated or corrupt
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
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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
    // As the real server: an ErrorResponse, then the connection closed (not half-open: a client
    // that never shuts down its side, like busybox nc, would wait for the idle timeout).
    socket.once('data', () => socket.end(errorResponse('axe lab postgres stand-in: no SQL here'), () => socket.destroy()));
    socket.setTimeout(5000, () => socket.destroy());
  });
  server.listen(PGPORT, '0.0.0.0', () => {
    process.stdout.write(JSON.stringify({ msg: 'postgres stand-in listening', port: PGPORT, pgdata: PGDATA }) + '\n');
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}

const DUMP_HEAD = '-- PostgreSQL database dump (axe lab stand-in)';
const DUMP_TAIL = '-- PostgreSQL database dump complete';

/** One `-- table NAME` line and its base64 JSON per table (each *.json file in PGDATA). */
function dump() {
  const tables = existsSync(PGDATA) ? readdirSync(PGDATA).filter((f) => f.endsWith('.json')).sort() : [];
  const lines = [DUMP_HEAD];
  for (const table of tables) lines.push(`-- table ${table}`, readFileSync(join(PGDATA, table)).toString('base64'));
  lines.push(DUMP_TAIL, '');
  process.stdout.write(lines.join('\n'));
}

function loadFail(message) {
  process.stderr.write(`psql: ERROR:  ${message}\n`);
  process.exit(3);
}

/** Reads a dump from stdin into PGDATA: every table must decode to JSON, the completion line must be there. */
function load() {
  const lines = readFileSync(0, 'utf8').split('\n').filter((l) => l !== '');
  if (lines[0] !== DUMP_HEAD) loadFail('input is not a database dump (no dump header)');
  if (lines[lines.length - 1] !== DUMP_TAIL) loadFail('the dump is truncated (no completion line)');
  mkdirSync(PGDATA, { recursive: true });
  let tables = 0;
  for (let i = 1; i < lines.length - 1; i += 2) {
    const name = /^-- table ([A-Za-z0-9._-]+\.json)$/.exec(lines[i])?.[1];
    if (!name || lines[i + 1] === undefined) loadFail(`syntax error at line ${i + 1} of the dump`);
    try {
      JSON.parse(Buffer.from(lines[i + 1], 'base64').toString('utf8'));
    } catch {
      loadFail(`table ${name}: its data does not decode`);
    }
    writeFileSync(join(PGDATA, name), Buffer.from(lines[i + 1], 'base64'));
    tables++;
  }
  process.stdout.write(`loaded ${tables} table(s)\n`);
}

const [command] = process.argv.slice(2);
if (command === 'serve') serve();
else if (command === 'dump') dump();
else if (command === 'load') load();
else if (command === 'rotate-password') rotatePassword();
else {
  process.stderr.write('usage: postgres serve | postgres dump | postgres load | postgres rotate-password < new-password\n');
  process.exit(2);
}
