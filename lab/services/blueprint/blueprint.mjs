// blueprint — lab stand-in for the web app (the real one is Node + Prisma + Entra SSO).
//
//   GET /api/health   200 when the SSO settings and FRAME_MCP_TOKEN are set, else 503
//                     naming the missing keys (never their values)
//   GET /             a tiny page
//   blueprint list-admins [--json]                  the users whose role is admin
//   blueprint set-role --email E --role admin|user  the runbook's `UPDATE User SET role = …`
//                                                   (upsert; idempotent; each change recorded)
//
// Plain Node, no packages. Listens on $PORT (3000). Users live in $BLUEPRINT_DATA_DIR
// (/data, the stack's blueprint-data volume): users.json; every call appends one JSON
// line to /data/hooks.log (set-role: result changed|unchanged, from, to).
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const VERSION = readFileSync(join(here, 'VERSION'), 'utf8').trim();
const PORT = Number(process.env.PORT || 3000);
const SSO_KEYS = ['AZURE_AD_CLIENT_ID', 'AZURE_AD_CLIENT_SECRET', 'AZURE_AD_TENANT_ID'];
const REQUIRED = [...SSO_KEYS, 'FRAME_MCP_TOKEN'];

function missingKeys() {
  return REQUIRED.filter((key) => !(process.env[key] ?? '').trim());
}

function send(res, status, type, text) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const DATA = process.env.BLUEPRINT_DATA_DIR || '/data';

function readUsers() {
  try {
    return JSON.parse(readFileSync(join(DATA, 'users.json'), 'utf8'));
  } catch {
    return [];
  }
}

function hookLog(hook, args, result) {
  mkdirSync(DATA, { recursive: true });
  appendFileSync(join(DATA, 'hooks.log'), JSON.stringify({ at: new Date().toISOString(), service: 'blueprint', hook, args, result, version: VERSION }) + '\n');
}

function flag(argv, name) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function cli(command, argv) {
  if (command === 'list-admins') {
    const admins = readUsers().filter((u) => u.role === 'admin').map((u) => ({ email: u.email, role: u.role }));
    hookLog('list-admins', {}, 'ok');
    process.stdout.write((argv.includes('--json') ? JSON.stringify(admins) : admins.map((a) => a.email).join('\n')) + '\n');
    return 0;
  }
  if (command === 'set-role') {
    const email = (flag(argv, 'email') ?? '').toLowerCase();
    const role = flag(argv, 'role');
    if (!/^[^@\s]+@[^@\s]+$/.test(email) || !['admin', 'user'].includes(role)) {
      process.stderr.write('blueprint: set-role --email EMAIL --role admin|user\n');
      return 2;
    }
    const users = readUsers();
    const user = users.find((u) => u.email === email);
    const from = user?.role ?? null;
    if (from === role) {
      hookLog('set-role', { email, role }, 'unchanged');
    } else {
      if (user) user.role = role;
      else users.push({ email, role, created_at: new Date().toISOString() });
      mkdirSync(DATA, { recursive: true });
      const tmp = join(DATA, `.users.json.${process.pid}.tmp`);
      writeFileSync(tmp, JSON.stringify(users, null, 2) + '\n');
      renameSync(tmp, join(DATA, 'users.json'));
      hookLog('set-role', { email, from, to: role }, 'changed');
    }
    process.stdout.write(JSON.stringify({ result: from === role ? 'unchanged' : 'changed', email, role }) + '\n');
    return 0;
  }
  process.stderr.write(`blueprint: unknown command ${JSON.stringify(command)}; use list-admins | set-role (no argument: serve)\n`);
  return 2;
}

const [command, ...rest] = process.argv.slice(2);
if (command) process.exit(cli(command, rest));

const server = createServer((req, res) => {
  const path = new URL(req.url || '/', 'http://blueprint').pathname;
  if (path === '/api/health') {
    const missing = missingKeys();
    if (missing.length === 0) return send(res, 200, 'application/json', JSON.stringify({ status: 'ok', version: VERSION, sso: 'configured' }));
    const sso = missing.filter((k) => SSO_KEYS.includes(k));
    const parts = [];
    if (sso.length) parts.push(`SSO is not configured (missing ${sso.join(', ')})`);
    if (missing.includes('FRAME_MCP_TOKEN')) parts.push('FRAME_MCP_TOKEN is missing (run frame mcp-token)');
    return send(res, 503, 'application/json', JSON.stringify({ status: 'error', version: VERSION, missing, message: `blueprint booted without its secrets: ${parts.join('; ')}` }));
  }
  if (path === '/' || path === '/index.html') {
    const tenant = process.env.AZURE_AD_TENANT_ID ? 'configured' : 'not configured';
    return send(
      res,
      200,
      'text/html; charset=utf-8',
      `<!doctype html><title>Blueprint</title><h1>Blueprint</h1><p>lab stand-in, version ${escapeHtml(VERSION)}</p>` +
        `<p>Microsoft Entra sign-in: ${tenant}</p><a href="/api/auth/signin/azure-ad">Sign in</a>\n`,
    );
  }
  return send(res, 404, 'application/json', JSON.stringify({ error: 'not found', path }));
});

server.listen(PORT, '0.0.0.0', () => {
  // Names of the missing keys only; values are never printed.
  process.stdout.write(JSON.stringify({ msg: 'blueprint listening', port: PORT, version: VERSION, missing: missingKeys() }) + '\n');
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
