// blueprint — lab stand-in for the web app (the real one is Node + Prisma + Entra SSO).
//
//   GET /api/health   200 when the SSO settings and FRAME_MCP_TOKEN are set, else 503
//                     naming the missing keys (never their values)
//   GET /             a tiny page
//
// Plain Node, no packages. Listens on $PORT (3000).
import { readFileSync } from 'node:fs';
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
