// frame — lab stand-in for the accounting MCP server (the real one is Python).
//
//   frame serve                       HTTP on $PORT (8080): /health/ready, /frame/version, /frame/mcp
//   frame register-entity --id ID --legal-name NAME [--kind K] [--accounting-standard S]
//   frame list-entities [--json]
//   frame pii-check --id ID           a PII operation: RuntimeError (exit 1) without the entity's passphrase
//   frame migrate
//   frame mcp-token                   prints the MCP token (stable per data volume)
//   frame audit-status                read-only: {"enabled","entries","newest_at","reason"?} of the audit log
//
// State lives in $FRAME_DATA_DIR (/data, the external frame data volume). Every hook
// call appends one JSON line to /data/hooks.log. Every write (an entity registered or
// changed, a migration applied, an MCP call) appends one entry to the audit log,
// /data/audit_log.jsonl, unless the lab switch /data/audit.disabled exists (the audit
// log switched off: nothing is recorded, audit-status says so). Plain Node, no packages.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVICE = 'frame';
const here = dirname(fileURLToPath(import.meta.url));
const VERSION = readFileSync(join(here, 'VERSION'), 'utf8').trim();
const DATA = process.env.FRAME_DATA_DIR || '/data';
const COLOR = process.env.COLOR || 'blue';
const PORT = Number(process.env.PORT || 8080);
const DB_HOST = process.env.FRAME_DB_HOST || 'postgres';
const DB_PORT = Number(process.env.FRAME_DB_PORT || 5432);

function readJson(file, fallback) {
  try {
    return JSON.parse(readFileSync(join(DATA, file), 'utf8'));
  } catch {
    return fallback;
  }
}

// Write to a temp file and rename, so a reader never sees half a file.
function writeJson(file, value, mode = 0o644) {
  mkdirSync(DATA, { recursive: true });
  const tmp = join(DATA, `.${file}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode });
  renameSync(tmp, join(DATA, file));
}

function hookLog(hook, args, result, error) {
  mkdirSync(DATA, { recursive: true });
  const line = { at: new Date().toISOString(), service: SERVICE, hook, args, result, color: COLOR, version: VERSION };
  if (error) line.error = error;
  appendFileSync(join(DATA, 'hooks.log'), JSON.stringify(line) + '\n');
}

const AUDIT_LOG = 'audit_log.jsonl';
const AUDIT_OFF = 'audit.disabled';

// One audit entry (the real frame's audit_log table), unless the audit log is switched off.
function audit(action, args = {}) {
  if (existsSync(join(DATA, AUDIT_OFF))) return;
  mkdirSync(DATA, { recursive: true });
  appendFileSync(join(DATA, AUDIT_LOG), JSON.stringify({ at: new Date().toISOString(), action, ...args, color: COLOR, version: VERSION }) + '\n');
}

// The D+7 check's answer (read-only: nothing is logged): is the audit log on, how many
// entries it holds and when the newest was written.
function auditStatus() {
  let lines = [];
  try {
    lines = readFileSync(join(DATA, AUDIT_LOG), 'utf8').split('\n').filter(Boolean);
  } catch {
    lines = [];
  }
  let newest = null;
  for (const line of lines) {
    try {
      const at = JSON.parse(line).at;
      if (typeof at === 'string' && (newest === null || at > newest)) newest = at;
    } catch {
      // A torn last line (a write cut short) is not an entry.
    }
  }
  const enabled = !existsSync(join(DATA, AUDIT_OFF));
  const answer = { enabled, entries: lines.length, newest_at: newest };
  if (!enabled) answer.reason = `audit logging is switched off (${join(DATA, AUDIT_OFF)} exists): no journal entry is recorded`;
  else if (lines.length === 0) answer.reason = 'no journal entry has been recorded yet';
  process.stdout.write(JSON.stringify(answer) + '\n');
}

function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags[arg.slice(2, eq)] = arg.slice(eq + 1);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) flags[arg.slice(2)] = true;
    else {
      flags[arg.slice(2)] = next;
      i++;
    }
  }
  return flags;
}

// The hook being run, so a failed call is logged too.
let currentHook = null;

function fail(message, code = 2) {
  if (currentHook) {
    try {
      hookLog(currentHook, {}, 'error', message);
    } catch {
      // The data volume itself may be the problem; the exit code still says it failed.
    }
  }
  process.stderr.write(`${SERVICE}: ${message}\n`);
  process.exit(code);
}

function registerEntity(flags) {
  const id = flags.id;
  const legalName = flags['legal-name'];
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(id)) fail('register-entity: --id must match [a-z0-9][a-z0-9_-]*');
  if (typeof legalName !== 'string' || legalName.trim() === '') fail('register-entity: --legal-name is required');
  const entity = {
    id,
    legal_name: legalName,
    kind: typeof flags.kind === 'string' ? flags.kind : 'corporate',
    accounting_standard: typeof flags['accounting-standard'] === 'string' ? flags['accounting-standard'] : 'ksme',
  };
  const entities = readJson('entities.json', []);
  const index = entities.findIndex((e) => e.id === id);
  let result = 'created';
  if (index >= 0) {
    const old = entities[index];
    const same = Object.keys(entity).every((k) => old[k] === entity[k]);
    result = same ? 'unchanged' : 'updated';
    entities[index] = { ...old, ...entity };
  } else {
    entities.push({ ...entity, registered_at: new Date().toISOString() });
  }
  if (result !== 'unchanged') {
    writeJson('entities.json', entities);
    audit(`entity-${result}`, { entity: id });
  }
  hookLog('register-entity', { ...entity, pii: piiPassphrase(id) !== null }, result);
  process.stdout.write(JSON.stringify({ result, id }) + '\n');
}

// The entity's PII passphrase, from the env axe renders (one var per entity), or null.
function piiPassphrase(id) {
  const value = process.env[`${SERVICE.toUpperCase()}_PII_PASSPHRASE_${id.toUpperCase().replace(/-/g, '_')}`] ?? '';
  return value.trim() ? value : null;
}

// A PII operation: the real service raises RuntimeError when the entity has no passphrase (the runbook's trap).
function piiCheck(flags) {
  const id = flags.id;
  if (typeof id !== 'string') fail('pii-check: --id is required');
  if (piiPassphrase(id) === null) fail(`RuntimeError: no PII passphrase for entity ${id}`, 1);
  hookLog('pii-check', { id }, 'ok');
  process.stdout.write(JSON.stringify({ result: 'ok', id }) + '\n');
}

function listEntities(flags) {
  const entities = readJson('entities.json', []);
  hookLog('list-entities', {}, 'ok');
  if (flags.json) {
    process.stdout.write(JSON.stringify(entities) + '\n');
    return;
  }
  for (const e of entities) process.stdout.write(`${e.id}\t${e.legal_name}\t${e.kind}\t${e.accounting_standard}\n`);
}

function migrate() {
  const migrations = readJson('migrations.json', []);
  const already = migrations.some((m) => m.version === VERSION);
  if (!already) {
    migrations.push({ version: VERSION, at: new Date().toISOString() });
    writeJson('migrations.json', migrations);
    audit('migration-applied', { migration: VERSION });
  }
  const result = already ? 'unchanged' : 'applied';
  hookLog('migrate', { version: VERSION }, result);
  process.stdout.write(JSON.stringify({ result, version: VERSION }) + '\n');
}

function mcpToken() {
  const file = join(DATA, 'mcp-token');
  let result = 'existing';
  if (!existsSync(file)) {
    mkdirSync(DATA, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    renameSync(tmp, file);
    result = 'created';
  }
  // The token itself never goes to the hooks log.
  hookLog('mcp-token', {}, result);
  process.stdout.write(readFileSync(file, 'utf8').trim() + '\n');
}

function databaseReachable() {
  return new Promise((resolve) => {
    const socket = connect({ host: DB_HOST, port: DB_PORT });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// Like a connection pool: once authenticated, the connections stay (a later password
// change does not drop them); until then every check authenticates again against the
// password the database keeps (postgres.mjs writes its sha256 into the shared volume).
let authenticated = false;

function passwordAccepted() {
  if (authenticated) return true;
  let want;
  try {
    want = readFileSync(join(DATA, 'password.sha256'), 'utf8').trim();
  } catch {
    return (authenticated = true); // a database without a recorded password (older volume)
  }
  const have = createHash('sha256').update(process.env.POSTGRES_PASSWORD ?? '').digest('hex');
  return (authenticated = have === want);
}

// Why not ready, or null when ready.
async function notReadyReason() {
  if (VERSION.endsWith('-broken')) return `version ${VERSION} is a broken build: it never becomes ready`;
  if (process.env.AXE_LAB_FAIL_HEALTH === '1') return 'AXE_LAB_FAIL_HEALTH=1: lab switch forcing not-ready';
  if (!(await databaseReachable())) return `database ${DB_HOST}:${DB_PORT} not reachable`;
  if (!passwordAccepted()) return 'database: password authentication failed for user "frame" (POSTGRES_PASSWORD is not the database\'s password)';
  return null;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-frame-color': COLOR });
  res.end(text);
}

function serve() {
  const started = new Date().toISOString();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url || '/', 'http://frame');
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const path = url.pathname;
    if (path === '/health/live') return send(res, 200, { status: 'live', color: COLOR, version: VERSION });
    if (path === '/health/ready' || path === '/frame/health') {
      const reason = await notReadyReason();
      if (reason) return send(res, 503, { status: 'not-ready', color: COLOR, version: VERSION, reason });
      return send(res, 200, { status: 'ready', color: COLOR, version: VERSION });
    }
    if (path === '/frame/version') return send(res, 200, { service: SERVICE, version: VERSION, color: COLOR, started });
    if (path === '/frame/mcp' || path.startsWith('/frame/mcp/')) {
      const entities = readJson('entities.json', []);
      let id = null;
      if (req.method === 'POST') audit('mcp-call');
      if (req.method === 'POST' && chunks.length) {
        try {
          id = JSON.parse(Buffer.concat(chunks).toString('utf8')).id ?? null;
        } catch {
          return send(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
        }
      }
      return send(res, 200, {
        jsonrpc: '2.0',
        id,
        result: { serverInfo: { name: 'frame-mcp', version: VERSION }, color: COLOR, entities: entities.length, method: req.method },
      });
    }
    return send(res, 404, { error: 'not found', path });
  });
  server.listen(PORT, '0.0.0.0', () => {
    process.stdout.write(JSON.stringify({ msg: 'frame listening', port: PORT, color: COLOR, version: VERSION }) + '\n');
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}

const [command, ...rest] = process.argv.slice(2);
if (command !== 'serve' && command !== 'version' && command !== '--version' && command !== 'audit-status') currentHook = command ?? null;
try {
  switch (command) {
    case 'serve':
      serve();
      break;
    case 'register-entity':
      registerEntity(parseFlags(rest));
      break;
    case 'pii-check':
      piiCheck(parseFlags(rest));
      break;
    case 'list-entities':
      listEntities(parseFlags(rest));
      break;
    case 'migrate':
      migrate();
      break;
    case 'mcp-token':
      mcpToken();
      break;
    case 'audit-status':
      auditStatus();
      break;
    case 'version':
    case '--version':
      process.stdout.write(VERSION + '\n');
      break;
    default:
      fail(`unknown command ${JSON.stringify(command ?? '')}; use serve | register-entity | list-entities | pii-check | migrate | mcp-token | audit-status | version`);
  }
} catch (error) {
  fail(error instanceof Error ? error.message : String(error), 1);
}
